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
  if ("serviceWorker" in navigator && card.getAttribute("data-sw")) {
    navigator.serviceWorker.register(card.getAttribute("data-sw"), { scope: card.getAttribute("data-sw-scope") })
      .catch(function () { /* no offline copy then; the page itself works */ });
  }
})();
