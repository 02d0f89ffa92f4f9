// The outbox: every write is stored here first, with its client_uuid, and sent when the network allows.
// States: pending (待发送) → sending (发送中) → sent (已送达) | rejected (被拒绝, with the server's message).
// Network errors, 5xx, 408 and 429 are retried with a growing delay; any other 4xx is shown and not retried.
// The server's idempotency (same client_uuid, same content → the first answer) means a retry never doubles.
import * as api from "./api.js";
import * as store from "./store.js";
import { uuid } from "./geo.js";

const FIRST_DELAY_MS = 2000;
const LONGEST_DELAY_MS = 5 * 60 * 1000;
const listeners = new Set();
let draining = null;
let timer = null;

export const onChange = (listener) => listeners.add(listener);
const changed = () => listeners.forEach((listener) => listener());

export async function owner() {
  return (await api.session())?.worker?.username || null;
}

export async function items() {
  const mine = await owner();
  return (await store.all("outbox")).filter((item) => item.owner === mine).sort((a, b) => a.created_at.localeCompare(b.created_at));
}

export const waiting = (list) => list.filter((item) => item.state === "pending" || item.state === "sending");

// kind: report | task | patrol | registry. body carries the client_uuid the server keys on; files are
// {role, type, name, bytes: ArrayBuffer} (the photo's original bytes, so the server reads its EXIF).
export async function enqueue(kind, { body, files = [], target = null, label = "" }) {
  const item = {
    uuid: uuid(),
    owner: await owner(),
    kind,
    state: "pending",
    created_at: new Date().toISOString(),
    attempts: 0,
    next_at: 0,
    error: "",
    result: null,
    body: { client_uuid: uuid(), ...body },
    files,
    target,
    label,
    progress: { created: false, photos: [], shas: [] },
  };
  await store.put("outbox", item);
  changed();
  drainSoon();
  return item;
}

const save = async (item) => { await store.put("outbox", item); changed(); };

const blobOf = (file) => new Blob([file.bytes], { type: file.type || "image/jpeg" });

function photoForm(file, extra = {}) {
  const form = new FormData();
  form.append("photo", blobOf(file), file.name || "photo.jpg");
  for (const [name, value] of Object.entries(extra)) form.append(name, value);
  return form;
}

// One step at a time, each recorded, so that a reload in the middle resumes where it stopped.
const SENDERS = {
  async report(item) {
    if (!item.progress.created) {
      item.result = (await api.request("reports", { method: "POST", json: item.body })).body;
      item.progress.created = true;
      await save(item);
    }
    for (const [index, file] of item.files.entries()) {
      if (item.progress.photos.includes(index)) continue;
      const path = `reports/${item.body.client_uuid}/photos`;
      await api.request(path, { method: "POST", form: photoForm(file, { kind: file.role || "before" }) });
      item.progress.photos.push(index);
      await save(item);
    }
  },
  async task(item) {
    for (const [index, file] of item.files.entries()) {
      if (item.progress.photos.includes(index)) continue;
      const { body } = await api.request("photos", { method: "POST", form: photoForm(file) });
      item.progress.photos.push(index);
      item.progress.shas.push(body.sha256);
      await save(item);
    }
    const path = `tasks/${item.target}/complete`;
    item.result = (await api.request(path, { method: "POST", json: { ...item.body, photos: item.progress.shas } })).body;
  },
  async patrol(item) {
    item.result = (await api.request("patrols", { method: "POST", json: item.body })).body;
  },
  async registry(item) {
    item.result = (await api.request("registry-changes", { method: "POST", json: item.body })).body;
  },
};

// Delivered: the photos' bytes and what was typed (ID numbers, phones) leave the device; the answer stays.
function delivered(item) {
  item.state = "sent";
  item.error = "";
  item.sent_at = new Date().toISOString();
  item.files = item.files.map(({ bytes, ...meta }) => meta);
  if (item.kind === "registry") item.body = { client_uuid: item.body.client_uuid };
}

function backoff(attempts) {
  const delay = Math.min(LONGEST_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempts - 1));
  return Date.now() + delay / 2 + Math.random() * (delay / 2);
}

// Returns false when sending should stop for now (no network, server down, login needed).
async function sendOne(item) {
  item.state = "sending";
  await save(item);
  try {
    await SENDERS[item.kind](item);
    delivered(item);
    await save(item);
    return true;
  } catch (error) {
    if (!(error instanceof api.ApiError)) throw error;
    if (error.status === 401) {
      item.state = "pending";
      await save(item);
      return false;
    }
    if (error.retryable) {
      item.state = "pending";
      item.attempts += 1;
      item.next_at = backoff(item.attempts);
      item.error = error.status ? error.message : "";
      await save(item);
      return false;
    }
    item.state = "rejected";
    item.error = error.message;
    item.status = error.status;
    await save(item);
    return true;
  }
}

async function drainNow() {
  clearTimeout(timer);
  if (!(await api.session())?.token) return;
  for (;;) {
    const due = (await items()).filter((item) => item.state === "pending" && item.next_at <= Date.now());
    if (!due.length || !(await sendOne(due[0]))) break;
  }
  schedule();
}

// One drain at a time in this page, and across the app's tabs where the browser has Web Locks.
export function drain() {
  if (!draining) {
    const work = () => drainNow();
    const run = navigator.locks ? navigator.locks.request("gridmgmt-m-outbox", work) : work();
    draining = run.catch((error) => console.warn("outbox:", error)).finally(() => { draining = null; });
  }
  return draining;
}

// Resolves when no sending is under way (a logout waits for it before clearing the device).
export const settled = () => draining || Promise.resolve();

export function drainSoon() {
  setTimeout(drain, 0);
}

async function schedule() {
  const pending = (await items()).filter((item) => item.state === "pending");
  if (!pending.length) return;
  const next = Math.min(...pending.map((item) => item.next_at));
  clearTimeout(timer);
  timer = setTimeout(drain, Math.max(1000, next - Date.now()));
}

// The network is back: try everything now rather than waiting out the delays.
export async function retryAll() {
  for (const item of await items()) {
    if (item.state === "pending") await store.update("outbox", item.uuid, (kept) => ({ ...kept, next_at: 0 }));
  }
  changed();
  return drain();
}

// After a reload: what was being sent when the page went away is sent again (the server answers a repeat once).
export async function recover() {
  for (const item of await store.all("outbox")) {
    if (item.state === "sending") await store.update("outbox", item.uuid, (kept) => ({ ...kept, state: "pending" }));
  }
}

export async function discard(id) {
  await store.remove("outbox", id);
  changed();
}
