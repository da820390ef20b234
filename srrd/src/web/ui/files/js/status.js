// The main menu and the cluster status overview: what is wrong first, in
// words and colour, then where each service runs and its state per node.

import { h, replace, badge, recordBadge, ago } from "./dom.js";
import * as live from "./live.js";
import { api } from "./api.js";
import { actionBar } from "./actions.js";

export function menuPage(page) {
  const entries = [
    ["#/status", "Cluster status", "Where every service runs, what failed, actions per service."],
    ["#/config", "Service configuration", "This node's services: define, edit, delete, enable."],
    ["#/lsdb", "LSA database", "The looking glass: router, network and srrd LSAs in this node's ospfd."],
    ["#/routing", "Routing commands", "A fixed list of show commands run through vtysh on this node."],
    ["#/node", "Node administration", "Shut this node down (its services move first)."],
  ];
  const summary = h("p", { class: "summary" });
  const draw = (cluster) => replace(summary, summaryText(cluster));
  replace(page,
    h("h1", {}, "Main menu"),
    summary,
    h("div", { class: "cards" }, entries.map(([href, title, text]) =>
      h("a", { class: "card", href }, h("h2", {}, title), h("p", {}, text)))));
  if (live.current()) draw(live.current());
  return live.subscribe(draw);
}

function summaryText(cluster) {
  const problems = cluster.services.flatMap((s) => live.problems(s));
  const down = cluster.nodes.filter((n) => !n.reachable);
  const bad = problems.length + down.length;
  return [
    `${cluster.nodes.length} nodes, ${cluster.services.length} services. `,
    bad ? badge(`${bad} PROBLEM${bad > 1 ? "S" : ""}`, "bad") : badge("ALL OK", "good"),
    bad ? [" ", h("a", { href: "#/status" }, "see the status page")] : null,
  ];
}

export function statusPage(page) {
  const body = h("div", { id: "status" }, h("p", {}, "Loading…"));
  replace(page, h("h1", {}, "Cluster status"), body);
  // This node's load and memory (the server reads them for its own host).
  let load = null;
  const draw = (cluster) => replace(body, problemsPanel(cluster), nodesStrip(cluster, load), servicesTable(cluster));
  const readLoad = () => api.node().then((l) => { load = l; }).catch(() => { load = null; });
  readLoad().then(() => live.current() && draw(live.current()));
  if (live.current()) draw(live.current());
  // Check ages grow between changes (not while a menu is open: a redraw
  // would close it).
  const tick = setInterval(() => {
    readLoad();
    if (live.current() && document.activeElement?.tagName !== "SELECT") draw(live.current());
  }, 5000);
  const unsubscribe = live.subscribe(draw);
  return () => {
    clearInterval(tick);
    unsubscribe();
  };
}

function problemsPanel(cluster) {
  const items = [];
  for (const n of cluster.nodes) {
    if (!n.reachable) items.push(h("li", {}, h("strong", {}, `node ${n.name}`), " UNREACHABLE: its services move elsewhere"));
  }
  for (const s of cluster.services) {
    for (const p of live.problems(s)) {
      items.push(h("li", {}, h("a", { href: `#/service/${encodeURIComponent(s.name)}` }, h("strong", {}, s.name)), " ", p));
    }
  }
  if (items.length === 0) {
    return h("section", { class: "panel ok", id: "problems" }, badge("ALL OK", "good"), " Every active service runs on exactly one node; every node is reachable.");
  }
  return h("section", { class: "panel bad", id: "problems" },
    h("h2", {}, badge(`${items.length} PROBLEM${items.length > 1 ? "S" : ""}`, "bad"), " what is wrong"),
    h("ul", {}, items));
}

const GIB = 1024 ** 3;

function loadLine(l) {
  const used = (l.memory_total_bytes - l.memory_available_bytes) / GIB;
  return `load ${l.load1.toFixed(2)} ${l.load5.toFixed(2)} ${l.load15.toFixed(2)} · memory ${used.toFixed(1)} of ${(l.memory_total_bytes / GIB).toFixed(1)} GiB used`;
}

function nodesStrip(cluster, load) {
  return h("section", { class: "nodes" }, cluster.nodes.map((n) => {
    const runs = cluster.services.filter((s) => live.holders(s).includes(n.name)).map((s) => s.name);
    return h("div", { class: `node ${n.reachable ? "" : "down"}`, "data-node": n.name },
      h("div", {}, h("strong", {}, n.name), n.self ? " (this node)" : "", " ",
        n.reachable ? badge("UP", "good") : badge("UNREACHABLE", "bad")),
      h("div", { class: "muted" }, n.router_id, n.ui ? ` · UI ${n.ui}` : ""),
      n.self && load ? h("div", { class: "muted", "data-load": "" }, loadLine(load)) : null,
      h("div", {}, runs.length ? `runs ${runs.join(", ")}` : "runs nothing"));
  }));
}

function servicesTable(cluster) {
  const nodeNames = cluster.nodes.map((n) => n.name);
  const groups = new Map();
  for (const s of cluster.services) {
    const key = s.group || "";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(s);
  }
  const rows = [];
  for (const [group, services] of groups) {
    if (group) rows.push(h("tr", { class: "group" }, h("th", { colspan: 5 + nodeNames.length }, `group ${group}`, " (moves as one)")));
    for (const s of services) rows.push(serviceRow(s, cluster, nodeNames));
  }
  return h("section", {},
    h("h2", {}, "Services"),
    h("p", { class: "muted" }, "Actions act through this node (", cluster.self.name || "?", "): activate also clears a failure here; to clear a failure on another node, switch to it."),
    h("table", { class: "grid services" },
      h("thead", {}, h("tr", {},
        h("th", {}, "service"),
        h("th", {}, "RUNS ON"),
        nodeNames.map((n) => h("th", {}, `on ${n}`)),
        h("th", {}, "depends on"),
        h("th", {}, "critical"),
        h("th", { class: "op" }, "actions"))),
      h("tbody", {}, rows)));
}

function serviceRow(s, cluster, nodeNames) {
  const running = live.holders(s);
  const problems = live.problems(s);
  const where = running.length === 0
    ? badge("NOT RUNNING", s.records.some((r) => r.config === "active" || r.config === "failed") ? "bad" : "off")
    : running.map((n) => badge(n, running.length > 1 ? "bad" : "good big"));
  return h("tr", { class: problems.length ? "problem" : "", "data-service": s.name },
    h("td", {},
      h("a", { href: `#/service/${encodeURIComponent(s.name)}` }, h("strong", {}, s.name)),
      h("div", { class: "muted" }, s.kind === "resource" ? "resource" : s.addresses.join(", ") || "no address")),
    h("td", { class: "holder", "data-holder": running.join(",") }, where),
    nodeNames.map((name) => {
      const r = s.records.find((x) => x.node === name);
      return h("td", { "data-node": name },
        r ? [recordBadge(r),
          h("div", { class: "muted" },
            r.preference !== undefined ? `pref ${r.preference}` : "",
            r.check_age_ms !== undefined && r.check_age_ms !== null ? ` · checked ${ago(r.check_age_ms)}` : ""),
          r.failure ? h("div", { class: "failure" }, `code ${r.failure.code}: ${r.failure.text}`) : null]
          : h("span", { class: "muted" }, "–"));
    }),
    h("td", {}, s.depends.length ? s.depends.join(", ") : "–"),
    h("td", {}, s.critical ? badge("CRITICAL", "warn") : "no"),
    h("td", { class: "op" }, actionBar(s, cluster)));
}
