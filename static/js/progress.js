// The collection-progress page (templates/annotation/collection_progress.html): asks for
// new figures every data-refresh-seconds and puts them in place, without a reload.
(function () {
  "use strict";

  function fill(section, data) {
    Object.keys(data.figures).forEach(function (name) {
      section.querySelectorAll('[data-figure="' + name + '"]').forEach(function (node) {
        node.textContent = data.figures[name];
      });
    });
    var chart = document.querySelector("[data-chart]");
    if (chart && data.chart) {
      // The chart is SVG markup built and escaped by the server (core/charts.py).
      chart.innerHTML = data.chart;
    }
    data.batches.forEach(function (row) {
      var line = document.querySelector('tr[data-batch="' + row.id + '"]');
      if (!line) return;
      ["collected", "wanted", "complete", "share"].forEach(function (key) {
        var cell = line.querySelector('[data-cell="' + key + '"]');
        if (cell) cell.textContent = String(row[key]);
      });
    });
    document.querySelectorAll("[data-computed-at]").forEach(function (node) {
      node.textContent = data.computed_at;
    });
  }

  function start() {
    var section = document.getElementById("collection");
    if (!section) return;
    var url = section.dataset.progressUrl;
    var seconds = Number(section.dataset.refreshSeconds) || 15;
    var error = section.querySelector("[data-progress-error]");

    function refresh() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          fill(section, data);
          error.hidden = true;
        })
        .catch(function () {
          error.hidden = false;
        })
        .finally(function () {
          window.setTimeout(refresh, seconds * 1000);
        });
    }
    window.setTimeout(refresh, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
