/* Designer pages: optional help on top of pages that work without scripts.
   - On a question form, shows only the parts the chosen type uses (scale labels, options,
     length, e-mail); a part with an error stays shown.
   - On a draft, lets the questions be dragged into a new order; the order is posted with the
     page's own hidden form (with its CSRF token) and checked by the server, like the arrows. */
(function () {
  "use strict";

  function typeDependentParts() {
    var select = document.querySelector("select[name=type]");
    if (!select) { return; }
    var parts = document.querySelectorAll("[data-types]");
    function update() {
      Array.prototype.forEach.call(parts, function (part) {
        var types = part.getAttribute("data-types").split(" ");
        part.hidden = types.indexOf(select.value) < 0 && !part.classList.contains("has-error");
      });
    }
    select.addEventListener("change", update);
    update();
  }

  function draggableQuestions() {
    var list = document.querySelector("ol.question-list[data-reorder-form]");
    var form = list && document.getElementById(list.getAttribute("data-reorder-form"));
    if (!form) { return; }
    var dragged = null;
    list.setAttribute("data-draggable", "");
    Array.prototype.forEach.call(list.children, function (item) {
      item.draggable = true;
      item.addEventListener("dragstart", function (event) {
        dragged = item;
        item.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", item.getAttribute("data-key"));
      });
      item.addEventListener("dragend", function () {
        item.classList.remove("dragging");
        dragged = null;
      });
      item.addEventListener("dragover", function (event) {
        if (dragged && dragged !== item) { event.preventDefault(); item.classList.add("drop-target"); }
      });
      item.addEventListener("dragleave", function () { item.classList.remove("drop-target"); });
      item.addEventListener("drop", function (event) {
        event.preventDefault();
        item.classList.remove("drop-target");
        if (!dragged || dragged === item) { return; }
        var items = Array.prototype.slice.call(list.children);
        var downwards = items.indexOf(dragged) < items.indexOf(item);
        list.insertBefore(dragged, downwards ? item.nextSibling : item);
        submitOrder(list, form);
      });
    });
  }

  function submitOrder(list, form) {
    Array.prototype.forEach.call(list.children, function (item) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "key";
      input.value = item.getAttribute("data-key");
      form.appendChild(input);
    });
    form.submit();
  }

  function start() {
    typeDependentParts();
    draggableQuestions();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
