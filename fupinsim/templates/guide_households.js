/* The county guide's household pages: one village at a time (selector, previous / next), a
   search box over every village. Written without "<" and "&" so that the page stays
   well-formed XML. Without scripts (or printed) every village shows. */
(function () {
  var pages = Array.prototype.slice.call(document.querySelectorAll("section.hh-village"));
  var search = document.getElementById("hh-search");
  var select = document.getElementById("hh-village");
  var count = document.getElementById("hh-count");
  if (!search || !select) { return; }
  function show() {
    var query = search.value.trim().toLowerCase();
    var all = select.value === "all";
    var shown = 0;
    pages.forEach(function (page, index) {
      var hits = 0;
      Array.prototype.forEach.call(page.querySelectorAll("tbody tr"), function (row) {
        var hit = !query || row.textContent.toLowerCase().indexOf(query) !== -1;
        row.hidden = !hit;
        if (hit) { hits += 1; }
      });
      var visible = query ? hits > 0 : (all || String(index) === select.value);
      page.hidden = !visible;
      if (visible) { shown += hits; }
    });
    count.textContent = shown + " 户 households shown";
  }
  function step(by) {
    var last = select.options.length - 1;
    select.selectedIndex = Math.min(Math.max(select.selectedIndex + by, 1), last);
    search.value = "";
    show();
  }
  search.addEventListener("input", show);
  select.addEventListener("change", show);
  document.getElementById("hh-prev").addEventListener("click", function () { step(-1); });
  document.getElementById("hh-next").addEventListener("click", function () { step(1); });
  show();
})();
