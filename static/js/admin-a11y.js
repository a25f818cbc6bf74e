// Django admin, for keyboards and screen readers. Its autocomplete boxes (select2) name
// themselves only by the value chosen, so with nothing chosen a screen reader meets an unnamed
// combobox (WCAG 4.1.2): name each box by its field's label as well. Loaded by
// templates/admin/change_form.html; no inline script (CSP).
(function () {
  "use strict";
  // A tabular inline's fields have column headings but no <label>: a screen reader met unnamed
  // boxes and checkboxes (WCAG 1.3.1, 4.1.2). Each gets a label that names it by its column's
  // heading, and by its row's object where the row has one ("Delete?: Tampere").
  function labelInline(control) {
    var cell = control.closest("td");
    var table = cell && cell.closest("table");
    var head = table && table.tHead && table.tHead.rows[0];
    if (!head || control.type === "hidden" || document.querySelector('label[for="' + control.id + '"]')) { return; }
    var heading = head.cells[cell.cellIndex];
    var text = heading ? heading.textContent.trim() : "";
    if (!text || !control.id) { return; }
    var original = cell.parentElement.querySelector("td.original p");
    var object = original ? original.textContent.trim() : "";
    var label = document.createElement("label");
    label.htmlFor = control.id;
    label.className = "visually-hidden";
    label.textContent = object ? text + ": " + object : text;
    cell.insertBefore(label, cell.firstChild);
  }
  function name(select) {
    var label = document.querySelector('label[for="' + select.id + '"]');
    var box = select.nextElementSibling; // select2 puts its own box right after the hidden select
    if (!label || !box || !box.classList.contains("select2")) { return; }
    if (!label.id) { label.id = select.id + "-label"; }
    box.querySelectorAll('[role="combobox"], [role="textbox"], .select2-search__field').forEach(function (element) {
      var others = (element.getAttribute("aria-labelledby") || "").split(" ").filter(function (id) {
        return id && id !== label.id;
      });
      element.setAttribute("aria-labelledby", [label.id].concat(others).join(" "));
    });
  }
  // A tabular inline scrolls sideways on a phone: let the keyboard reach and scroll it.
  function scrollable(wrapper) {
    var fieldset = wrapper.closest("fieldset[aria-labelledby]");
    if (!fieldset || wrapper.hasAttribute("tabindex")) { return; }
    wrapper.setAttribute("tabindex", "0");
    wrapper.setAttribute("role", "region");
    wrapper.setAttribute("aria-labelledby", fieldset.getAttribute("aria-labelledby"));
  }
  function nameAll() {
    document.querySelectorAll(
      ".inline-group .tabular td input, .inline-group .tabular td select, .inline-group .tabular td textarea"
    ).forEach(labelInline);
    document.querySelectorAll("select.admin-autocomplete").forEach(name);
    document.querySelectorAll(".inline-group .tabular .wrapper").forEach(scrollable);
  }
  // select2 builds its boxes whenever jQuery gets to it (and again for a new inline row):
  // name them as they appear rather than guess when that is.
  new MutationObserver(nameAll).observe(document.documentElement, { childList: true, subtree: true });
  nameAll();
})();
