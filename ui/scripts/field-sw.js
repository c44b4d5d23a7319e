// The technician app's service worker (served as /field/sw.js, scope /field/). Written
// into the build by vite.config.ts, which fills in the files of the app's shell.
//
// - The shell (the page, its hashed scripts and styles, the manifest, the icons) is
//   cached when the worker installs, so the app starts with no network.
// - Pages under /field: the network first (a new release shows at once), the cached
//   shell when offline.
// - /assets/*: cache first (their names change with their content).
// - The API is never cached here: the app keeps its data in IndexedDB itself.
const VERSION = "__VERSION__";
const CACHE = `jobber-field-${VERSION}`;
const SHELL = "/field/";
const PRECACHE = __PRECACHE__;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("jobber-field-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;

  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(SHELL, copy));
          }
          return response;
        })
        .catch(() => caches.match(SHELL, { ignoreVary: true, ignoreSearch: true }).then((hit) => hit || Response.error())),
    );
    return;
  }

  if (url.pathname.startsWith("/assets/") || url.pathname.startsWith("/field/")) {
    event.respondWith(
      caches.match(request, { ignoreVary: true }).then(
        (hit) =>
          hit ||
          fetch(request).then((response) => {
            if (response.ok && url.pathname.startsWith("/assets/")) {
              const copy = response.clone();
              caches.open(CACHE).then((cache) => cache.put(request, copy));
            }
            return response;
          }),
      ),
    );
  }
});
