// "What if": before a command that can move services (move, stop,
// disable, deactivate, shutdown) the UI asks the node's engine where every
// affected service would end up, shows it, and sends the command only on
// confirm.

import { api } from "./api.js";
import { h, replace, badge, table, notice } from "./dom.js";
import * as live from "./live.js";

export const PREVIEWED = new Set(["move", "stop", "disable", "deactivate", "shutdown"]);

// Resolves true when the operator confirms. `command` is the what-if
// request: { action, service?, node? }.
export async function confirmPreview(command, title) {
  let preview;
  try {
    preview = await api.whatIf(command);
  } catch (e) {
    notice("error", `No what-if preview: ${e.message}`);
    return false;
  }
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "whatif", "data-command": preview.command || command.action });
    const close = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    replace(dialog,
      h("h2", {}, title),
      h("p", {}, "Where each affected service would run afterwards, computed by this node's engine on its current view. Nothing has been changed yet."),
      preview.rejected
        ? h("p", { class: "rejected" }, badge("WOULD BE REJECTED", "bad"), " ", preview.rejected)
        : null,
      predictions(preview),
      h("div", { class: "buttons" },
        h("button", { class: "danger", onclick: () => close(true), disabled: !!preview.rejected, "data-confirm": "" }, "Confirm"),
        h("button", { onclick: () => close(false), "data-cancel": "" }, "Cancel")));
    dialog.addEventListener("cancel", () => close(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

function predictions(preview) {
  const name = (rid) => {
    if (!rid) return null;
    if (preview.nodes && preview.nodes[rid]) return preview.nodes[rid];
    const node = (live.current()?.nodes || []).find((n) => n.router_id === rid);
    return node ? node.name : rid;
  };
  const rows = (preview.services || []).map((p) => {
    const now = name(p.current);
    const then = name(p.predicted);
    const moves = now !== then;
    return h("tr", { class: moves ? "moves" : "", "data-service": p.service, "data-predicted": then || "" },
      h("td", {}, h("strong", {}, p.service)),
      h("td", {}, now ? badge(now, "good") : badge("NOT RUNNING", "bad")),
      h("td", {}, moves ? "→" : "="),
      h("td", {}, then ? badge(then, moves ? "busy" : "good") : badge("NOT RUNNING", "bad")),
      h("td", {}, p.reason || ""));
  });
  if (rows.length === 0) return h("p", {}, "No service would move.");
  return table(["service", "runs now on", "", "would run on", "why"], rows, { class: "grid" });
}
