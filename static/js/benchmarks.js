// /benchmarks/: sort the results table by a column (its header's button), each click
// flipping between descending and ascending; aria-sort says the current order.
(function () {
  "use strict";
  var table = document.getElementById("benchmark-results");
  if (!table) { return; }
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function value(row, index, type) {
    var text = row.cells[index].getAttribute("data-sort-value") || row.cells[index].textContent;
    return type === "number" ? parseFloat(text) : text.toLowerCase();
  }
  headers.forEach(function (header, index) {
    var button = header.querySelector("button.sort");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var type = button.getAttribute("data-sort-type");
      var descending = header.getAttribute("aria-sort") !== "descending";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = value(a, index, type), y = value(b, index, type);
        var order = x < y ? -1 : x > y ? 1 : 0;
        return descending ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      headers.forEach(function (other) {
        if (other.hasAttribute("aria-sort")) { other.setAttribute("aria-sort", "none"); }
      });
      header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    });
  });
})();
