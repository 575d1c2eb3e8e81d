// Evidence map filters: recount every cell from the records embedded in the page. Without scripts the full map shows.
// Data layout (see publish/build.py): lists of ids and names, and one row per record:
// [intervention indexes, outcome indexes, population indexes, level or null, publisher index, year or 0, type index].
(function () {
  "use strict";
  var form = document.getElementById("map-filters");
  var dataNode = document.getElementById("map-data");
  if (!form || !dataNode) { return; }
  var data = JSON.parse(dataNode.textContent);
  form.hidden = false;
  var status = document.getElementById("map-status");

  function keep(r, f) {
    if (f.pub !== "" && data.pub[r[4]] !== f.pub) { return false; }
    if (f.from && (!r[5] || r[5] < Number(f.from))) { return false; }
    if (f.to && (!r[5] || r[5] > Number(f.to))) { return false; }
    if (f.level !== "" && (r[3] === null || r[3] < Number(f.level))) { return false; }
    if (f.pop && r[2].map(function (n) { return data.p[n]; }).indexOf(f.pop) < 0) { return false; }
    if (f.type && data.t[r[6]] !== f.type) { return false; }
    return true;
  }

  function update() {
    var f = { pub: form.pub.value, from: form.from.value, to: form.to.value, level: form.level.value, pop: form.pop.value, type: form.type.value };
    var kept = data.r.filter(function (r) { return keep(r, f); });
    var cells = {};
    kept.forEach(function (r) {
      r[0].forEach(function (i) {
        r[1].forEach(function (o) {
          var key = data.i[i] + "|" + data.o[o];
          cells[key] = (cells[key] || 0) + 1;
        });
      });
    });
    document.querySelectorAll("table.map td[data-i]").forEach(function (td) {
      var n = td.querySelector(".n");
      if (!n) { return; }
      var count = cells[td.dataset.i + "|" + td.dataset.o] || 0;
      n.textContent = String(count);
      td.classList.toggle("filtered-out", count === 0);
    });
    status.textContent = kept.length + " of " + data.r.length + " records match the filters.";
  }
  form.addEventListener("change", update);
  form.addEventListener("reset", function () { window.setTimeout(update, 0); });
  update();
})();
