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
  document.querySelectorAll("form.js-card-form").forEach(function (form) {
    function sync() {
      var checked = form.querySelector("input[name=kind]:checked");
      var kind = checked ? checked.value : "customer";
      form.querySelectorAll(".js-kind-customer").forEach(function (el) { el.hidden = kind !== "customer"; });
      form.querySelectorAll(".js-kind-organisation").forEach(function (el) { el.hidden = kind !== "organisation"; });
      var omakaiku = form.querySelector("input[name=activate_omakaiku]");
      var number = form.querySelector("input[name=number]");
      var mobileOnly = number && /^\s*[xXzZ]\s*$/.test(number.value);
      if (omakaiku && mobileOnly && !omakaiku.checked) { omakaiku.checked = true; }
      form.querySelectorAll(".js-omakaiku-fields").forEach(function (el) { el.hidden = omakaiku ? !omakaiku.checked : false; });
      var mobile = form.querySelector("#field-mobile");
      if (mobile) { mobile.hidden = mobileOnly; }
    }
    form.addEventListener("change", sync);
    form.addEventListener("input", sync);
    sync();
  });

  // Put the keyboard where the work is: the first field with an error, else the error summary
  // (a wrong password is an error of the whole form: without this, focus stays on the body and
  // a screen reader may not announce the summary that was already in the page when it loaded).
  var firstError = document.querySelector(".field--error input, .field--error select, .field--error textarea");
  var summary = document.querySelector(".error-summary");
  if (firstError) { firstError.focus(); } else if (summary) { summary.focus(); }
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
