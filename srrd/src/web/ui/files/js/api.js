// The JSON API under /api/v1 (docs/openapi.yaml), the only thing the UI
// talks to. Every request goes to this page's own node.

const BASE = "/api/v1";

// The server refuses a state-changing request without this header (a
// cross-site form or image cannot set it): docs/api.md, CSRF.
export const CSRF_HEADER = "X-SRRD-CSRF";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers[CSRF_HEADER] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, `cannot reach this node: ${e.message}`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, errorText(response, data), data);
  }
  return data;
}

function errorText(response, data) {
  const said = data && typeof data === "object" ? data.error || data.message || data.reason : data;
  return `${response.status} ${response.statusText}${said ? `: ${said}` : ""}`;
}

const seg = encodeURIComponent;

export const api = {
  whoami: () => request("GET", "/whoami"),
  node: () => request("GET", "/node"),
  cluster: () => request("GET", "/cluster"),
  serviceStatus: (name) => request("GET", `/services/${seg(name)}/status`),
  // activate, deactivate, enable, disable, start, stop, clear-failed.
  command: (name, command) => request("POST", `/services/${seg(name)}/${seg(command)}`),
  move: (name, node) => request("POST", `/services/${seg(name)}/move`, { node }),
  shutdown: () => request("POST", "/node/shutdown"),
  // { action, service?, node? }: action is move, stop, disable, deactivate or shutdown.
  whatIf: ({ action, service, node }) => {
    const query = new URLSearchParams({ action });
    if (service) query.set("service", service);
    if (node) query.set("node", node);
    return request("GET", `/whatif?${query}`);
  },
  configList: () => request("GET", "/config/services"),
  configGet: (name) => request("GET", `/config/services/${seg(name)}`),
  configCreate: (service) => request("POST", "/config/services", service),
  configUpdate: (name, service) => request("PUT", `/config/services/${seg(name)}`, service),
  configDelete: (name) => request("DELETE", `/config/services/${seg(name)}`),
  configSwitch: (name, on) => request("POST", `/config/services/${seg(name)}/${on ? "enable" : "disable"}`),
  lsdb: () => request("GET", "/lsdb"),
  routingCommands: () => request("GET", "/routing"),
  routingRun: (id) => request("GET", `/routing/${seg(id)}`),
};

// The live stream of cluster changes (server-sent events). EventSource
// reconnects by itself; `onState` hears "live", "reconnecting".
export function liveStream(onChange, onState) {
  const source = new EventSource(`${BASE}/events`);
  source.onopen = () => onState("live");
  source.onerror = () => onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  source.onmessage = (event) => onChange(parse(event.data));
  source.addEventListener("cluster", (event) => onChange(parse(event.data)));
  return source;
}

function parse(data) {
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}
