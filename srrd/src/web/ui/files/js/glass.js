// The looking glass: the LSAs in this node's ospfd. Router and network
// LSAs and srrd's own opaque LSAs come decoded; foreign opaque LSAs raw;
// an LSA the daemon ignores says why.

import { api } from "./api.js";
import { h, replace, badge, table } from "./dom.js";

export function lsdbPage(page) {
  const filter = h("input", { type: "search", placeholder: "filter: type, id, router, service…", "aria-label": "filter LSAs" });
  const body = h("div", {}, "Loading…");
  let lsas = [];
  const draw = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = lsas.filter((l) => {
      const text = JSON.stringify(l).toLowerCase();
      return words.every((w) => text.includes(w));
    });
    const kinds = new Map();
    for (const l of shown) {
      const kind = kindOf(l);
      if (!kinds.has(kind)) kinds.set(kind, []);
      kinds.get(kind).push(l);
    }
    replace(body,
      h("p", { class: "muted" }, `${shown.length} of ${lsas.length} LSAs`),
      [...kinds].map(([kind, list]) => h("section", {},
        h("h2", {}, `${kind} (${list.length})`),
        table(["type", "LSA id", "advertising router", "age", "sequence", "content"],
          list.map(row), { class: "grid lsdb" }))));
  };
  const load = async () => {
    replace(body, "Loading…");
    try {
      const answer = await api.lsdb();
      lsas = Array.isArray(answer) ? answer : answer.lsas || [];
      draw();
    } catch (e) {
      replace(body, h("p", { class: "failure" }, e.message));
    }
  };
  filter.addEventListener("input", draw);
  replace(page,
    h("h1", {}, "LSA database of this node's ospfd"),
    h("p", {}, filter, " ", h("button", { onclick: load }, "reload")),
    body);
  load();
}

function kindOf(l) {
  const kind = l.kind || l.lsa_kind || "";
  if (kind) return kind;
  return `type ${l.type ?? "?"}`;
}

function row(l) {
  const header = l.header || l;
  const decoded = l.decoded ?? l.payload ?? l.body ?? l.content;
  const ignored = l.ignored;
  return h("tr", { class: ignored ? "problem" : "" },
    h("td", {}, header.type ?? l.lsa_type ?? "–"),
    h("td", {}, h("code", {}, header.id ?? header.lsa_id ?? l.lsa_id ?? "–")),
    h("td", {}, header.adv_router ?? l.adv_router ?? "–"),
    h("td", {}, header.age ?? "–"),
    h("td", {}, header.seq ?? header.sequence ?? "–"),
    h("td", {},
      ignored ? [badge("IGNORED", "bad"), ` ${ignored}`] : null,
      summary(l),
      h("details", {}, h("summary", {}, "all fields"), h("pre", { class: "output" }, JSON.stringify(decoded ?? l, null, 2)))));
}

// One line for srrd's LSAs: which service or daemon, in what state.
function summary(l) {
  if (l.kind === "service" || l.name) {
    return h("div", {}, [l.name, l.state, l.node_name].filter(Boolean).join(" · "));
  }
  if (l.raw || l.hex) return h("div", {}, h("code", {}, String(l.raw || l.hex).slice(0, 64)));
  return null;
}
