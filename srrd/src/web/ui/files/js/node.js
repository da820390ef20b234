// Node administration: this node's identity and a graceful shutdown
// (every service it runs stops here and moves; what-if shows where).

import { api } from "./api.js";
import { h, replace, notice } from "./dom.js";
import * as live from "./live.js";
import { confirmPreview } from "./whatif.js";

export function nodePage(page) {
  const info = h("section");
  const draw = (cluster) => {
    const self = cluster.nodes.find((n) => n.self) || cluster.self;
    const runs = cluster.services.filter((s) => live.holders(s).includes(self.name)).map((s) => s.name);
    replace(info,
      h("table", { class: "grid facts" }, h("tbody", {},
        h("tr", {}, h("th", {}, "node"), h("td", {}, h("strong", {}, self.name))),
        h("tr", {}, h("th", {}, "router id"), h("td", {}, self.router_id)),
        h("tr", {}, h("th", {}, "UI address"), h("td", {}, self.ui || "–")),
        self.load !== undefined ? h("tr", {}, h("th", {}, "load"), h("td", {}, self.load)) : null,
        self.memory !== undefined ? h("tr", {}, h("th", {}, "memory"), h("td", {}, self.memory)) : null,
        h("tr", {}, h("th", {}, "runs"), h("td", {}, runs.length ? runs.join(", ") : "nothing")))));
  };
  replace(page,
    h("h1", {}, "Node administration"),
    info,
    h("section", { class: "panel" },
      h("h2", {}, "Shut this node down"),
      h("p", {}, "Stops and deactivates every service here; the cluster moves them to other nodes. srrd exits when done. You will be shown where each service would go first."),
      h("button", { class: "danger op", "data-action": "shutdown", onclick: shutdown }, "shut down this node…")));
  if (live.current()) draw(live.current());
  return live.subscribe(draw);
}

async function shutdown() {
  const name = live.current()?.self?.name || "this node";
  if (!(await confirmPreview({ action: "shutdown" }, `shut down ${name}?`))) return;
  try {
    await api.shutdown();
    notice("ok", `${name} is shutting down: its services move; this page loses its node soon`);
  } catch (e) {
    notice("error", `shutdown: ${e.message}`);
  }
}
