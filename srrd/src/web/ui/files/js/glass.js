// The looking glass: the LSAs in this node's ospfd (docs/lookingglass.md).
// Router and network LSAs decoded, srrd's opaque LSAs decoded with the
// daemon's verdict (an ignored one says why), foreign ones raw.

import { api } from "./api.js";
import { h, replace, badge, table } from "./dom.js";

export function lsdbPage(page) {
  const filter = h("input", { type: "search", placeholder: "filter: id, router, service, state…", "aria-label": "filter LSAs" });
  const body = h("div", {}, "Loading…");
  let lsdb = null;
  const draw = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const keep = (l) => words.every((w) => JSON.stringify(l).toLowerCase().includes(w));
    const srrd = (lsdb.opaque || []).filter((l) => l.srrd);
    const foreign = (lsdb.opaque || []).filter((l) => !l.srrd);
    replace(body,
      h("p", { class: "muted" }, `ospfd router id ${lsdb.router_id}; reachable routers: ${(lsdb.reachable || []).join(", ") || "none"}`),
      section("srrd LSAs (opaque type 222)", ["LSA", "advertising router", "age", "seq", "what", "state"], srrd.filter(keep).map(srrdRow)),
      section("router LSAs", ["LSA", "advertising router", "age", "seq", "flags", "links"], (lsdb.router || []).filter(keep).map(routerRow)),
      section("network LSAs", ["LSA", "advertising router", "age", "seq", "mask", "attached routers"], (lsdb.network || []).filter(keep).map(networkRow)),
      section("other opaque LSAs (raw)", ["LSA", "advertising router", "age", "seq", "opaque type", "hex"], foreign.filter(keep).map(rawRow)),
      section("other LSAs (raw)", ["LSA", "advertising router", "age", "seq", "", "hex"], (lsdb.other || []).filter(keep).map(rawRow)));
  };
  const load = async () => {
    replace(body, "Loading…");
    try {
      lsdb = await api.lsdb();
      draw();
    } catch (e) {
      replace(body, h("p", { class: "failure" }, e.message));
    }
  };
  filter.addEventListener("input", () => lsdb && draw());
  replace(page,
    h("h1", {}, "LSA database of this node's ospfd"),
    h("p", {}, filter, " ", h("button", { onclick: load }, "reload")),
    body);
  load();
}

function section(title, head, rows) {
  return h("section", {}, h("h2", {}, `${title} (${rows.length})`),
    rows.length ? table(head, rows, { class: "grid lsdb" }) : h("p", { class: "muted" }, "none"));
}

function common(l) {
  return [
    h("td", {}, h("code", {}, `type-${l.lsa_type} ${l.ls_id}`), l.self_originated ? h("div", { class: "muted" }, "this node's") : null),
    h("td", {}, l.adv_router),
    h("td", {}, `${l.age}s`),
    h("td", {}, h("code", {}, l.seq)),
  ];
}

function srrdRow(l) {
  const e = l.srrd;
  const what = e.kind === "service" ? [h("strong", {}, e.name), ` gen ${e.generation}`, e.addresses?.length ? ` · ${e.addresses.join(", ")}` : ""]
    : e.kind === "daemon" ? [h("strong", {}, `daemon ${e.node_name || ""}`), e.web ? ` · UI ${e.web}` : ""]
    : e.kind;
  const state = e.kind === "service" ? [badge(e.state, e.state.includes("failed") ? "bad" : e.state === "active/started" ? "good" : "idle"),
    e.failure ? h("div", { class: "failure" }, e.failure) : null, ` pref ${e.preference}`, e.standby ? " · stopped by operator" : ""] : "";
  return h("tr", { class: e.ignored ? "problem" : "" }, common(l),
    h("td", {}, what, e.reachable === false ? [" ", badge("UNREACHABLE", "bad")] : null),
    h("td", {}, e.ignored ? [badge("IGNORED", "bad"), ` ${e.ignored} `] : null, state,
      h("details", {}, h("summary", {}, "all fields"), h("pre", { class: "output" }, JSON.stringify(e, null, 2)))));
}

function routerRow(l) {
  const flags = [l.area_border && "ABR", l.as_boundary && "ASBR", l.virtual_link_end && "virtual link end"].filter(Boolean).join(", ") || "–";
  return h("tr", {}, common(l), h("td", {}, flags),
    h("td", {}, h("ul", { class: "links" }, (l.links || []).map((k) =>
      h("li", {}, `${k.kind} ${k.link_id} / ${k.link_data} metric ${k.metric}`)))));
}

function networkRow(l) {
  return h("tr", {}, common(l), h("td", {}, l.mask), h("td", {}, (l.attached || []).join(", ")));
}

function rawRow(l) {
  const hex = l.raw?.hex ?? l.hex ?? "";
  return h("tr", {}, common(l), h("td", {}, l.opaque_type ?? (l.error ? h("span", { class: "failure" }, l.error) : "")),
    h("td", {}, h("code", { class: "hex" }, hex.length > 96 ? `${hex.slice(0, 96)}…` : hex)));
}
