// The grid workers' app: start-up, navigation, the session, and keeping the offline data fresh.
import * as api from "./api.js";
import * as outbox from "./outbox.js";
import * as screens from "./screens.js";
import * as store from "./store.js";
import * as vault from "./vault.js";
import { collect } from "./collect.js";
import { language, nameOf, setLanguage, t } from "./i18n.js";

const root = document.getElementById("screen");
const title = document.getElementById("title");
const tabs = document.getElementById("tabs");
const net = document.getElementById("net");
const back = document.getElementById("back");
const noticesLink = document.getElementById("notices-link");
const noticeBadge = document.getElementById("notice-badge");

const ROUTES = {
  "#/home": ["home", screens.home],
  "#/report": ["report", screens.report],
  "#/outbox": ["outbox", screens.outboxScreen],
  "#/tasks": ["tasks", screens.tasks],
  "#/reports": ["my_reports", screens.reports],
  "#/patrol": ["patrol", screens.patrol],
  "#/collect": ["collect", collect],
  "#/notices": ["notices", screens.notices],
};

const app = {
  session: null,
  packages: new Map(),
  leaving: [],
  listeners: {},
  onLeave(cleanup) { this.leaving.push(cleanup); },
  on(name, listener) { (this.listeners[name] ||= []).push(listener); },
  emit(name) { (this.listeners[name] || []).forEach((listener) => listener()); },
  go(hash) {
    if (location.hash === hash) this.refresh();
    else location.hash = hash;
  },
  toast(message) {
    const note = document.createElement("div");
    note.className = "toast";
    note.setAttribute("role", "status");
    note.textContent = message;
    document.body.append(note);
    setTimeout(() => note.remove(), 2500);
  },
  categoryName(code) {
    for (const pkg of this.packages.values()) {
      const found = pkg.body.categories.find((category) => category.code === code);
      if (found) return nameOf(found);
    }
    return code;
  },
  lockedCount: async () => (await store.all("outbox")).filter((item) => item.state === "locked").length,
  notices: null,
  refresh: () => render(),
  pollNotices,
  login,
  logout,
  sync,
};
window.gridApp = app; // for the browser tests and for debugging on a phone

// --- Rendering -------------------------------------------------------------------------------------------
let rendering = Promise.resolve();

// A soft render (fresh data arrived) is dropped when it comes to its turn over a form the worker has begun to
// fill in, or over the login form.
function render({ soft = false } = {}) {
  const run = () => (soft && (root.dataset.touched || !app.session) ? undefined : renderNow());
  rendering = rendering.then(run, run);
  return rendering;
}

async function renderNow() {
  for (const cleanup of app.leaving.splice(0)) cleanup();
  app.listeners = {};
  document.documentElement.lang = language() === "en" ? "en" : "zh-CN";
  document.getElementById("lang").textContent = language() === "en" ? "中文" : "EN";
  tellWorkerLanguage();
  for (const link of tabs.querySelectorAll("a")) link.textContent = t(link.dataset.tab);
  showNetwork();
  showNotices();
  root.replaceChildren();
  delete root.dataset.touched;
  if (!app.session?.token) {
    tabs.hidden = true;
    back.hidden = true;
    title.textContent = t("app");
    screens.login(app, root, { message: app.loginMessage });
    return;
  }
  const hash = ROUTES[location.hash] ? location.hash : "#/home";
  const [titleKey, screen] = ROUTES[hash];
  title.textContent = t(titleKey);
  tabs.hidden = false;
  back.hidden = hash === "#/home";
  for (const link of tabs.querySelectorAll("a")) link.classList.toggle("active", link.getAttribute("href") === hash);
  root.dataset.screen = hash.slice(2);
  await screen(app, root);
}

// --- Notices: the badge polls the handheld API's unread summary (ETag: unchanged costs a 304) ---------------
let noticeTag = null;

async function pollNotices() {
  const token = app.session?.token;
  if (!token || !navigator.onLine) return;
  try {
    const answer = await api.request("notices", { headers: noticeTag ? { "If-None-Match": noticeTag } : {} });
    if (app.session?.token !== token || answer.status === 304) return;
    noticeTag = answer.response.headers.get("ETag");
    app.notices = answer.body;
  } catch (error) {
    if (!(error instanceof api.ApiError)) throw error;
    return;
  }
  showNotices();
  if (location.hash === "#/notices") render({ soft: true });
}

function showNotices() {
  const count = app.session ? app.notices?.unread || 0 : 0;
  noticesLink.hidden = !app.session;
  noticeBadge.hidden = count === 0;
  noticeBadge.textContent = String(count);
  noticeBadge.dataset.count = String(count);
}

function showNetwork() {
  net.textContent = navigator.onLine ? t("online") : t("offline");
  net.className = `net ${navigator.onLine ? "on" : "off"}`;
}

// The service worker has no cookie: the language is kept in IndexedDB for it (outbox.sendInBackground reads it),
// written when it changes and only while someone is logged in (a logout leaves nothing on the device).
let toldLanguage = null;
function tellWorkerLanguage() {
  if (!app.session?.token || toldLanguage === language()) return;
  toldLanguage = language();
  store.put("kv", toldLanguage, "language").catch((error) => {
    toldLanguage = null;
    console.warn("language for the service worker:", error);
  });
}

// --- Session ---------------------------------------------------------------------------------------------
async function login(username, password) {
  const answer = await api.login(username, password);
  const previous = (await store.get("kv", "session"))?.worker?.username;
  if (previous && previous !== answer.worker.username) await forgetWorker(previous); // another account, after a 401
  const session = { token: answer.token, expires_at: answer.expires_at, worker: answer.worker };
  await store.put("kv", session, "session");
  app.session = session;
  app.loginMessage = "";
  // Items kept encrypted at this worker's last logout on this device are opened and sent again.
  const key = await vault.open(answer.worker.username, password);
  for (const item of await store.all("outbox")) {
    if (item.state === "locked" && item.owner === answer.worker.username) {
      try {
        await store.put("outbox", await vault.unseal(item, key));
      } catch {
        // Sealed under an older password: it cannot be opened any more; leave it for the worker to see.
      }
    }
  }
  navigator.serviceWorker?.ready.then((registration) => registration.active?.postMessage("keep-shell"));
  location.hash = "#/home";
  await loadPackages();
  await render();
  outbox.retryAll(); // a fresh login is the moment to send what waits, without the retry delay
  await sync();
}

// A 401 (token expired or revoked elsewhere): back to login; the outbox stays as it is.
api.whenUnauthorized(async () => {
  if (!app.session) return;
  app.session = null;
  app.loginMessage = t("login_again");
  const kept = await store.get("kv", "session");
  if (kept) await store.put("kv", { ...kept, token: null }, "session");
  render();
});

const LOGOUT_SEND_WAIT_MS = 15000;
const NOTICE_POLL_MS = Number(document.body.dataset.noticePollMs) || 20000; // settings.NOTICE_POLL_SECONDS

// Logout: unsent items are sent first; what still cannot be sent is sealed with the worker's vault key. Then the
// token is revoked and everything else of the worker leaves the device: IndexedDB and Cache Storage.
async function logout() {
  let waiting = outbox.waiting(await outbox.items());
  if (waiting.length && navigator.onLine) {
    app.toast(t("sending_before_logout"));
    await Promise.race([outbox.retryAll(), new Promise((resolve) => setTimeout(resolve, LOGOUT_SEND_WAIT_MS))]);
    waiting = outbox.waiting(await outbox.items());
  }
  if (waiting.length && !window.confirm(t("logout_unsent", { n: waiting.length }))) return;
  const owner = app.session.worker.username;
  // No new sync or sending starts (both need the session); those under way finish before the device is cleared.
  app.session = null;
  try {
    await api.request("auth/token", { method: "DELETE" });
  } catch {
    // Offline: the token cannot be revoked now; it is forgotten here and expires on the server.
  }
  await store.remove("kv", "session");
  await Promise.allSettled([syncing, outbox.settled()]);
  await forgetWorker(owner);
  app.loginMessage = waiting.length ? t("kept_encrypted", { n: waiting.length }) : "";
  location.hash = "";
  await render();
}

// Everything of this worker leaves the device but their unsent items, sealed (kept as they are only if this
// device never had the worker's key, rather than lost). Also run when another account logs in after a 401.
async function forgetWorker(owner) {
  const key = await vault.currentKey();
  // Under the outbox's lock: the service worker may be sending; it finishes its item (or meets the revoked token) first.
  await outbox.exclusive(async () => {
    for (const item of await store.all("outbox")) {
      if (item.owner !== owner || item.state === "locked") continue;
      if (!outbox.waiting([item]).length) await store.remove("outbox", item.uuid);
      else if (key) await store.put("outbox", await vault.seal({ ...item, state: "pending" }, key));
    }
  });
  const kept = await store.all("outbox");
  for (const name of await store.keys("kv")) {
    const vaultOf = name.startsWith("vault:") ? name.slice(6) : null;
    if (vaultOf && kept.some((item) => item.owner === vaultOf)) continue;
    await store.remove("kv", name);
  }
  await store.clear("packages");
  toldLanguage = null; // its record went with the rest of kv
  app.notices = null;
  noticeTag = null;
  if (window.caches) for (const name of await caches.keys()) await caches.delete(name);
}

// --- Offline data ----------------------------------------------------------------------------------------
async function loadPackages() {
  app.packages = new Map((await store.all("packages")).map((pkg) => [pkg.id, pkg]));
}

let syncing = null;

// Profile, grid packages (ETag: unchanged packages cost a 304), tasks and the worker's reports.
function sync(force = false) {
  if (!syncing) syncing = syncNow(force).finally(() => { syncing = null; });
  return syncing;
}

// Everything is read first and written only if the same session is still on: a logout meanwhile (which waits
// for this) leaves nothing of it behind.
async function syncNow(force) {
  const token = app.session?.token;
  if (!token || !navigator.onLine) return;
  try {
    const { body: worker } = await api.request("me");
    const packages = [];
    for (const grid of worker.grids) {
      const kept = await store.get("packages", grid.id);
      const headers = kept && !force ? { "If-None-Match": kept.etag } : {};
      const answer = await api.request(`grids/${grid.id}/package`, { headers });
      const fetched_at = new Date().toISOString();
      packages.push(answer.status === 304
        ? { ...kept, fetched_at }
        : { id: grid.id, etag: answer.response.headers.get("ETag"), body: answer.body, fetched_at });
    }
    const tasks = (await api.request("tasks")).body;
    const reports = (await store.get("kv", "reports")) || {};
    const since = Object.values(reports).map((item) => item.updated_at).sort().pop();
    const fresh = (await api.request(`reports${since ? `?since=${encodeURIComponent(since)}` : ""}`)).body;
    const registry = (await api.request("registry-changes")).body;
    if (app.session?.token !== token) return;

    app.session = { ...app.session, worker };
    await store.put("kv", app.session, "session");
    const mine = new Set(worker.grids.map((grid) => grid.id));
    for (const pkg of await store.all("packages")) if (!mine.has(pkg.id)) await store.remove("packages", pkg.id);
    for (const pkg of packages) await store.put("packages", pkg);
    await loadPackages();
    const taskIds = new Set(tasks.map((task) => task.id));
    const answered = ((await store.get("kv", "answered")) || []).filter((id) => taskIds.has(id));
    await store.put("kv", tasks, "tasks");
    await store.put("kv", answered, "answered");
    await store.put("kv", screens.mergeReports(reports, fresh), "reports");
    await store.put("kv", registry, "registry");
    pollNotices();
  } catch (error) {
    if (!(error instanceof api.ApiError)) throw error;
    return; // offline or the server is busy: the data on the device stays as it was
  }
  if (["#/home", "#/tasks", "#/reports", "#/collect", ""].includes(location.hash)) render({ soft: true });
}

// --- Start -----------------------------------------------------------------------------------------------
async function start() {
  document.getElementById("lang").addEventListener("click", () => {
    setLanguage(language() === "en" ? "zh-hans" : "en");
    render();
  });
  back.addEventListener("click", () => { location.hash = "#/home"; });
  window.addEventListener("hashchange", render);
  root.addEventListener("input", () => { root.dataset.touched = "1"; });
  window.addEventListener("online", () => { showNetwork(); outbox.retryAll(); sync(); });
  window.addEventListener("offline", showNetwork);
  outbox.onChange(() => {
    if (["#/outbox", "#/home", "#/patrol"].includes(location.hash || "#/home")) scheduleRender();
  });
  outbox.registerWorker().catch((error) => console.warn("service worker:", error));
  const session = await api.session();
  app.session = session?.token ? session : null;
  if (session && !session.token) app.loginMessage = t("login_again");
  await loadPackages();
  await outbox.recover();
  await render();
  if (app.session) {
    await screens.resumePatrol(app);
    outbox.drain();
    sync();
  }
  setInterval(() => { if (app.session) sync(); }, 5 * 60 * 1000);
  setInterval(pollNotices, NOTICE_POLL_MS);
  window.__ready = { home: performance.now() };
}

let pending = null;
function scheduleRender() {
  clearTimeout(pending);
  pending = setTimeout(() => render({ soft: true }), 150);
}

start();
