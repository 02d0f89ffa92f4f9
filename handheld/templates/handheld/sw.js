// The grid workers' app: keeps its own page, styles and scripts so that it opens without a network.
// API calls are not touched here: the page sends them itself and keeps what it must in IndexedDB.
const VERSION = "{{ version }}";
const CACHE = "gridmgmt-m-shell-" + VERSION;
const SHELL = {{ shell_urls|safe }};
const SHELL_PATHS = new Set(SHELL);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
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

async function fromShell(request, key) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key);
  if (hit) return hit;
  // Not kept yet (first start, or the worker logged out and the caches were cleared): fetch and keep.
  const response = await fetch(request);
  if (response.ok) await cache.put(key, response.clone());
  return response;
}

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
