// Search over the Pagefind index (see publish/search.py): the query and the ticked filters live in the URL
// (?q=...&f=Key:Value), so a search can be shared. Opened from disk, it says at once how to serve the site.
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  if (!form) { return; }
  var input = document.getElementById("search-q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var more = document.getElementById("search-more");
  var filterBox = document.getElementById("search-filters");
  var FIRST = ["Study design", "Evidence level", "Direction of findings", "Population"];
  var LATER = ["Intervention", "Outcome", "Publisher", "Year", "Document type"];
  var PAGE = 20;
  var params = new URLSearchParams(window.location.search);
  input.value = params.get("q") || "";

  function say(text) { status.textContent = text; }

  if (window.location.protocol === "file:") {
    var note = document.getElementById("search-offline");
    status.textContent = "";
    status.appendChild(note.content.cloneNode(true));
    form.querySelector("button[type=submit]").disabled = true;
    return;
  }

  // Pagefind's excerpt is HTML with <mark> around the matched words: rebuild it from text nodes and marks only.
  function excerpt(html) {
    var doc = new DOMParser().parseFromString("<p>" + html + "</p>", "text/html");
    var out = document.createElement("p");
    out.className = "excerpt";
    doc.body.firstChild.childNodes.forEach(function (node) {
      if (node.nodeName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        out.appendChild(mark);
      } else {
        out.appendChild(document.createTextNode(node.textContent));
      }
    });
    return out;
  }

  function card(data, site) {
    var li = document.createElement("li");
    li.className = "result";
    var h = document.createElement("h2");
    var a = document.createElement("a");
    a.href = new URL(data.url.replace(/^\//, ""), site).href;
    a.textContent = data.meta.title || data.url;
    h.appendChild(a);
    li.appendChild(h);
    var facts = document.createElement("p");
    facts.className = "meta";
    [["year", "Year"], ["publisher", "Publisher"], ["level", "Evidence level"], ["design", "Design"], ["direction", "Findings"]].forEach(function (pair) {
      if (!data.meta[pair[0]]) { return; }
      var span = document.createElement("span");
      span.className = "fact";
      var label = document.createElement("span");
      label.className = "fact-label";
      label.textContent = pair[1] + ": ";
      span.appendChild(label);
      span.appendChild(document.createTextNode(data.meta[pair[0]]));
      facts.appendChild(span);
    });
    li.appendChild(facts);
    li.appendChild(excerpt(data.excerpt || ""));
    return li;
  }

  function chosen() {
    var filters = {};
    filterBox.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      (filters[box.name] = filters[box.name] || []).push(box.value);
    });
    return filters;
  }

  function drawFilters(available, ticked) {
    filterBox.textContent = "";
    function group(key, parent) {
      var values = available[key];
      if (!values || !Object.keys(values).length) { return; }
      var set = document.createElement("fieldset");
      var legend = document.createElement("legend");
      legend.textContent = key;
      set.appendChild(legend);
      var names = Object.keys(values).sort();
      if (key === "Evidence level" || key === "Year") { names.reverse(); }
      names.forEach(function (value) {
        var label = document.createElement("label");
        var box = document.createElement("input");
        box.type = "checkbox";
        box.name = key;
        box.value = value;
        box.checked = (ticked[key] || []).indexOf(value) >= 0;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + value + " (" + values[value] + ")"));
        set.appendChild(label);
      });
      parent.appendChild(set);
    }
    FIRST.forEach(function (key) { group(key, filterBox); });
    var details = document.createElement("details");
    var summary = document.createElement("summary");
    summary.textContent = "More filters: intervention, outcome, publisher, year, document type";
    details.appendChild(summary);
    LATER.forEach(function (key) { group(key, details); });
    if (LATER.some(function (key) { return (ticked[key] || []).length; })) { details.open = true; }
    filterBox.appendChild(details);
    filterBox.hidden = false;
  }

  function toUrl(q, filters) {
    var next = new URLSearchParams();
    if (q) { next.set("q", q); }
    Object.keys(filters).forEach(function (key) { filters[key].forEach(function (v) { next.append("f", key + ":" + v); }); });
    var query = next.toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  }

  function fromUrl() {
    var filters = {};
    params.getAll("f").forEach(function (pair) {
      var at = pair.indexOf(":");
      if (at > 0) { (filters[pair.slice(0, at)] = filters[pair.slice(0, at)] || []).push(pair.slice(at + 1)); }
    });
    return filters;
  }

  var bundle = new URL(form.dataset.bundle, window.location.href).href;
  var site = new URL(form.dataset.bundle + "../", window.location.href).href;
  say("Loading the search index...");
  import(bundle + "pagefind.js").then(function (pagefind) {
    return pagefind.options({ bundlePath: bundle, baseUrl: "/" }).then(function () { return pagefind; });
  }).then(function (pagefind) {
    var shown = [];
    var results = [];
    var token = 0;
    function showMore() {
      var next = results.slice(shown.length, shown.length + PAGE);
      return Promise.all(next.map(function (r) { return r.data(); })).then(function (items) {
        items.forEach(function (data) { shown.push(data); list.appendChild(card(data, site)); });
        more.hidden = shown.length >= results.length;
      });
    }
    function run() {
      var q = input.value.trim();
      var filters = chosen();
      var any = Object.keys(filters).length > 0;
      toUrl(q, filters);
      var mine = ++token;
      if (!q && !any) {
        list.textContent = "";
        more.hidden = true;
        say("Type a word or tick a filter to search the records.");
        return Promise.resolve();
      }
      say("Searching...");
      var wanted = {};
      Object.keys(filters).forEach(function (key) { wanted[key] = { any: filters[key] }; });
      return pagefind.search(q || null, { filters: wanted }).then(function (search) {
        if (mine !== token) { return; }
        results = search.results;
        shown = [];
        list.textContent = "";
        return showMore().then(function () {
          say(results.length === 0 ? "No records match." : results.length + (results.length === 1 ? " record matches." : " records match."));
        });
      });
    }
    return pagefind.filters().then(function (available) {
      drawFilters(available, fromUrl());
      form.addEventListener("submit", function (event) { event.preventDefault(); run(); });
      filterBox.addEventListener("change", function () { run(); });
      var typing = 0;
      input.addEventListener("input", function () { window.clearTimeout(typing); typing = window.setTimeout(run, 300); });
      more.addEventListener("click", function () { showMore(); });
      return run();
    });
  }).catch(function () {
    say("The search index could not be loaded: the site may have been built with --no-search. Browse all records or the evidence map instead.");
  });
})();
