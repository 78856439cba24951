// Guide index: filter the items as the visitor types (name, keywords, audience, department).
(function () {
  "use strict";
  var q = document.getElementById("q");
  if (!q) return;
  var filter = function () {
    var words = q.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var any = false;
    document.querySelectorAll("[data-dept]").forEach(function (sec) {
      var shown = 0;
      sec.querySelectorAll("[data-search]").forEach(function (li) {
        var hay = li.dataset.search;
        var ok = words.every(function (w) { return hay.indexOf(w) >= 0; });
        li.classList.toggle("hidden", !ok);
        if (ok) shown++;
      });
      sec.classList.toggle("hidden", shown === 0);
      if (shown) any = true;
    });
    document.getElementById("no-match").classList.toggle("hidden", any);
  };
  q.addEventListener("input", filter);
  filter();
})();
