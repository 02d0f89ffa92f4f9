// The outbox: every write is stored here first, with its client_uuid, and sent when the network allows.
// States: pending (待发送) → sending (发送中) → sent (已送达) | rejected (被拒绝, with the server's message).
// Network errors, 5xx, 408 and 429 are retried with a growing delay; any other 4xx is shown and not retried.
// The server's idempotency (same client_uuid, same content → the first answer) means a retry never doubles.
// This module runs in the page and in the service worker (where the browser has Background Sync, which sends the
// outbox with the app closed): no DOM here, `self` rather than `window`. One lock (Web Locks, shared by the page,
// other tabs and the worker) lets one of them send at a time, so no item is ever sent by two at once.
import * as api from "./api.js";
import * as store from "./store.js";
import { uuid } from "./geo.js";
import { useLanguage } from "./i18n.js";

const FIRST_DELAY_MS = 2000;
const LONGEST_DELAY_MS = 5 * 60 * 1000;
const LOCK = "gridmgmt-m-outbox";
const SYNC_TAG = "outbox";
const listeners = new Set();
let draining = null;
let timer = null;
let loginNeeded = false; // the last drain met a 401

// In the service worker (no window): it sends only when the browser fires a sync, and never starts timers.
const inWorker = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;

// A change made here is told to this context's listeners and, through a BroadcastChannel, to the app's other
// tabs and the service worker's pages: an open outbox screen follows what the worker sends.
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(LOCK) : null;
const tell = () => listeners.forEach((listener) => listener());
channel?.addEventListener("message", tell);

export const onChange = (listener) => listeners.add(listener);
const changed = () => {
  tell();
  channel?.postMessage("changed");
};

// The one sender at a time: the work runs holding the lock. Without Web Locks the page alone sends (the service
// worker does not), as before.
export const locking = () => Boolean(self.navigator?.locks);
export const exclusive = (work) => (locking() ? navigator.locks.request(LOCK, () => work()) : work());

// Background Sync (Chromium: Android Chrome and WebView) wakes the service worker when the network is back, even
// with the app closed. Safari and Firefox lack it: there the outbox is sent only while the app is open.
export const backgroundSync = () => typeof self.SyncManager === "function";
const canSync = () => backgroundSync() && locking();

// Whether this browser sends the outbox with the app closed (else the outbox screen says to keep it open): it has
// Background Sync and Web Locks, and the site's "background sync" setting is not off (Chrome: on by default).
export async function sendsWhenClosed() {
  if (!canSync()) return false;
  try {
    return (await navigator.permissions.query({ name: "background-sync" })).state === "granted";
  } catch {
    return true; // the setting cannot be read: the browser has the API
  }
}

async function ownRegistration() {
  if (inWorker) return self.registration;
  return self.navigator?.serviceWorker?.getRegistration("/m/");
}

// Asks the browser for a sync: it fires at once when online, or when the network comes back. A worker that
// cannot send (the classic one, where modules in service workers are missing) simply ignores it.
export async function requestSync() {
  if (!backgroundSync() || inWorker) return;
  try {
    await (await ownRegistration())?.sync?.register(SYNC_TAG);
  } catch (error) {
    console.warn("outbox: no background sync:", error.message || error);
  }
}

// The service worker registered by the page: a module worker that imports this file and sends the outbox on the
// sync event, where Background Sync exists; otherwise (or if the browser refuses a module worker) the classic
// worker, which only keeps the app's files.
export async function registerWorker() {
  const container = self.navigator?.serviceWorker;
  if (!container) return null;
  if (canSync()) {
    try {
      return await container.register("/m/sw.js?type=module", { scope: "/m/", type: "module" });
    } catch (error) {
      console.warn("service worker (module):", error.message || error);
    }
  }
  return container.register("/m/sw.js", { scope: "/m/" });
}

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
  requestSync(); // should the app be closed before it is sent
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
      loginNeeded = true;
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
      if (!error.status) requestSync(); // no network: the browser wakes the worker when it is back
      return false;
    }
    item.state = "rejected";
    item.error = error.message;
    item.status = error.status;
    await save(item);
    return true;
  }
}

// Holding the lock, an item left 发送中 is one whose sender went away (a closed page, a stopped worker): it is
// sent again from the step it reached.
async function resumeStale() {
  for (const item of await store.all("outbox")) {
    if (item.state !== "sending") continue;
    const resume = (kept) => (kept.state === "sending" ? { ...kept, state: "pending" } : kept);
    await store.update("outbox", item.uuid, resume);
  }
}

// Sends what is due, one item at a time; returns false when it stopped early (no network, server down, login
// needed). `waitingForNetwork`: items that failed only for want of a network are due too (the network is back).
async function drainNow({ waitingForNetwork = false } = {}) {
  clearTimeout(timer);
  loginNeeded = false;
  if (locking()) await resumeStale();
  for (;;) {
    if (!(await api.session())?.token) return false; // logged out meanwhile
    const due = (await items()).filter(
      (item) => item.state === "pending" && (item.next_at <= Date.now() || (waitingForNetwork && !item.error)),
    );
    if (!due.length) return true;
    if (!(await sendOne(due[0]))) return false;
  }
}

// One drain at a time in this page, and across the app's tabs and its service worker where there are Web Locks.
export function drain() {
  if (!draining) {
    const run = exclusive(() => drainNow()).then(() => schedule());
    draining = run.catch((error) => console.warn("outbox:", error)).finally(() => { draining = null; });
  }
  return draining;
}

// The service worker's sync event: the same sending as the page's, under the same lock. It rejects while items
// still wait to be sent, so that the browser fires the sync again later (Chromium: after 5 and 15 minutes); a
// 401 or no session ends it (the page's login resumes sending). Without Web Locks the worker leaves it to the page.
export async function sendInBackground() {
  if (!locking()) return;
  useLanguage(await store.get("kv", "language")); // the page's language, which the worker has no cookie for
  const finished = await exclusive(() => drainNow({ waitingForNetwork: true }));
  if (finished || loginNeeded || !(await api.session())?.token) return;
  if (waiting(await items()).length) throw new Error("outbox: items wait for a later try");
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
// With Web Locks only if no one holds the lock (the service worker may be sending it right now; the next drain
// resumes it under the lock); without them the page is the only sender.
export async function recover() {
  if (!locking()) return resumeStale();
  return navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? resumeStale() : undefined));
}

export async function discard(id) {
  await store.remove("outbox", id);
  changed();
}
