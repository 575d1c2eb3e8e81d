// Evidence map filters: recount every cell from the records' data (map-data.js, loaded on first use of the filters,
// made by publish/evidence_map.py). Each row: [intervention idxs, outcome idxs, population idxs, level|null,
// publisher idx, year|0, type idx, pairs [[i, o, direction idx]], design idx, direction idx, study 1|0]. A cell
// counts the kept study rows stating its pair. The filters live in the address (#level=4&level=5&from=2015...), so
// a view can be shared. Without scripts the full map shows.
(function () {
  "use strict";
  var form = document.getElementById("map-filters");
  if (!form) { return; }
  var SVG = "http://www.w3.org/2000/svg";
  var LEVELS = [5, 4, 3, 2, 1];
  var NO_EFFECT = { no_effect: 1, negative: 1 };
  var MULTI = ["level", "design", "dir", "pop", "type", "pub"];
  var status = document.getElementById("map-status");
  var counter = document.getElementById("map-filter-count");
  var panel = form.querySelector("details");
  var data = null;
  var rows = [];
  var hasPairs = true;
  var loading = null;
  form.hidden = false;

  function load() {
    if (loading) { return loading; }
    loading = new Promise(function (resolve, reject) {
      var inline = document.getElementById("map-data");
      if (window.evidenceMapData) { resolve(window.evidenceMapData); return; }
      if (inline) { resolve(JSON.parse(inline.textContent)); return; }
      var script = document.createElement("script");
      script.src = form.dataset.src;
      script.onload = function () { if (window.evidenceMapData) { resolve(window.evidenceMapData); } else { reject(new Error("no data")); } };
      script.onerror = function () { reject(new Error("not found")); };
      document.head.appendChild(script);
    });
    status.textContent = "Loading the filters...";
    return loading.then(function (loaded) {
      data = loaded;
      rows = data.r || [];
      hasPairs = rows.length === 0 || rows[0].length > 7;
      if (!data.d) { hide("design"); }
      if (!data.dir) { hide("dir"); }
      update(false);
    }, function () {
      status.textContent = "The filters' data (map-data.js) could not be loaded: rebuild the site with evidence build.";
    });
  }

  function hide(name) {
    var set = form.querySelector("fieldset[data-filter='" + name + "']");
    if (set) { set.hidden = true; }
  }
  function isStudy(r) { return hasPairs ? r[10] === 1 : r[3] !== null && r[3] >= 1; }
  function pairsOf(r) {
    if (hasPairs) { return r[7]; }
    var out = [];
    r[0].forEach(function (i) { r[1].forEach(function (o) { out.push([i, o, -1]); }); });
    return out;
  }
  function state() {
    var f = { from: form.elements.from.value, to: form.elements.to.value };
    MULTI.forEach(function (name) {
      f[name] = {};
      form.querySelectorAll("input[name='" + name + "']:checked").forEach(function (box) { f[name][box.value] = 1; });
    });
    return f;
  }
  function empty(set) { return Object.keys(set).length === 0; }

  function keep(r, f) {
    if (!empty(f.level) && (r[3] === null || !f.level[String(r[3])])) { return false; }
    if (!empty(f.design) && data.d && !f.design[data.d[r[8]]]) { return false; }
    if (!empty(f.dir) && data.dir && !f.dir[data.dir[r[9]]]) { return false; }
    if (!empty(f.pop) && !r[2].some(function (n) { return f.pop[data.p[n]]; })) { return false; }
    if (!empty(f.type) && !f.type[data.t[r[6]]]) { return false; }
    if (!empty(f.pub) && !f.pub[data.pub[r[4]]]) { return false; }
    if (f.from && (!r[5] || r[5] < Number(f.from))) { return false; }
    if (f.to && (!r[5] || r[5] > Number(f.to))) { return false; }
    return true;
  }

  function bar(counts) {
    var total = LEVELS.reduce(function (s, l) { return s + counts[l]; }, 0);
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "bar");
    svg.setAttribute("viewBox", "0 0 " + Math.max(total, 1) + " 1");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var x = 0;
    LEVELS.forEach(function (l) {
      if (!counts[l]) { return; }
      var rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("class", "level-" + l);
      rect.setAttribute("x", String(x));
      rect.setAttribute("width", String(counts[l]));
      rect.setAttribute("height", "1");
      svg.appendChild(rect);
      x += counts[l];
    });
    return svg;
  }

  function span(cls, text, title) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    if (title) { s.title = title; }
    return s;
  }

  function describe(counts) {
    return LEVELS.filter(function (l) { return counts[l]; }).map(function (l) { return counts[l] + " at level " + l; }).join(", ");
  }

  function drawCell(td, counts, noEffect, filtered) {
    var n = LEVELS.reduce(function (s, l) { return s + counts[l]; }, 0);
    var strongest = LEVELS.filter(function (l) { return counts[l]; })[0];
    var holder = td.firstElementChild;
    var label = holder.querySelector(".o-label");
    var name = td.closest("tr").querySelector("th").textContent.trim() + " and " + label.textContent;
    holder.textContent = "";
    holder.appendChild(span("n", n ? String(n) : "–"));
    holder.appendChild(span("lv", n ? " (L" + strongest + ")" : ""));
    if (noEffect) { holder.appendChild(span("ne", " ⊘", "A study at level 2 or above reports no effect or negative findings")); }
    if (n && !counts[5]) { holder.appendChild(span("sg", " S", "Synthesis gap: studies but no systematic review")); }
    if (n) { holder.appendChild(bar(counts)); }
    holder.appendChild(label);
    var words = name + ": " + (n ? n + (n === 1 ? " study" : " studies") + " (" + describe(counts) + ")" : "no studies" + (filtered ? " match the filters" : "")) +
      (noEffect ? ", a study reports no effect or negative findings" : "") + (n && !counts[5] ? ", no systematic review" : "");
    holder.appendChild(span("vh cell-name", words));
    holder.title = words;
    td.className = n ? "level-" + strongest : "gap gap-absolute";
    td.dataset.levels = LEVELS.map(function (l) { return counts[l]; }).join(",");
  }

  function drawRow(tr, counts, noEffect) {
    var n = LEVELS.reduce(function (s, l) { return s + counts[l]; }, 0);
    tr.querySelector(".n").textContent = String(n);
    LEVELS.forEach(function (l) { tr.querySelector(".l" + l).textContent = String(counts[l]); });
    var notes = [];
    if (!n) { notes.push("gap"); }
    if (noEffect) { notes.push("no effect or negative findings reported"); }
    if (n && !counts[5]) { notes.push("no systematic review"); }
    tr.querySelector(".notes").textContent = notes.join("; ");
  }

  function described() {
    var parts = [];
    form.querySelectorAll("fieldset[data-filter]").forEach(function (set) {
      if (set.hidden) { return; }
      var chosen = [];
      set.querySelectorAll("input:checked").forEach(function (box) { chosen.push(box.parentNode.textContent.trim()); });
      set.querySelectorAll("select").forEach(function (select) {
        if (select.value) { chosen.push(select.parentNode.firstChild.textContent.trim().toLowerCase() + " " + select.value); }
      });
      if (chosen.length) { parts.push(set.querySelector("legend").textContent + ": " + chosen.join(", ")); }
    });
    return parts.join("; ");
  }

  function update(writeHash) {
    if (!data) { load(); return; }
    var f = state();
    var active = MULTI.reduce(function (s, name) { return s + Object.keys(f[name]).length; }, 0) + (f.from ? 1 : 0) + (f.to ? 1 : 0);
    var cells = {};
    var studies = 0;
    var kept = 0;
    rows.forEach(function (r) {
      if (!isStudy(r)) { return; }
      studies += 1;
      if (!keep(r, f)) { return; }
      kept += 1;
      var seen = {};
      pairsOf(r).forEach(function (pair) {
        var key = data.i[pair[0]] + "|" + data.o[pair[1]];
        if (seen[key]) { return; }
        seen[key] = 1;
        var cell = cells[key] || (cells[key] = { counts: { 5: 0, 4: 0, 3: 0, 2: 0, 1: 0 }, ne: false });
        cell.counts[r[3]] += 1;
        var direction = hasPairs ? (data.dir ? data.dir[pair[2]] : null) : null;
        if (r[3] >= 2 && direction && NO_EFFECT[direction]) { cell.ne = true; }
      });
    });
    var zero = { counts: { 5: 0, 4: 0, 3: 0, 2: 0, 1: 0 }, ne: false };
    document.querySelectorAll("#map td[data-i]").forEach(function (td) {
      var cell = cells[td.dataset.i + "|" + td.dataset.o] || zero;
      // without pair directions (older data), keep the page's own mark when nothing is filtered
      var ne = hasPairs ? cell.ne : (active === 0 && td.dataset.ne === "1");
      drawCell(td, cell.counts, ne, active > 0);
    });
    document.querySelectorAll("#map-cells tr[data-i]").forEach(function (tr) {
      var cell = cells[tr.dataset.i + "|" + tr.dataset.o] || zero;
      drawRow(tr, cell.counts, hasPairs ? cell.ne : (active === 0 && tr.querySelector(".notes").textContent.indexOf("no effect") >= 0));
    });
    counter.textContent = active ? "(" + active + " active)" : "";
    status.textContent = active ? kept + " of " + studies + " studies match the filters (" + described() + ")." : "All " + studies + " studies shown.";
    if (writeHash) {
      var params = new URLSearchParams();
      MULTI.forEach(function (name) { Object.keys(f[name]).forEach(function (v) { params.append(name, v); }); });
      if (f.from) { params.set("from", f.from); }
      if (f.to) { params.set("to", f.to); }
      var hash = params.toString();
      window.history.replaceState(null, "", window.location.pathname + window.location.search + (hash ? "#" + hash : ""));
    }
  }

  function readHash() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    var any = false;
    MULTI.forEach(function (name) {
      var wanted = params.getAll(name);
      form.querySelectorAll("input[name='" + name + "']").forEach(function (box) {
        box.checked = wanted.indexOf(box.value) >= 0;
        any = any || box.checked;
      });
    });
    ["from", "to"].forEach(function (name) {
      var value = params.get(name) || "";
      var select = form.elements[name];
      select.value = Array.prototype.some.call(select.options, function (o) { return o.value === value; }) ? value : "";
      any = any || select.value !== "";
    });
    return any;
  }

  form.addEventListener("change", function () { update(true); });
  form.addEventListener("reset", function () { window.setTimeout(function () { update(true); }, 0); });
  panel.addEventListener("toggle", function () { if (panel.open) { load(); } });
  window.addEventListener("hashchange", function () {
    if (window.location.hash.indexOf("=") < 0 && window.location.hash.length > 1) { return; }  // a jump to #map-key, not a view
    if (readHash() || data) { load().then(function () { update(false); }); }
  });
  if (readHash()) { load(); }  // a shared, filtered view: load the data at once
})();
