// The single page: header (which node this is, switch to another), the
// main menu, and one view per URL fragment (#/status, #/service/NAME, ...).

import { api } from "./api.js";
import { h, replace, notice } from "./dom.js";
import * as live from "./live.js";
import { statusPage, menuPage } from "./status.js";
import { servicePage } from "./service.js";
import { configPage, configEditPage } from "./config.js";
import { lsdbPage } from "./glass.js";
import { routingPage } from "./routing.js";
import { nodePage } from "./node.js";

const routes = [
  [/^#?\/?$/, menuPage],
  [/^#\/status$/, statusPage],
  [/^#\/service\/([^/]+)$/, servicePage],
  [/^#\/config$/, configPage],
  [/^#\/config\/new$/, configEditPage],
  [/^#\/config\/edit\/([^/]+)$/, configEditPage],
  [/^#\/lsdb$/, lsdbPage],
  [/^#\/routing$/, routingPage],
  [/^#\/node$/, nodePage],
];

let leave = null;

// The page of the current fragment; a page returns a function that undoes
// what it set up (its subscription to live changes).
function show() {
  if (leave) leave();
  leave = null;
  const page = document.getElementById("page");
  const hash = location.hash || "#/";
  for (const a of document.querySelectorAll("nav.menu a")) {
    a.classList.toggle("current", hash.startsWith(a.getAttribute("href")));
  }
  for (const [pattern, render] of routes) {
    const match = hash.match(pattern);
    if (match) {
      replace(page);
      const args = match.slice(1).map(decodeURIComponent);
      leave = render(page, ...args) || null;
      return;
    }
  }
  replace(page, h("h1", {}, "Not found"), h("p", {}, "No page at ", h("code", {}, hash), ". ", h("a", { href: "#/" }, "Main menu")));
}

function header(cluster) {
  const self = cluster.self || {};
  document.getElementById("node-name").textContent = self.name || "?";
  document.getElementById("node-rid").textContent = self.router_id ? `router id ${self.router_id}` : "";
  document.title = `srrd · ${self.name || "?"}`;
  const select = document.getElementById("node-switch");
  const options = cluster.nodes.map((n) => {
    const label = `${n.name} (${n.router_id})${n.reachable ? "" : " UNREACHABLE"}${n.ui || n.self ? "" : " no UI address"}`;
    return h("option", { value: n.self ? "" : n.ui || "", selected: n.self, disabled: !n.self && !n.ui }, label);
  });
  replace(select, options);
}

function switchNode(event) {
  const address = event.target.value;
  if (!address) return;
  // Same view on the other node; the browser presents the same client
  // certificate there (docs/ui.md, switching nodes).
  location.href = `https://${address}/ui/${location.hash}`;
}

function liveState(state) {
  const el = document.getElementById("live");
  el.textContent = { live: "● live", reconnecting: "○ reconnecting…", closed: "○ no live updates" }[state] || state;
  el.className = `live ${state}`;
}

async function main() {
  document.getElementById("node-switch").addEventListener("change", switchNode);
  window.addEventListener("hashchange", show);
  live.subscribe(header);
  api.whoami().then((me) => {
    const role = document.getElementById("role");
    role.textContent = me.role ? `${me.role}: ${me.subject || ""}` : "";
    role.dataset.role = me.role || "";
    document.body.dataset.role = me.role || "";
  }).catch(() => {});
  show();
  try {
    await live.start(liveState);
  } catch (e) {
    notice("error", `Cannot load the cluster view: ${e.message}`);
  }
}

main();
