/* The rule builder of a hand-written segment (plain JavaScript, no build step).

   Rows of feature / operator / value (and "or unknown": the row also matches a
   missing value): AND within a group, OR between groups. Every
   change writes the rule's stored JSON form into the "Advanced" textarea (what the
   form saves) and asks the server for the live count and the sentence in English
   and Chinese. Feature labels, units and words come from the widget's json_script. */
(function () {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; }
      else if (key === "className") { node.className = attrs[key]; }
      else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function Builder(root) {
    this.root = root;
    this.config = JSON.parse(document.getElementById(root.dataset.catalog).textContent);
    this.textarea = document.getElementById(root.dataset.textarea);
    this.format = document.getElementById("id_rule_format");
    this.features = {};
    this.config.features.forEach(function (f) { this.features[f.name] = f; }, this);
    this.clausesBox = root.querySelector(".rc-clauses");
    this.adoptFormatField();
    this.timer = null;
    this.asked = 0;
    this.bindTabs();
    var parsed = this.fromJSON(this.textarea.value);
    if (parsed === null) {
      this.clauses = [[this.emptyRow()]];
      this.show("advanced");
      this.say(this.config.texts.unreadable);
    } else {
      this.clauses = parsed.length ? parsed : [[this.emptyRow()]];
      this.show("builder");
    }
    this.draw();
    if (parsed !== null && parsed.length) { this.ask(); }
  }

  /* The rule's format (JSON or JsonLogic) only matters for the Advanced tab: move it there. */
  Builder.prototype.adoptFormatField = function () {
    if (!this.format) { return; }
    var row = this.format.closest(".form-row");
    var label = document.querySelector('label[for="id_rule_format"]');
    var holder = el("p", {className: "rc-format"}, [label, this.format]);
    this.root.querySelector(".rc-advanced-panel").prepend(holder);
    if (row && !row.contains(this.root)) { row.hidden = true; }
  };

  Builder.prototype.emptyRow = function () {
    var first = this.config.features[0];
    return {feature: first.name, op: first.ops[0], value: "", orUnknown: false};
  };

  Builder.prototype.bindTabs = function () {
    var self = this;
    this.root.querySelectorAll(".rc-tab").forEach(function (tab) {
      tab.addEventListener("click", function () {
        if (tab.dataset.tab === "builder") {
          var parsed = self.fromJSON(self.textarea.value);
          if (parsed === null) { self.say(self.config.texts.unreadable); return; }
          self.clauses = parsed.length ? parsed : [[self.emptyRow()]];
          self.draw();
          self.ask();
        }
        self.show(tab.dataset.tab);
      });
    });
  };

  Builder.prototype.show = function (name) {
    this.root.querySelectorAll(".rc-tab").forEach(function (tab) {
      tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
    });
    this.root.querySelectorAll(".rc-tab-panel").forEach(function (panel) {
      panel.hidden = panel.dataset.panel !== name;
    });
  };

  /* The stored JSON form -> rows, or null when the builder cannot draw it. */
  Builder.prototype.fromJSON = function (text) {
    if (!text || !text.trim()) { return []; }
    if (this.format && this.format.value !== "json") { return null; }
    var data;
    try { data = JSON.parse(text); } catch (e) { return null; }
    if (!data || !Array.isArray(data.any)) { return null; }
    var self = this, ok = true;
    var clauses = data.any.map(function (clause) {
      if (!clause || !Array.isArray(clause.all)) { ok = false; return []; }
      return clause.all.map(function (c) {
        var feature = self.features[c.feature];
        if (!feature || feature.ops.indexOf(c.op) < 0) { ok = false; return null; }
        if (c.or_unknown !== undefined && typeof c.or_unknown !== "boolean") { ok = false; return null; }
        var value = Array.isArray(c.value) ? c.value.join(", ")
          : (typeof c.value === "number" ? String(+(c.value * feature.scale).toPrecision(12))
             : String(c.value));
        return {feature: c.feature, op: c.op, value: value, orUnknown: c.or_unknown === true};
      });
    });
    return ok ? clauses : null;
  };

  /* Rows -> the stored JSON form; rows without a value are left out (and reported). */
  Builder.prototype.toRule = function () {
    var self = this, incomplete = false;
    var any = this.clauses.map(function (rows) {
      var all = [];
      rows.forEach(function (row) {
        var feature = self.features[row.feature];
        var text = String(row.value).trim();
        if (!feature || text === "") { incomplete = true; return; }
        var value;
        if (row.op === "in") {
          value = text.split(",").map(function (v) { return v.trim(); }).filter(Boolean);
          if (feature.kind !== "categorical") { value = value.map(Number); }
        } else if (feature.kind === "categorical") {
          value = text;
        } else {
          value = Number(text.replace(/[,\s]/g, ""));
          if (!isFinite(value)) { incomplete = true; return; }
          value = +(value / feature.scale).toPrecision(12);
        }
        var condition = {feature: row.feature, op: row.op, value: value};
        if (row.orUnknown) { condition.or_unknown = true; }
        all.push(condition);
      });
      return {all: all};
    }).filter(function (clause) { return clause.all.length; });
    return {rule: {version: 1, any: any}, incomplete: incomplete || !any.length};
  };

  Builder.prototype.draw = function () {
    var self = this, texts = this.config.texts;
    this.clausesBox.textContent = "";
    this.clauses.forEach(function (rows, ci) {
      if (ci > 0) {
        self.clausesBox.appendChild(el("div", {className: "rc-builder-or"}, [el("span", {text: texts.or})]));
      }
      var box = el("fieldset", {className: "rc-clause"}, [el("legend", {text: texts.clause})]);
      rows.forEach(function (row, ri) { box.appendChild(self.drawRow(row, ci, ri)); });
      var add = el("button", {type: "button", className: "button rc-add-condition", text: texts.add_condition});
      add.addEventListener("click", function () { rows.push(self.emptyRow()); self.changed(true); });
      box.appendChild(add);
      self.clausesBox.appendChild(box);
    });
    var addClause = el("button", {type: "button", className: "button rc-add-clause", text: texts.add_clause});
    addClause.addEventListener("click", function () { self.clauses.push([self.emptyRow()]); self.changed(true); });
    this.clausesBox.appendChild(addClause);
  };

  Builder.prototype.drawRow = function (row, ci, ri) {
    var self = this, texts = this.config.texts, feature = this.features[row.feature];
    var pick = el("select", {className: "rc-feature", "aria-label": texts.feature});
    this.config.features.forEach(function (f) {
      var option = el("option", {value: f.name, text: f.label});
      if (f.name === row.feature) { option.selected = true; }
      pick.appendChild(option);
    });
    var op = el("select", {className: "rc-op", "aria-label": texts.operator});
    feature.ops.forEach(function (symbol) {
      var option = el("option", {value: symbol, text: self.config.ops[symbol]});
      if (symbol === row.op) { option.selected = true; }
      op.appendChild(option);
    });
    var numeric = feature.kind !== "categorical" && row.op !== "in";
    var value = el("input", {className: "rc-value", type: "text", value: row.value,
                             inputmode: numeric ? "decimal" : "text", "aria-label": texts.value});
    var unit = el("span", {className: "rc-unit", text: feature.unit});
    var unknownBox = el("input", {className: "rc-or-unknown", type: "checkbox"});
    unknownBox.checked = !!row.orUnknown;
    var unknown = el("label", {className: "rc-or-unknown-label", title: texts.or_unknown_help},
                     [unknownBox, el("span", {text: " " + texts.or_unknown})]);
    var remove = el("button", {type: "button", className: "rc-remove", title: texts.remove,
                               "aria-label": texts.remove, text: "×"});
    pick.addEventListener("change", function () {
      var next = self.features[pick.value];
      row.feature = pick.value;
      if (next.ops.indexOf(row.op) < 0) { row.op = next.ops[0]; }
      self.changed(true);
    });
    op.addEventListener("change", function () { row.op = op.value; self.changed(true); });
    value.addEventListener("input", function () { row.value = value.value; self.changed(false); });
    unknownBox.addEventListener("change", function () { row.orUnknown = unknownBox.checked; self.changed(false); });
    remove.addEventListener("click", function () {
      var rows = self.clauses[ci];
      rows.splice(ri, 1);
      if (!rows.length) { self.clauses.splice(ci, 1); }
      if (!self.clauses.length) { self.clauses.push([self.emptyRow()]); }
      self.changed(true);
    });
    var and = ri > 0 ? el("span", {className: "rc-builder-and", text: texts.and}) : el("span", {className: "rc-builder-and"});
    return el("div", {className: "rc-row"}, [and, pick, op, value, unit, unknown, remove]);
  };

  Builder.prototype.changed = function (redraw) {
    if (redraw) { this.draw(); }
    var built = this.toRule();
    this.textarea.value = JSON.stringify(built.rule, null, 2);
    if (this.format) { this.format.value = "json"; }
    this.ask();
  };

  Builder.prototype.say = function (error) {
    var box = this.root.querySelector(".rc-builder-error");
    box.textContent = error || "";
    box.hidden = !error;
  };

  /* Debounced: the count and the sentences of the rule as it is now. */
  Builder.prototype.ask = function () {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () {
      var built = self.toRule();
      var count = self.root.querySelector(".rc-builder-count");
      if (built.incomplete) {
        self.say(self.config.texts.incomplete);
        if (!built.rule.any.length) { return; }
      } else {
        self.say("");
      }
      var asked = ++self.asked;
      count.textContent = self.config.texts.checking;
      var url = self.root.dataset.previewUrl + "?format=json&rule=" + encodeURIComponent(JSON.stringify(built.rule));
      fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (asked !== self.asked) { return; }  // an older answer arriving late
          if (!data.ok) { count.textContent = ""; self.say(data.error); return; }
          count.textContent = self.config.texts.matching + " " + data.count.toLocaleString() +
            " " + self.config.texts.of + " " + data.total.toLocaleString();
          count.dataset.count = data.count;
          self.root.querySelector(".rc-builder-en").textContent = data.sentence_en;
          self.root.querySelector(".rc-builder-zh").textContent = data.sentence_zh;
        })
        .catch(function () { count.textContent = ""; });
    }, 250);
  };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".rc-builder").forEach(function (root) { root.builder = new Builder(root); });
  });
})();
