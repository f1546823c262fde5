/* Composing a task: the search over the unit tree (hides units whose name does not match; a street
   stays when one of its communities matches), and choosing units switches the target to "chosen
   units". The count of receivers is asked of the server by htmx as the choice changes. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-compose]");
  if (!form) return;
  var search = form.querySelector("[data-unit-search]");
  if (search) {
    search.addEventListener("input", function () {
      var needle = search.value.trim();
      form.querySelectorAll(".tree > li").forEach(function (branch) {
        var any = false;
        branch.querySelectorAll("li[data-unit-name]").forEach(function (leaf) {
          var match = !needle || leaf.dataset.unitName.indexOf(needle) !== -1;
          leaf.hidden = !match;
          any = any || match;
        });
        var own = !needle || branch.dataset.unitName.indexOf(needle) !== -1;
        branch.hidden = !(own || any);
        if (own) branch.querySelectorAll("li[data-unit-name]").forEach(function (leaf) { leaf.hidden = false; });
      });
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "units" && event.target.checked) {
      var chosen = form.querySelector("input[name=scope][value=units]");
      if (chosen && !chosen.checked) {
        chosen.checked = true;
      }
    }
  }, true); // before htmx reads the form for the count
})();
