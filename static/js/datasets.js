// /datasets/: follow queued and running exports until they finish, then reload once.
(function () {
  "use strict";
  var rows = document.querySelectorAll("tr[data-export-url]");
  var open = Array.prototype.filter.call(rows, function (row) {
    return row.dataset.status === "queued" || row.dataset.status === "running";
  });
  if (!open.length) { return; }
  function poll() {
    Promise.all(open.map(function (row) {
      return fetch(row.dataset.exportUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (snapshot) {
          if (!snapshot) { return false; }
          row.querySelector(".export-status").textContent = snapshot.status;
          row.querySelector(".export-progress").value = snapshot.progress;
          return snapshot.status === "done" || snapshot.status === "failed";
        });
    })).then(function (finished) {
      if (finished.some(Boolean)) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
    });
  }
  window.setTimeout(poll, 2000);
})();
