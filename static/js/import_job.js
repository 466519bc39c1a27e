// /manage/imports/<id>/: follow a queued or running import from its JSON endpoint,
// updating the status and counters, and reload once it ends (to show its outcome).
(function () {
  "use strict";
  var job = document.querySelector("section[data-job-url]");
  if (!job || (job.dataset.status !== "queued" && job.dataset.status !== "running")) { return; }
  var counters = [["files", "files_checked", "files_total"], ["images", "images_stored", "images_total"],
    ["rows", "rows_written", "rows_total"]];
  function show(state) {
    job.querySelector(".job-status").textContent = state.status;
    job.querySelector(".job-detail").textContent = state.detail;
    counters.forEach(function (counter) {
      var bar = job.querySelector(".job-" + counter[0]);
      bar.max = Math.max(1, state[counter[2]]);
      bar.value = state[counter[1]];
      job.querySelector(".job-" + counter[0] + "-count").textContent =
        state[counter[1]] + " of " + state[counter[2]];
    });
  }
  function poll() {
    fetch(job.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (state) {
          show(state);
          if (state.status !== "queued" && state.status !== "running") { window.location.reload(); return; }
        }
        window.setTimeout(poll, 1500);
      }, function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
