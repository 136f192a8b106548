/* Period shortcuts on the report forms: optional help on a form that works without scripts.
   The server fills a shortcut's dates in whatever the date fields hold; here choosing a shortcut
   shows its dates (sent by the server in data-shortcut-dates, the organisation's days), and
   typing other dates switches the shortcut to custom, as the dashboards' filter bar does. */
(function () {
  "use strict";

  function enhance(form) {
    var dates = JSON.parse(form.getAttribute("data-shortcut-dates") || "{}");
    var shortcut = form.querySelector("select[name=period]");
    var start = form.querySelector("input[name=start]");
    var last = form.querySelector("input[name=last]");
    if (!shortcut || !start || !last) { return; }
    shortcut.addEventListener("change", function () {
      var days = dates[shortcut.value];
      if (days) { start.value = days[0]; last.value = days[1]; }
    });
    function typed() {
      var days = dates[shortcut.value];
      if (days && (start.value !== days[0] || last.value !== days[1])) {
        shortcut.value = "custom";
      }
    }
    ["input", "change"].forEach(function (kind) {
      start.addEventListener(kind, typed);
      last.addEventListener(kind, typed);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-shortcut-dates]"), enhance);
}());
