// The handheld API (/api/mobile/v1/…), the app's only back end. `Authorization: Token <key>`.
import { language } from "./i18n.js";
import * as store from "./store.js";

export const BASE = "/api/mobile/v1/";

export class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
  // The network or the server failed: try again later. A 4xx (other than a timeout or a throttle) will fail again.
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

// What went wrong, from the API's problem details (RFC 9457): the `detail`, then each field's messages from
// `errors` ("field: message"); a body in another shape says what it has, else the HTTP status.
export function messageOf(body, status) {
  if (!body || typeof body !== "object") return `HTTP ${status}`;
  const parts = typeof body.detail === "string" && body.detail ? [body.detail] : [];
  const fields = body.errors && typeof body.errors === "object" ? body.errors : {};
  Object.entries(fields).forEach(([field, messages]) => {
    const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
    parts.push(field ? `${field}: ${text}` : text);
  });
  return parts.join("; ") || body.title || `HTTP ${status}`;
}

let onUnauthorized = () => {};
export function whenUnauthorized(handler) { onUnauthorized = handler; }

export async function session() {
  return (await store.get("kv", "session")) || null;
}

export async function request(path, { method = "GET", json, form, headers = {}, token } = {}) {
  const current = token === undefined ? (await session())?.token : token;
  // Errors come in the app's language (the API answers Chinese unless asked for English).
  const accept = { Accept: "application/json", "Accept-Language": language() };
  const init = { method, headers: { ...accept, ...headers }, credentials: "omit" };
  if (current) init.headers.Authorization = `Token ${current}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(path.startsWith("/") ? path : BASE + path, init);
  } catch (error) {
    throw new ApiError(0, null, String(error.message || error));
  }
  if (response.status === 304 || response.status === 204) return { status: response.status, body: null, response };
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!response.ok) {
    const error = new ApiError(response.status, body, messageOf(body, response.status));
    if (response.status === 401 && current) onUnauthorized(error);
    throw error;
  }
  return { status: response.status, body, response };
}

export async function login(username, password) {
  const { body } = await request("auth/token", {
    method: "POST", json: { username, password, device_id: deviceId() }, token: null,
  });
  return body;
}

function deviceId() {
  let id = localStorage.getItem("gridmgmt-m-device");
  if (!id) {
    id = "web-" + crypto.randomUUID();
    localStorage.setItem("gridmgmt-m-device", id);
  }
  return id;
}
