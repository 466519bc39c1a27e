// /benchmarks/: sort the results table by a column, with its header's button (each click
// flips between descending and ascending; aria-sort says the current order) or, on a
// phone where the table is one card per row, with the "Sort by" list built here.
(function () {
  "use strict";
  var table = document.getElementById("benchmark-results");
  if (!table) { return; }
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var chooser = document.getElementById("benchmark-sort");

  function value(row, index, type) {
    var cell = row.cells[index];
    var text = cell.getAttribute("data-sort-value") || cell.textContent;
    return type === "number" ? parseFloat(text) : text.toLowerCase();
  }

  function sortBy(index, type, descending) {
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
    headers[index].setAttribute("aria-sort", descending ? "descending" : "ascending");
    if (chooser) { chooser.value = index + (descending ? ":descending" : ":ascending"); }
  }

  headers.forEach(function (header, index) {
    var button = header.querySelector("button.sort");
    if (!button) { return; }
    var type = button.getAttribute("data-sort-type");
    button.addEventListener("click", function () {
      sortBy(index, type, header.getAttribute("aria-sort") !== "descending");
    });
    if (chooser) {
      ["descending", "ascending"].forEach(function (order) {
        var option = document.createElement("option");
        var high = type === "number" ? (order === "descending" ? "highest first" : "lowest first")
          : (order === "descending" ? "Z to A" : "A to Z");
        option.value = index + ":" + order;
        option.textContent = button.textContent + ", " + high;
        option.selected = header.getAttribute("aria-sort") === order;
        chooser.appendChild(option);
      });
    }
  });
  if (chooser) {
    chooser.addEventListener("change", function () {
      var parts = chooser.value.split(":");
      var index = parseInt(parts[0], 10);
      var type = headers[index].querySelector("button.sort").getAttribute("data-sort-type");
      sortBy(index, type, parts[1] === "descending");
    });
  }
})();
