/* Two repairs to Dash's own components that axe-core reports as serious or critical
   (tests/system/test_staff_a11y.py), kept in place as Dash re-renders them:
   - dcc.Dropdown puts a hidden (aria-hidden) input in the tab order, which hands the focus to
     the real button; the button itself is left out of the tab order. Keyboard users reach the
     button directly instead, and the hidden input leaves the tab order.
   - dcc.DatePickerRange gives its wrapper element aria-haspopup/-expanded/-disabled without a
     role that allows them; the two date inputs inside are what people use and are labelled. */
(function () {
  "use strict";

  function repair(root) {
    root.querySelectorAll(".dash-dropdown-focus-target").forEach(function (input) {
      if (input.tabIndex !== -1) { input.tabIndex = -1; }
      var button = input.parentNode && input.parentNode.querySelector("button[id]");
      if (button && !button.disabled && button.tabIndex !== 0) { button.tabIndex = 0; }
    });
    root.querySelectorAll(".dash-datepicker > div[id$='-wrapper']").forEach(function (wrapper) {
      ["aria-haspopup", "aria-expanded", "aria-disabled"].forEach(function (name) {
        if (wrapper.hasAttribute(name)) { wrapper.removeAttribute(name); }
      });
    });
  }

  function start() {
    repair(document);
    new MutationObserver(function () { repair(document); }).observe(document.body, {
      childList: true, subtree: true, attributes: true,
      attributeFilter: ["tabindex", "aria-expanded", "aria-haspopup", "aria-disabled"]
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
