// One service: its state on every node, where it runs, the transitions
// seen since this page was opened, and its `status` primitive's output on
// this node.

import { api } from "./api.js";
import { h, replace, badge, recordBadge, ago, clock, table } from "./dom.js";
import * as live from "./live.js";
import { actionBar } from "./actions.js";

export function servicePage(page, name) {
  const head = h("div");
  const nodes = h("section");
  const hist = h("section");
  const status = h("pre", { class: "output", id: "status-output" }, "…");
  replace(page,
    h("p", {}, h("a", { href: "#/status" }, "← cluster status")),
    head, nodes, hist,
    h("section", {},
      h("h2", {}, "status output on this node ",
        h("button", { onclick: () => loadStatus(name, status) }, "run again")),
      status));
  const draw = (cluster) => {
    const s = cluster.services.find((x) => x.name === name);
    if (!s) {
      replace(head, h("h1", {}, name), h("p", {}, badge("UNKNOWN", "bad"), " No node has a record of this service."));
      replace(nodes);
      return;
    }
    const running = live.holders(s);
    const problems = live.problems(s);
    replace(head,
      h("h1", {}, `Service ${s.name}`),
      h("p", { class: "summary" }, "runs on ",
        running.length ? running.map((n) => badge(n, running.length > 1 ? "bad" : "good big")) : badge("NOT RUNNING", "bad"),
        problems.map((p) => [" ", badge(p, "bad")])),
      h("p", { class: "muted" },
        s.kind, s.addresses.length ? ` · ${s.addresses.join(", ")}` : "",
        s.group ? ` · group ${s.group}` : "",
        s.depends.length ? ` · depends on ${s.depends.join(", ")}` : "",
        s.critical ? " · critical" : ""),
      actionBar(s, cluster));
    replace(nodes, h("h2", {}, "state on every node"),
      table(["node", "state", "config / run", "preference", "last check", "failure", "LSA", "generation"],
        s.records.map((r) => h("tr", { "data-node": r.node },
          h("td", {}, h("strong", {}, r.node)),
          h("td", {}, recordBadge(r)),
          h("td", {}, `${r.config} / ${r.run}`),
          h("td", {}, r.preference ?? "–"),
          h("td", {}, ago(r.check_age_ms)),
          h("td", { class: r.failure ? "failure" : "" }, r.failure ? `code ${r.failure.code}: ${r.failure.text}` : "–"),
          h("td", {}, r.lsa_id ?? "–"),
          h("td", {}, r.generation ?? "–"))),
        { class: "grid" }));
    const seen = live.historyOf(name);
    replace(hist, h("h2", {}, "recent transitions (seen live by this page)"),
      seen.length === 0
        ? h("p", { class: "muted" }, "None since this page was opened.")
        : table(["time", "node", "from", "to", "failure"], seen.map((t) => h("tr", {},
          h("td", {}, clock(new Date(t.at))),
          h("td", {}, t.node),
          h("td", {}, t.from),
          h("td", {}, t.to.includes("failed") ? badge(t.to, "bad") : t.to),
          h("td", {}, t.failure ? `code ${t.failure.code}: ${t.failure.text}` : ""))), { class: "grid", id: "history" }));
  };
  if (live.current()) draw(live.current());
  loadStatus(name, status);
  return live.subscribe(draw);
}

async function loadStatus(name, out) {
  out.textContent = "running status…";
  try {
    const answer = await api.serviceStatus(name);
    out.textContent = `${answer.output || "(no output)"}\n[${answer.result}, exit ${answer.exit_code}, ${answer.elapsed_ms} ms]`;
  } catch (e) {
    out.textContent = e.message;
  }
}
