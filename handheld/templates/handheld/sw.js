// The grid workers' app: keeps its own page, styles and scripts so that it opens without a network.
// API calls are not intercepted here: the page keeps what it must in IndexedDB.
// Served in two forms: the classic worker (/m/sw.js) only keeps the files; the module worker (/m/sw.js?type=module,
// registered where the browser has Background Sync) also sends the outbox on the `sync` event, with the page's
// own outbox module, so that a report made offline leaves when the network is back even with the app closed.
{% if module %}import { sendInBackground } from "{{ outbox_js }}";
{% endif %}const VERSION = "{{ version }}";
const CACHE = "gridmgmt-m-shell-" + VERSION;
const SHELL = {{ shell_urls|safe }};
const SHELL_PATHS = new Set(SHELL);

self.addEventListener("install", (event) => {
  event.waitUntil(keepShell().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith("gridmgmt-m-") && name !== CACHE).map((name) => caches.delete(name)),
      ))
      .then(() => self.clients.claim()),
  );
});

// Cache-first for the shell. A miss is fetched but not kept here: the shell is stored on install and again after
// each login (the page asks), so that a logout, which empties Cache Storage, leaves it empty.
async function fromShell(request, key) {
  return (await caches.match(key, { cacheName: CACHE })) || fetch(request);
}

function keepShell() {
  return caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "no-cache" }))));
}

self.addEventListener("message", (event) => {
  if (event.data === "keep-shell") event.waitUntil(keepShell());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === "/m/") {
    event.respondWith(fromShell(request, "/m/"));
  } else if (SHELL_PATHS.has(url.pathname)) {
    event.respondWith(fromShell(request, url.pathname));
  }
});
{% if module %}
// The page asks for a sync whenever an item is queued or a send fails for want of a network; the browser fires it
// when online, with or without a page of the app open.
self.addEventListener("sync", (event) => {
  if (event.tag === "outbox") event.waitUntil(sendInBackground());
});
{% endif %}
