// Evidence map filters: recount every cell from the records embedded in the page. Without scripts the full map shows.
(function () {
  "use strict";
  var form = document.getElementById("map-filters");
  var dataNode = document.getElementById("map-data");
  if (!form || !dataNode) { return; }
  var records = JSON.parse(dataNode.textContent);
  form.hidden = false;
  var status = document.getElementById("map-status");

  function keep(r, f) {
    if (f.pub && r.pub !== f.pub) { return false; }
    if (f.from && (!r.y || r.y < f.from)) { return false; }
    if (f.to && (!r.y || r.y > f.to)) { return false; }
    if (f.level !== "" && (r.l === null || r.l < Number(f.level))) { return false; }
    if (f.pop && r.p.indexOf(f.pop) < 0) { return false; }
    if (f.type && r.t !== f.type) { return false; }
    return true;
  }

  function update() {
    var f = { pub: form.pub.value, from: form.from.value, to: form.to.value, level: form.level.value, pop: form.pop.value, type: form.type.value };
    var kept = records.filter(function (r) { return keep(r, f); });
    var cells = {};
    kept.forEach(function (r) {
      r.i.forEach(function (i) {
        r.o.forEach(function (o) {
          var key = i + "|" + o;
          var c = cells[key] || (cells[key] = { n: 0, best: null });
          c.n += 1;
          if (r.l !== null && (c.best === null || r.l > c.best)) { c.best = r.l; }
        });
      });
    });
    document.querySelectorAll("table.map td[data-i]").forEach(function (td) {
      var c = cells[td.dataset.i + "|" + td.dataset.o];
      var n = td.querySelector(".n");
      if (!n) { return; }
      if (!td.dataset.total) { td.dataset.total = n.textContent; }
      n.textContent = c ? String(c.n) : "0";
      td.classList.toggle("filtered-out", !c);
    });
    status.textContent = kept.length + " of " + records.length + " records match the filters.";
  }
  form.addEventListener("change", update);
  form.addEventListener("reset", function () { window.setTimeout(update, 0); });
  update();
})();
