/* Survey page: stores the one-click answer from the e-mail (the page posts it itself, so that a
   mail scanner's GET never answers), shows a conditional question only when its show_if holds,
   as the respondent answers, counts the characters of text answers, and takes the keyboard to
   the list of problems when the server sent the form back. Optional: the page works without it
   (a button stores the one-click answer), and the server decides again on submit
   (app/respond/views.py, app/respond/forms.py, app/design/expressions.py).

   The expression language is the one of app/design/expressions.py: comparisons (== != < <= > >=)
   between numbers, "double-quoted text" and question keys, joined by and / or / not and
   parentheses. An unanswered question makes a comparison false; a multiple choice "== x" means
   x was chosen. An expression this script cannot read leaves its question shown. */
(function () {
  "use strict";

  var OPS = ["==", "!=", "<=", ">=", "<", ">"];

  function tokenize(text) {
    var tokens = [], i = 0, m;
    while (i < text.length) {
      var c = text.charAt(i);
      if (/\s/.test(c)) { i += 1; continue; }
      if (c === "(" || c === ")") { tokens.push({ kind: c }); i += 1; continue; }
      var op = OPS.filter(function (o) { return text.substr(i, o.length) === o; })[0];
      if (op) { tokens.push({ kind: "op", text: op }); i += op.length; continue; }
      if (c === '"') {
        var value = "", j = i + 1;
        while (j < text.length && text.charAt(j) !== '"') {
          if (text.charAt(j) === "\\" && j + 1 < text.length) { j += 1; }
          value += text.charAt(j); j += 1;
        }
        if (j >= text.length) { throw new Error("open string"); }
        tokens.push({ kind: "value", value: value }); i = j + 1; continue;
      }
      if ((m = /^-?\d+(\.\d+)?/.exec(text.slice(i)))) {
        tokens.push({ kind: "value", value: Number(m[0]) }); i += m[0].length; continue;
      }
      if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)))) {
        var word = m[0];
        tokens.push(word === "and" || word === "or" || word === "not"
          ? { kind: word } : { kind: "key", name: word });
        i += word.length; continue;
      }
      throw new Error("unexpected character");
    }
    tokens.push({ kind: "end" });
    return tokens;
  }

  /* Parses into nested functions of the answers. */
  function parse(text) {
    var tokens = tokenize(text), at = 0;
    function peek() { return tokens[at]; }
    function next() { at += 1; return tokens[at - 1]; }
    function expect(kind) { if (peek().kind !== kind) { throw new Error("expected " + kind); } next(); }
    function operand() {
      var t = next();
      if (t.kind === "value") { return function () { return t.value; }; }
      if (t.kind === "key") { return function (answers) { return answers[t.name]; }; }
      throw new Error("expected a value");
    }
    function primary() {
      if (peek().kind === "not") { next(); var inner = primary(); return function (a) { return !inner(a); }; }
      if (peek().kind === "(") { next(); var group = or(); expect(")"); return group; }
      var left = operand(), op = next();
      if (op.kind !== "op") { throw new Error("expected a comparison"); }
      var right = operand();
      return function (a) { return compare(op.text, left(a), right(a)); };
    }
    function and() {
      var parts = [primary()];
      while (peek().kind === "and") { next(); parts.push(primary()); }
      return function (a) { return parts.every(function (p) { return p(a); }); };
    }
    function or() {
      var parts = [and()];
      while (peek().kind === "or") { next(); parts.push(and()); }
      return function (a) { return parts.some(function (p) { return p(a); }); };
    }
    var tree = or();
    expect("end");
    return tree;
  }

  function missing(v) { return v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length); }
  function asNumber(v, other) {
    return typeof v === "string" && typeof other === "number" && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
  }
  function compare(op, left, right) {
    if (missing(left) || missing(right)) { return false; }
    if (Array.isArray(right)) { var swap = left; left = right; right = swap; }
    if (Array.isArray(left)) {
      if ((op !== "==" && op !== "!=") || typeof right !== "string") { return false; }
      return (left.indexOf(right) >= 0) === (op === "==");
    }
    left = asNumber(left, right); right = asNumber(right, left);
    if (typeof left === "number" && typeof right === "number") {
      switch (op) {
        case "==": return left === right;
        case "!=": return left !== right;
        case "<": return left < right;
        case "<=": return left <= right;
        case ">": return left > right;
        default: return left >= right;
      }
    }
    if (typeof left === "string" && typeof right === "string" && (op === "==" || op === "!=")) {
      return (left === right) === (op === "==");
    }
    return false;
  }

  function answerOf(block) {
    var boxes = block.querySelectorAll("input[type=checkbox]:checked");
    if (block.querySelector("input[type=checkbox]")) {
      return Array.prototype.map.call(boxes, function (b) { return b.value; });
    }
    var radio = block.querySelector("input[type=radio]:checked");
    if (radio) { return radio.value; }
    var text = block.querySelector("textarea");
    return text && text.value.trim() ? text.value : undefined;
  }

  /* The respondent counts the questions they see: a hidden question takes no number, so the
     one after it gets its number (6, 7 rather than 6, 8). Without this script every question is
     shown, numbered 1 to n by the server, each condition in words above its question. */
  function applyConditions(form, blocks) {
    var answers = {}, number = 0;
    blocks.forEach(function (item) {
      var shown = !item.test || item.test(answers);
      item.block.hidden = !shown;
      if (shown) {
        answers[item.block.getAttribute("data-key")] = answerOf(item.block);
        number += 1;
        var label = item.block.querySelector(".number");
        if (label) { label.textContent = number + "."; }
      }
    });
  }

  function countCharacters(textarea) {
    var limit = Number(textarea.getAttribute("data-max-length"));
    if (!limit) { return; }
    var counter = document.createElement("p");
    counter.className = "counter";
    counter.setAttribute("aria-live", "polite");
    textarea.parentNode.insertBefore(counter, textarea.nextSibling);
    function update() {
      var used = textarea.value.replace(/\r\n/g, "\n").length;
      counter.textContent = used + " / " + limit;
      counter.classList.toggle("over", used > limit);
    }
    textarea.addEventListener("input", update);
    update();
  }

  /* The one-click answer is posted as soon as the page is seen; on any failure the form's own
     button stays for the respondent to press. */
  function sendFirstAnswer() {
    var form = document.querySelector("form.one-click[data-auto-send]");
    var status = document.getElementById("first-answer-status");
    if (!form || !status || !window.fetch || !window.FormData) { return; }
    function send() {
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Memnun-Fetch": "1" }
      }).then(function (response) {
        if (response.status === 204) {
          form.hidden = true;
          var note = document.createElement("p");
          note.className = "notice";
          note.textContent = status.getAttribute("data-saved");
          status.appendChild(note);
        } else if (response.status === 409 || response.status === 410) {
          window.location.reload();  /* the server shows why: answered, or closed */
        }
      }).catch(function () { /* offline: the button stays */ });
    }
    if (document.visibilityState === "hidden") {
      document.addEventListener("visibilitychange", function once() {
        if (document.visibilityState !== "hidden") {
          document.removeEventListener("visibilitychange", once);
          send();
        }
      });
    } else {
      send();
    }
  }

  function start() {
    sendFirstAnswer();
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
    var form = document.querySelector("form.survey");
    if (!form) { return; }
    var blocks = Array.prototype.map.call(form.querySelectorAll("[data-key]"), function (block) {
      var expression = block.getAttribute("data-show-if");
      var test = null;
      if (expression) {
        try { test = parse(expression); } catch (e) { test = null; }
      }
      if (test) { block.classList.add("live"); }
      return { block: block, test: test };
    });
    applyConditions(form, blocks);
    form.addEventListener("change", function () { applyConditions(form, blocks); });
    form.addEventListener("input", function () { applyConditions(form, blocks); });
    Array.prototype.forEach.call(form.querySelectorAll("textarea[data-max-length]"), countCharacters);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
