// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Fields the form checks itself (required for a customer, or with OmaKaiku ticked) carry the
  // visible mark from the template; tell assistive technology too. Hidden groups are not exposed.
  document.querySelectorAll(".field--required").forEach(function (field) {
    field.querySelectorAll("input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, textarea").forEach(function (control) {
      control.setAttribute("aria-required", "true");
    });
  });

  // Card forms: show only the fields for the chosen holder type and for OmaKaiku when ticked.
  // A hidden field is also disabled, so it is not sent: what it still holds (a mobile box ticked
  // before OmaKaiku was unticked) can neither be saved nor refused where nobody sees it.
  function show(group, visible, disable) {
    group.hidden = !visible;
    if (!disable) { return; }
    group.querySelectorAll("input, select, textarea").forEach(function (control) {
      if (!visible && !control.disabled) {
        control.disabled = true;
        control.setAttribute("data-hidden-by-form", "");
      } else if (visible && control.hasAttribute("data-hidden-by-form")) {
        control.disabled = false;
        control.removeAttribute("data-hidden-by-form");
      }
    });
  }
  document.querySelectorAll("form.js-card-form").forEach(function (form) {
    // Fields are disabled only once the browser has put back what was typed (Back to the form:
    // it restores no disabled field, and restores the choices after this script first runs).
    function sync(disable) {
      disable = disable !== false;
      var checked = form.querySelector("input[name=kind]:checked");
      var kind = checked ? checked.value : "customer";
      form.querySelectorAll(".js-kind-customer").forEach(function (el) { show(el, kind === "customer", disable); });
      form.querySelectorAll(".js-kind-organisation").forEach(function (el) { show(el, kind === "organisation", disable); });
      var omakaiku = form.querySelector("input[name=activate_omakaiku]");
      var number = form.querySelector("input[name=number]");
      var mobileOnly = number && /^\s*[xXzZ]\s*$/.test(number.value);
      if (omakaiku && mobileOnly && !omakaiku.checked) { omakaiku.checked = true; }
      var withOmakaiku = omakaiku ? omakaiku.checked : true;
      form.querySelectorAll(".js-omakaiku-fields").forEach(function (el) { show(el, withOmakaiku, disable); });
      var mobile = form.querySelector("#field-mobile");
      if (mobile) { show(mobile, !mobileOnly && withOmakaiku, disable); }
    }
    form.addEventListener("change", sync);
    form.addEventListener("input", sync);
    form.addEventListener("submit", sync);  // the fields hidden now are not sent
    window.addEventListener("pageshow", sync);
    sync(false);
  });

  // Put the keyboard where the work is: the first field with an error, else the error summary
  // (a wrong password is an error of the whole form: without this, focus stays on the body and
  // a screen reader may not announce the summary that was already in the page when it loaded).
  var firstError = document.querySelector(".field--error input, .field--error select, .field--error textarea");
  var summary = document.querySelector(".error-summary");
  if (firstError) { firstError.focus(); } else if (summary) { summary.focus(); }
  // Otherwise, after an action, its outcome: a search's or a check's result (data-focus-result),
  // else the message the action left (a refusal after a redirect, "Card renewed"). A live region
  // already in the page when it loads is not announced; the focused one is read out. A page
  // whose own field takes the keyboard (the desk's scan field, autofocus) keeps it.
  else if (!document.querySelector("main [autofocus]")) {
    var outcome = document.querySelector("[data-focus-result]") || document.querySelector("main .messages");
    if (outcome) { outcome.focus(); }
  }
})();

// A double click sends a form once. The second submit of a form already on its way is
// dropped for a few seconds, so a registration or an invitation is not sent twice and the
// page shown is the first one's answer, not the second's "already done". The server refuses
// true duplicates anyway (two tabs, no JavaScript); the button stays enabled, so a request
// that got no answer can be sent again after the pause, and back navigation resets it.
(function () {
  "use strict";
  var PAUSE_MS = 5000;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post" || event.defaultPrevented) { return; }
    var now = Date.now();
    var sent = Number(form.dataset.sentAt) || 0;
    if (now - sent < PAUSE_MS) { event.preventDefault(); return; }
    form.dataset.sentAt = String(now);
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-sent-at]").forEach(function (form) { delete form.dataset.sentAt; });
  });
})();

// Desk: after a valid scan the first ticket field takes the focus with its value selected:
// type a number if needed, and one Enter records the use.
(function () {
  "use strict";
  var first = document.querySelector("form.desk-record input:not([type=hidden])");
  if (first && !document.querySelector(".field--error, .error-summary")) { first.focus(); first.select(); }
  // Long checks and imports: show that something is happening.
  document.querySelectorAll("form.js-progress-form").forEach(function (form) {
    form.addEventListener("submit", function () {
      var progress = form.querySelector(".js-progress");
      if (progress) { progress.hidden = false; }
      var submit = form.querySelector("button[type=submit]");
      // Disabled after the submit has started, so the request still carries the form data.
      if (submit) { window.setTimeout(function () { submit.disabled = true; }, 0); }
    });
  });
})();

// Before an idle session ends (accounts/sessions.py), warn and offer to stay logged in
// (WCAG 2.2.1); typing or clicking on the page keeps the session alive, so a form filled in
// slowly is not lost. Tabs share the session, so they share its end through localStorage.
(function () {
  "use strict";
  var dialog = document.getElementById("session-warning");
  var times = document.querySelector("[data-seconds-left]");
  if (!dialog || !times || !times.dataset.secondsLeft || typeof dialog.showModal !== "function" || !window.fetch) { return; }
  var KEY = "kaikukanta-session-ends";
  var ACTIVITY_PING_MS = 5 * 60 * 1000;
  var warningMs = Number(dialog.dataset.warningSeconds) * 1000;
  var active = dialog.querySelector(".js-session-active");
  var ended = dialog.querySelector(".js-session-ended");
  var endsAt = 0;
  var lastPing = Date.now();
  var timer = null;
  var over = false;

  function shared() {
    try { return Number(window.localStorage.getItem(KEY)) || 0; } catch (e) { return 0; }
  }
  function extend(secondsLeft) {
    endsAt = Date.now() + secondsLeft * 1000;
    try {
      if (endsAt > shared()) { window.localStorage.setItem(KEY, String(endsAt)); }
    } catch (e) { /* storage off: this tab still keeps its own time */ }
  }
  function schedule() {
    window.clearTimeout(timer);
    var end = Math.max(endsAt, shared());
    var wait = dialog.open ? end - Date.now() : end - warningMs - Date.now();
    timer = window.setTimeout(check, Math.max(wait, 0) + 250);
  }
  function showEnded() {
    over = true;
    window.clearTimeout(timer);
    active.hidden = true;
    ended.hidden = false;
    dialog.setAttribute("aria-labelledby", "session-ended-title");
    dialog.setAttribute("aria-describedby", "session-ended-text");
    // The page behind is no longer the person's to read (a shared desk computer): hidden.
    dialog.classList.add("session-warning--ended");
    var login = ended.querySelector(".js-session-login");
    // OmaKaiku's pages (its help and statements too) log holders in at OmaKaiku's own login.
    var holder = document.body.classList.contains("omakaiku");
    login.href = dialog.dataset[holder ? "holderLoginUrl" : "loginUrl"] + "?next=" + encodeURIComponent(window.location.pathname + window.location.search).replace(/%2F/g, "/");
    // Opened anew, so that screen readers announce the new title and text, not only the link.
    if (dialog.open) { dialog.close(); }
    dialog.showModal();
    login.focus();
  }
  // 14:05 as every time is written on our pages (in the server's time zone, as they are), not
  // the browser's own form for its language ("14.05", "02:05 PM") or the phone's zone.
  function clock(date) {
    var options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    try {
      return new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: dialog.dataset.timeZone }, options)).format(date);
    } catch (error) {  // a zone this browser does not know
      return new Intl.DateTimeFormat("en-GB", options).format(date);
    }
  }
  function check() {
    var end = Math.max(endsAt, shared());
    var left = end - Date.now();
    if (left <= 0) { showEnded(); return; }
    if (left > warningMs + 1000) {
      if (dialog.open) { dialog.close(); }
      schedule();
      return;
    }
    if (!dialog.open) {
      dialog.querySelector(".js-session-end").textContent = clock(new Date(end));
      dialog.showModal();
    }
    schedule();
  }
  function keepAlive() {
    lastPing = Date.now();
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    return window.fetch(dialog.dataset.keepaliveUrl, {
      method: "POST",
      credentials: "same-origin",
      redirect: "error",
      headers: { "X-CSRFToken": token ? token.value : "", "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 401) { showEnded(); return; }
      if (!response.ok) { return; }
      return response.json().then(function (data) {
        extend(Number(data.seconds_left) || 0);
        check();
      });
    }).catch(function () { /* offline for a moment: the warning stays, the button can be tried again */ });
  }

  dialog.querySelector(".js-session-continue").addEventListener("click", keepAlive);
  // Escape means the person is here: the same as "Stay logged in". Once logged out, it is no use.
  dialog.addEventListener("cancel", function (event) {
    if (over) { event.preventDefault(); return; }
    keepAlive();
  });
  ["keydown", "pointerdown", "input"].forEach(function (type) {
    document.addEventListener(type, function () {
      if (!over && !dialog.open && Date.now() - lastPing > ACTIVITY_PING_MS) { keepAlive(); }
    }, { capture: true, passive: true });
  });
  // Another tab kept the session alive: this one's warning is no longer true.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY && !over) { check(); }
  });
  extend(Number(times.dataset.secondsLeft) || 0);
  schedule();
})();

// Statistics on a phone: every table stacked row by row made a region's dashboard some thirty
// screens long. There each table starts folded under its heading, whose text becomes a button
// that opens it (the WAI-ARIA disclosure pattern); a link to a table, such as the list of
// tables above them, opens it too. Without this file, or on a wider screen, all are open.
(function () {
  var sections = document.querySelectorAll("section.stats-table");
  var narrow = window.matchMedia("(max-width: 40rem)");
  if (!sections.length || !narrow.matches) { return; }
  var openers = {};
  // The folded headings list the tables themselves: the list above them would only repeat it.
  var contents = document.querySelector(".stats-contents");
  if (contents) { contents.hidden = true; }
  sections.forEach(function (section) {
    var heading = section.querySelector("h2");
    var panel = document.createElement("div");
    panel.id = heading.id + "-panel";
    Array.prototype.slice.call(section.children).forEach(function (child) {
      if (child !== heading) { panel.appendChild(child); }
    });
    section.appendChild(panel);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "stats-toggle";
    button.setAttribute("aria-controls", panel.id);
    while (heading.firstChild) { button.appendChild(heading.firstChild); }
    heading.appendChild(button);
    function show(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      panel.hidden = !open;
    }
    button.addEventListener("click", function () { show(button.getAttribute("aria-expanded") !== "true"); });
    show(window.location.hash === "#" + heading.id);
    openers["#" + heading.id] = show;
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
    if (link && openers[link.getAttribute("href")]) { openers[link.getAttribute("href")](true); }
  });
  window.addEventListener("hashchange", function () {
    if (openers[window.location.hash]) { openers[window.location.hash](true); }
  });
  // Turned to landscape or a wider window: nothing stays folded where there is room.
  narrow.addEventListener("change", function (event) {
    if (event.matches) { return; }
    Object.keys(openers).forEach(function (id) { openers[id](true); });
    if (contents) { contents.hidden = false; }
  });
})();
