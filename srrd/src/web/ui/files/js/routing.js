// Routing commands: the server's fixed list of vtysh `show` commands
// (never free text), run on this node.

import { api } from "./api.js";
import { h, replace } from "./dom.js";

export function routingPage(page) {
  const list = h("div", { class: "commands" }, "Loading…");
  const out = h("pre", { class: "output", id: "routing-output" }, "Pick a command.");
  const title = h("h2", {}, "output");
  replace(page,
    h("h1", {}, "Routing commands on this node"),
    h("p", { class: "muted" }, "A fixed allow-list of read-only commands, run through vtysh by the server."),
    list, title, out);
  const run = async (command) => {
    replace(title, command.text || command.id);
    out.textContent = "running…";
    try {
      const answer = await api.routingRun(command.id);
      out.textContent = typeof answer === "string" ? answer : answer.output ?? JSON.stringify(answer, null, 2);
    } catch (e) {
      out.textContent = e.message;
    }
  };
  api.routingCommands().then((answer) => {
    const commands = (Array.isArray(answer) ? answer : answer.commands || [])
      .map((c) => (typeof c === "string" ? { id: c, text: c } : { id: c.id ?? c.name, text: c.command ?? c.text ?? c.id }));
    replace(list, commands.map((c) => h("button", { "data-command": c.id, onclick: () => run(c) }, c.text)));
  }).catch((e) => replace(list, h("p", { class: "failure" }, e.message)));
}
