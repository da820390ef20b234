// Operator commands on a service, sent to this node's engine; the answer
// says what the engine decided. Commands that can move services are
// previewed first (whatif.js).

import { api } from "./api.js";
import { h, notice } from "./dom.js";
import * as live from "./live.js";
import { confirmPreview, PREVIEWED } from "./whatif.js";

export async function send(service, command, node) {
  if (PREVIEWED.has(command)) {
    const target = node ? ` to ${nodeName(node)}` : "";
    const ok = await confirmPreview({ action: command, service, node }, `${command} ${service}${target}?`);
    if (!ok) return;
  }
  const said = `${command} ${service}${node ? ` ${nodeName(node)}` : ""}`;
  try {
    if (command === "move") await api.move(service, node);
    else await api.command(service, command);
    notice("ok", `${said}: accepted`);
  } catch (e) {
    // A refusal of the engine is a 409 with its reason.
    notice("error", `${said}: ${e.status === 409 ? "rejected: " : ""}${e.message}`);
  }
  live.refresh().catch(() => {});
}

function nodeName(rid) {
  const node = (live.current()?.nodes || []).find((n) => n.router_id === rid);
  return node ? node.name : rid;
}

// The buttons for one service; `here` is this node's record of it.
export function actionBar(service, cluster) {
  const here = service.records.find((r) => r.router_id === cluster.self.router_id);
  const button = (command, label, cls = "") =>
    h("button", { class: `op ${cls}`, "data-action": command, onclick: () => send(service.name, command) }, label);
  const failed = here && (here.config === "failed" || here.run === "failed");
  const move = h("select", { class: "op", "aria-label": `move ${service.name} to`, "data-action": "move",
    onchange: (e) => {
      const rid = e.target.value;
      e.target.value = "";
      if (rid) send(service.name, "move", rid);
    } },
    h("option", { value: "" }, "move to…"),
    cluster.nodes.filter((n) => n.reachable).map((n) => h("option", { value: n.router_id }, n.name)));
  return h("div", { class: "actions" },
    failed ? button("clear-failed", "clear failed", "primary") : null,
    button("activate", "activate"),
    button("deactivate", "deactivate"),
    button("start", "start"),
    button("stop", "stop"),
    button("enable", "enable"),
    button("disable", "disable"),
    move);
}
