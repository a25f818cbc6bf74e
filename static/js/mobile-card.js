// The mobile card: a running clock (a screenshot does not tick), a note when the page is a stored
// copy or may be out of date, and the service worker that keeps the page for offline use.
(function () {
  "use strict";
  var card = document.querySelector("[data-mobile-card]");
  if (!card) { return; }
  var clock = card.querySelector("[data-clock]");
  var notice = document.querySelector("[data-stored-copy]");
  var loadedAt = Date.parse(card.getAttribute("data-loaded-at"));
  var STALE_AFTER_MS = 2 * 60 * 1000;

  // In the card's own time zone (the server's, like "Page loaded"), not the phone's: a phone
  // set to another zone would show two times that disagree, and a venue could doubt the card.
  var options = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
  var format;
  try {
    format = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: card.getAttribute("data-time-zone") }, options));
  } catch (error) {  // a zone this browser does not know: the phone's own, rather than no clock
    format = new Intl.DateTimeFormat("en-GB", options);
  }
  function tick() {
    clock.textContent = format.format(new Date());
  }

  function checkStale() {
    var offline = navigator.onLine === false;
    var old = !isNaN(loadedAt) && Date.now() - loadedAt > STALE_AFTER_MS;
    if (offline || old) {
      notice.textContent = notice.getAttribute(offline ? "data-msg-offline" : "data-msg-old");
      notice.hidden = false;
    } else {
      notice.hidden = true;
    }
  }

  if (clock) { clock.hidden = false; tick(); setInterval(tick, 1000); }
  if (notice) {
    checkStale();
    setInterval(checkStale, 15000);
    window.addEventListener("online", checkStale);
    window.addEventListener("offline", checkStale);
  }
  // Past the last valid day, a stored copy opened offline must not say "Valid": the day is
  // compared in the card's time zone, as the server compares it.
  var state = card.querySelector("[data-state]");
  var validUntil = card.getAttribute("data-valid-until");
  function checkValidity() {
    if (!state || !validUntil || state.getAttribute("data-state") !== "valid") { return; }
    var today;
    try {
      today = new Intl.DateTimeFormat("en-CA", { timeZone: card.getAttribute("data-time-zone") }).format(new Date());
    } catch (error) {
      today = new Intl.DateTimeFormat("en-CA").format(new Date());
    }
    if (today > validUntil) {  // both YYYY-MM-DD
      state.textContent = state.getAttribute("data-msg-expired");
      state.setAttribute("data-state", "invalid");
      card.classList.remove("mobile-card--valid");
      card.classList.add("mobile-card--invalid");
    }
  }
  checkValidity();
  setInterval(checkValidity, 60000);

  if ("serviceWorker" in navigator && card.getAttribute("data-sw")) {
    // Read now: once the worker runs it takes this page over (clients.claim) and the
    // controller is set, though this load did not pass through it.
    var loadedThroughWorker = Boolean(navigator.serviceWorker.controller);
    navigator.serviceWorker.register(card.getAttribute("data-sw"), { scope: card.getAttribute("data-sw-scope") })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        if (loadedThroughWorker || !registration.active) { return; }
        // Loaded before the worker ran: ask it to keep this page and its files now.
        var files = Array.prototype.map.call(
          document.querySelectorAll("link[rel=stylesheet][href], script[src], img[src]"),
          function (element) { return element.href || element.src; });
        registration.active.postMessage({ keep: [window.location.href].concat(files) });
      })
      .catch(function () { /* no offline copy then; the page itself works */ });
  }
})();
