// Pagefind's UI with the catalogue's filters; the query comes from ?q= (the home page's search box).
(function () {
  "use strict";
  var node = document.getElementById("search");
  if (!node || typeof PagefindUI === "undefined") { return; }
  var ui = new PagefindUI({ element: "#search", bundlePath: node.dataset.bundle, showSubResults: false, showImages: false,
                            resetStyles: false });
  var q = new URLSearchParams(window.location.search).get("q");
  if (q) { ui.triggerSearch(q); }
})();
