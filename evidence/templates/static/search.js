// Pagefind's UI with the catalogue's filters; the query comes from ?q= (the home page's search box).
(function () {
  "use strict";
  var node = document.getElementById("search");
  if (!node || typeof PagefindUI === "undefined") { return; }
  // Pagefind imports its bundle as a module: it needs a full URL, not a relative path.
  var bundle = new URL(node.dataset.bundle, window.location.href).href;
  var ui = new PagefindUI({ element: "#search", bundlePath: bundle, showSubResults: false, showImages: false, resetStyles: false });
  var label = document.createElement("label");
  label.textContent = "Search the records";
  label.className = "search-label";
  (function attachLabel(tries) {
    var input = node.querySelector("input.pagefind-ui__search-input");
    if (!input) { if (tries < 100) { window.setTimeout(function () { attachLabel(tries + 1); }, 50); } return; }
    input.id = "pagefind-search-input";
    label.htmlFor = input.id;
    node.parentNode.insertBefore(label, node);
  })(0);
  var q = new URLSearchParams(window.location.search).get("q");
  if (q) { ui.triggerSearch(q); }
})();
