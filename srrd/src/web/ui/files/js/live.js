// The cluster as this node sees it, kept current from the live stream:
// every page renders from here and re-renders on each change. The history
// of transitions is built here too, by comparing successive views (the
// server keeps none).

import { api, liveStream } from "./api.js";

const HISTORY_KEY = "srrd-history";
const HISTORY_MAX = 200;

let cluster = null;
let history = loadHistory();
const listeners = new Set();
let refetching = null;

export function current() {
  return cluster;
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// The transitions of one service, newest first.
export function historyOf(service) {
  return history.filter((t) => t.service === service);
}

export async function refresh() {
  if (!refetching) {
    refetching = api.cluster().then(accept).finally(() => (refetching = null));
  }
  return refetching;
}

export function start(onState) {
  liveStream((data) => {
    // A change event may carry the whole view; otherwise it says that
    // something changed and the view is fetched again.
    if (data && Array.isArray(data.services) && Array.isArray(data.nodes)) accept(data);
    else refresh().catch(() => {});
  }, (state) => {
    onState(state);
    if (state === "live") refresh().catch(() => {});
  });
  return refresh();
}

function accept(raw) {
  const next = normalize(raw);
  if (cluster) record(cluster, next);
  cluster = next;
  for (const listener of listeners) listener(cluster);
  return cluster;
}

// One shape for the pages (docs/openapi.yaml, ClusterView): node names
// filled in from the nodes list, this node marked `self`.
export function normalize(raw) {
  const nodes = (raw.nodes || []).map((n) => ({
    router_id: n.router_id || "?",
    name: n.name || n.router_id || "?",
    reachable: n.reachable !== false,
    // This node's own address is the one the page came from.
    ui: n.web || (n.local ? location.host : null),
    self: !!n.local,
    load: n.load,
    memory: n.memory,
  }));
  nodes.sort((a, b) => a.name.localeCompare(b.name));
  const nameOf = (rid) => (nodes.find((n) => n.router_id === rid) || {}).name || rid || "?";
  const self = nodes.find((n) => n.self) || {
    router_id: raw.node?.router_id || "?",
    name: raw.node?.name || "?",
    ui: raw.node?.web || null,
    reachable: true,
    self: true,
  };
  const services = (raw.services || []).map((s) => {
    const records = (s.nodes || []).map((r) => ({
      ...r,
      router_id: r.router_id || self.router_id,
      node: r.local ? self.name : nameOf(r.router_id),
      stopped: !!r.standby,
    }));
    records.sort((a, b) => a.node.localeCompare(b.node));
    return {
      name: s.name,
      kind: s.kind || "service",
      group: s.group || null,
      depends: s.depends || [],
      critical: !!s.critical,
      addresses: s.addresses || [],
      configuredHere: !!s.configured_here,
      runningOn: (s.running_on || []).map(nameOf),
      records,
    };
  });
  services.sort((a, b) => (a.group || a.name).localeCompare(b.group || b.name) || a.name.localeCompare(b.name));
  return { self, apiUp: raw.api_up !== false, nodes, services, at: Date.now() };
}

// Where a service runs: the reachable nodes that hold it started.
export function holders(service) {
  return service.runningOn;
}

// What is wrong with a service, in words (empty when nothing is).
export function problems(service) {
  const out = [];
  for (const r of service.records) {
    if (r.config === "failed" || r.run === "failed") {
      const why = r.failure ? `: code ${r.failure.code}, ${r.failure.text}` : "";
      out.push(`FAILED on ${r.node}${why}`);
    }
  }
  const running = holders(service);
  const wanted = service.records.some((r) => r.config === "active" || r.config === "failed");
  if (running.length === 0 && wanted) out.push("NOT RUNNING anywhere");
  if (running.length > 1) out.push(`RUNS TWICE: ${running.join(", ")}`);
  return out;
}

function record(before, after) {
  const at = Date.now();
  const old = new Map();
  for (const s of before.services) for (const r of s.records) old.set(`${s.name}\u0000${r.router_id}`, r);
  const seen = new Set();
  for (const s of after.services) {
    for (const r of s.records) {
      const key = `${s.name}\u0000${r.router_id}`;
      seen.add(key);
      const was = old.get(key);
      const from = was ? `${was.config}/${was.run}` : "none";
      const to = `${r.config}/${r.run}`;
      if (from !== to) push({ at, service: s.name, node: r.node, from, to, failure: r.failure || null });
    }
  }
  for (const s of before.services) {
    for (const r of s.records) {
      if (!seen.has(`${s.name}\u0000${r.router_id}`)) {
        push({ at, service: s.name, node: r.node, from: `${r.config}/${r.run}`, to: "none", failure: null });
      }
    }
  }
  saveHistory();
}

function push(transition) {
  history.unshift(transition);
  if (history.length > HISTORY_MAX) history.length = HISTORY_MAX;
}

function loadHistory() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(HISTORY_KEY) || "[]");
    return Array.isArray(saved) ? saved : [];
  } catch {
    return [];
  }
}

function saveHistory() {
  try {
    sessionStorage.setItem(HISTORY_KEY, JSON.stringify(history));
  } catch {
    // A full or disabled storage only loses the history on reload.
  }
}
