// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Show only the plan details that belong to the chosen type.
  function syncPlan(block) {
    var select = block.querySelector("select[name$='plan_type']");
    if (!select) return;
    block.querySelectorAll("[data-for]").forEach(function (part) {
      var kinds = part.getAttribute("data-for").split(" ");
      part.hidden = kinds.indexOf(select.value) === -1;
    });
  }

  // "Same every day" or "different by weekday" on the default editor.
  function syncPattern(form) {
    var chosen = form.querySelector("input[name='pattern']:checked");
    if (!chosen) return;
    form.querySelectorAll("[data-pattern]").forEach(function (part) {
      part.hidden = part.getAttribute("data-pattern") !== chosen.value;
    });
  }

  function init(root) {
    // On a phone the tab bar scrolls; keep the current tab in view.
    var current = root.querySelector && root.querySelector(".tabs [aria-current='page']");
    if (current) current.parentNode.scrollLeft = current.offsetLeft - 16;
    root.querySelectorAll("[data-planfields]").forEach(function (block) {
      syncPlan(block);
      block.addEventListener("change", function () { syncPlan(block); });
    });
    root.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector("input[name='pattern']")) return;
      syncPattern(form);
      form.addEventListener("change", function () { syncPattern(form); });
    });
    root.querySelectorAll("input[data-autosubmit]").forEach(function (input) {
      input.addEventListener("change", function () {
        if (input.value) input.form.submit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
