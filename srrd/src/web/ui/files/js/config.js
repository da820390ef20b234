// This node's service configuration: list, define new, edit, delete,
// enable/disable. The server validates with the config module and saves
// the file; it refuses to edit an active service (deactivate it first).

import { api } from "./api.js";
import { h, replace, badge, table, notice } from "./dom.js";
import { send } from "./actions.js";
import { confirmPreview } from "./whatif.js";
import * as live from "./live.js";

// The form's fields, in the configuration file's names (docs/configuration.md).
const FIELDS = [
  ["name", "text", "1–64 of A-Z a-z 0-9 . _ -"],
  ["kind", ["service", "resource"], ""],
  ["addresses", "list", "comma-separated VIPs, e.g. 192.0.2.80"],
  ["preference", "number", "0–255, default 100; highest wins"],
  ["group", "text", "services of a group move together"],
  ["depends", "list", "comma-separated service names"],
  ["critical", "bool", "its failure moves the whole group"],
  ["scope", ["area", "link", "as"], ""],
  ["check_interval", "text", "e.g. 1s; empty: never checked"],
  ["primitives", "text", "absolute path of the Makefile or executable"],
  ["preempt_delay", "text", "e.g. 10s"],
  ["quorum", "bool", "run only with a majority of its nodes reachable"],
  ["expected_nodes", "number", "with quorum"],
  ["disabled", "bool", "starts disabled"],
];

export function configPage(page) {
  const list = h("div", {}, "Loading…");
  replace(page,
    h("h1", {}, "Service configuration of this node"),
    h("p", {}, h("a", { class: "button op", href: "#/config/new", "data-action": "new" }, "+ define a new service")),
    list);
  const load = async () => {
    let services;
    try {
      services = listOf(await api.configList());
    } catch (e) {
      replace(list, h("p", { class: "failure" }, e.message));
      return;
    }
    const cluster = live.current();
    replace(list, table(["service", "kind", "addresses", "preference", "group", "state here", "actions"],
      services.map((s) => {
        const here = cluster && (cluster.services.find((x) => x.name === s.name)?.records || [])
          .find((r) => r.router_id === cluster.self.router_id);
        return h("tr", { "data-service": s.name },
          h("td", {}, h("a", { href: `#/service/${encodeURIComponent(s.name)}` }, h("strong", {}, s.name))),
          h("td", {}, s.kind || "service"),
          h("td", {}, (s.addresses || []).join(", ") || "–"),
          h("td", {}, s.preference ?? 100),
          h("td", {}, s.group || "–"),
          h("td", {}, here ? `${here.config} / ${here.run}` : s.disabled ? badge("disabled", "off") : "–"),
          h("td", { class: "actions" },
            h("a", { class: "button op", href: `#/config/edit/${encodeURIComponent(s.name)}`, "data-action": "edit" }, "edit"),
            h("button", { class: "op", "data-action": "activate", onclick: () => send(s.name, "activate") }, "activate"),
            h("button", { class: "op", "data-action": "enable", onclick: () => setDisabled(s.name, false, load) }, "enable"),
            h("button", { class: "op", "data-action": "disable", onclick: () => setDisabled(s.name, true, load) }, "disable"),
            h("button", { class: "op danger", "data-action": "delete", onclick: () => remove(s.name, load) }, "delete")));
      }), { class: "grid" }));
  };
  load();
}

function listOf(answer) {
  if (Array.isArray(answer)) return answer;
  return answer?.services || [];
}

// Saved in the file (`disabled`), and the daemon sends the command.
async function setDisabled(name, disabled, reload) {
  if (disabled && !(await confirmPreview({ action: "disable", service: name }, `disable ${name}?`))) return;
  try {
    await api.configSwitch(name, !disabled);
    notice("ok", `${disabled ? "disabled" : "enabled"} ${name}`);
  } catch (e) {
    notice("error", `${disabled ? "disable" : "enable"} ${name}: ${e.message}`);
  }
  reload();
  live.refresh().catch(() => {});
}

async function remove(name, reload) {
  if (!confirm(`Delete service ${name} from this node's configuration?`)) return;
  try {
    await api.configDelete(name);
    notice("ok", `deleted ${name}`);
  } catch (e) {
    notice("error", `delete ${name}: ${e.message}`);
  }
  reload();
}

export function configEditPage(page, name) {
  const form = h("form", { class: "config", id: "service-form" });
  const errors = h("div", { class: "errors", role: "alert" });
  replace(page,
    h("p", {}, h("a", { href: "#/config" }, "← service configuration")),
    h("h1", {}, name ? `Edit service ${name}` : "Define a new service"),
    name ? h("p", { class: "muted" }, "An active service cannot be edited: deactivate it first.") : null,
    errors, form);
  let loaded = {};
  const fill = (service) => {
    loaded = service;
    replace(form,
      FIELDS.map(([field, type, hint]) => fieldRow(field, type, hint, service[field], !!name && field === "name")),
      h("div", { class: "buttons" },
        h("button", { type: "submit", class: "primary op", "data-action": "save" }, name ? "Save" : "Define"),
        h("a", { class: "button", href: "#/config" }, "Cancel")));
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    const service = read(form, loaded);
    try {
      const answer = name ? await api.configUpdate(name, service) : await api.configCreate(service);
      const later = answer?.needs_restart || [];
      if (later.length) {
        notice("warn", `${name ? "saved" : "defined"} ${service.name}; srrd on this node takes it on its next restart: ${later.join(", ")}`);
      } else {
        notice("ok", `${name ? "saved" : "defined"} ${service.name}`);
      }
      location.hash = "#/config";
    } catch (e) {
      replace(errors, h("p", { class: "failure" }, e.message), problemList(e.body));
    }
  });
  if (name) {
    api.configGet(name).then((s) => fill(s.service || s)).catch((e) => replace(errors, h("p", { class: "failure" }, e.message)));
  } else {
    fill({ kind: "service", scope: "area", preference: 100 });
  }
}

// Validation answers list each problem (field and message).
function problemList(body) {
  const list = body && (body.problems || body.errors);
  if (!Array.isArray(list)) return null;
  return h("ul", {}, list.map((p) => h("li", {}, typeof p === "string" ? p : `${p.field || ""}: ${p.message || JSON.stringify(p)}`)));
}

function fieldRow(field, type, hint, value, readonly) {
  const id = `f-${field}`;
  let input;
  if (Array.isArray(type)) {
    input = h("select", { id, name: field }, type.map((o) => h("option", { value: o, selected: o === value }, o)));
  } else if (type === "bool") {
    input = h("input", { id, name: field, type: "checkbox", checked: !!value });
  } else {
    const text = type === "list" ? (value || []).join(", ") : value ?? "";
    input = h("input", { id, name: field, type: type === "number" ? "number" : "text", value: text, readonly });
  }
  return h("div", { class: "field" }, h("label", { for: id }, field), input, h("span", { class: "muted" }, hint));
}

// The form as the API's service object over what was loaded (so fields
// the form does not show, like timeouts, stay): empty fields are left out
// and the configuration's defaults apply.
function read(form, loaded) {
  const out = { ...loaded };
  for (const [field, type] of FIELDS) {
    delete out[field];
    const el = form.elements[field];
    if (type === "bool") {
      if (el.checked) out[field] = true;
    } else if (type === "list") {
      const items = el.value.split(",").map((x) => x.trim()).filter(Boolean);
      if (items.length) out[field] = items;
    } else if (type === "number") {
      if (el.value !== "") out[field] = Number(el.value);
    } else if (el.value.trim() !== "") {
      out[field] = el.value.trim();
    }
  }
  return out;
}
