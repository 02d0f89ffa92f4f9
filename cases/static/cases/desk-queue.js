/* The desk's queue: filters apply as they change; the grid list follows the chosen street. */
(function () {
  "use strict";
  var form = document.getElementById("queue-filters");
  if (!form) return;
  var street = document.getElementById("f-street");
  var grid = document.getElementById("f-grid");
  function syncGrids() {
    var code = street.value;
    Array.prototype.forEach.call(grid.options, function (option) {
      if (!option.value) return;
      option.hidden = !!code && option.dataset.street !== code;
    });
    if (grid.selectedOptions.length && grid.selectedOptions[0].hidden) grid.value = "";
  }
  street.addEventListener("change", syncGrids);
  syncGrids();
  form.querySelectorAll("select").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select === street) syncGrids();
      form.submit();
    });
  });
  document.documentElement.setAttribute("data-ready-desk", "1");
})();
