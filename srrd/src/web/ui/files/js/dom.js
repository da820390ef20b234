// Small DOM helpers: elements from data, state badges, times. Text goes in
// as text nodes only (never as HTML), so names from the network cannot
// inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// A state badge: colour by severity, and always the words.
export function badge(text, severity, title) {
  return h("span", { class: `badge ${severity}`, title }, text);
}

// How bad a (config, run) pair on one node is.
export function severity(record) {
  if (!record) return "none";
  if (record.reachable === false) return "bad";
  if (record.config === "failed" || record.run === "failed") return "bad";
  if (record.run === "started") return "good";
  if (record.run === "starting" || record.run === "stopping") return "busy";
  if (record.config === "disabled" || record.stopped) return "off";
  return "idle";
}

export function stateText(record) {
  if (!record) return "no record";
  // What an unreachable node last flooded is history, not its state.
  if (record.reachable === false) return `NODE UNREACHABLE (last ${record.config}/${record.run})`;
  if (record.config === "failed") return "FAILED (config)";
  if (record.run === "failed") return "FAILED";
  const words = [record.run];
  if (record.config !== "active") words.push(`(${record.config})`);
  if (record.stopped) words.push("stopped by operator");
  return words.join(" ");
}

export function recordBadge(record) {
  const fail = record && record.failure ? `code ${record.failure.code}: ${record.failure.text}` : undefined;
  return badge(stateText(record), severity(record), fail);
}

export function ago(ms) {
  if (ms === null || ms === undefined) return "–";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
}

export function clock(date) {
  return date.toLocaleTimeString([], { hour12: false }) + "." + String(date.getMilliseconds()).padStart(3, "0");
}

export function notice(kind, text) {
  const box = document.getElementById("notice");
  const item = h("div", { class: `note ${kind}` }, text, " ",
    h("button", { class: "link", onclick: () => item.remove(), "aria-label": "dismiss" }, "×"));
  box.append(item);
  if (kind === "ok") setTimeout(() => item.remove(), 8000);
}

export function table(head, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows));
}
