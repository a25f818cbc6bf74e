{% load static %}// OmaKaiku's service worker: keeps the last mobile card page so that it opens without a network.
// Scope /omakaiku/. Only the mobile card page and the static files it uses are kept; every other
// page goes to the network as if there were no service worker. Logging out clears the store
// (the server answers logout with Clear-Site-Data).
"use strict";
const STORE = "omakaiku-mobile-card-v1";
const CARD_PAGE = /^\/omakaiku\/cards\/\d+\/mobile\/$/;
const STATIC_PREFIX = "{% get_static_prefix %}";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith("omakaiku-") && name !== STORE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim())
  );
});

function keep(request, response) {
  const copy = response.clone();
  return caches.open(STORE).then((store) => store.put(request, copy));
}

// The first visit: the page and its files were loaded before this worker existed, so nothing
// was kept. The page asks for them here once the worker runs (static/js/mobile-card.js), or a
// card opened once at home would not open at the venue without a network.
self.addEventListener("message", (event) => {
  const urls = (event.data && event.data.keep) || [];
  event.waitUntil(Promise.all(urls.map((address) => {
    const url = new URL(address, self.location.origin);
    if (url.origin !== self.location.origin || !(CARD_PAGE.test(url.pathname) || url.pathname.startsWith(STATIC_PREFIX))) {
      return null;
    }
    return fetch(url.href, { credentials: "same-origin" }).then((response) => {
      if (response.ok && response.type === "basic") {
        return keep(new Request(url.href), response);
      }
      return null;
    }, () => null);
  })));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (CARD_PAGE.test(url.pathname)) {
    // The network first: a card that changed shows as it is now. Offline, the stored copy.
    event.respondWith(
      fetch(request).then((response) => {
        if (response.ok && response.type === "basic") {
          event.waitUntil(keep(request, response));
        } else {
          // Logged out, card closed or no longer mobile: forget the stored copy. ignoreVary, as
          // below: the copy kept on the first visit would not match this request otherwise.
          event.waitUntil(caches.open(STORE).then((store) => store.delete(request, { ignoreVary: true })));
        }
        return response;
      // ignoreVary: the copy kept on the first visit was fetched by this worker, whose request
      // carried none of the page's Vary headers (Cookie, Accept-Language). The store holds one
      // holder's cards only: logging out empties it.
      }, () => caches.match(request, { ignoreVary: true }).then((stored) => stored || Response.error()))
    );
  } else if (url.pathname.startsWith(STATIC_PREFIX)) {
    // Static file names carry their content's hash: a stored one is never out of date.
    event.respondWith(
      caches.match(request, { ignoreVary: true }).then((stored) => stored || fetch(request).then((response) => {
        if (response.ok) {
          event.waitUntil(keep(request, response));
        }
        return response;
      }))
    );
  }
});
