// /manage/ (templates/annotation/manage.html): the new project's slug shown only when
// "A new project" is chosen, the upload sent with a progress bar, and batches still
// processing followed until they are ready.
(function () {
  "use strict";

  function newProjectField(form) {
    var choice = form.querySelector("#id_project");
    var slug = form.querySelector("#id_new_project");
    if (!choice || !slug) return;
    var row = slug.closest("p") || slug;
    function show() {
      var wanted = choice.value === "+new";
      row.hidden = !wanted && !slug.value && !document.getElementById("id_new_project_error");
      slug.required = wanted;
    }
    choice.addEventListener("change", show);
    show();
  }

  function uploadWithProgress(form) {
    var box = form.querySelector("[data-upload-progress]");
    if (!box || !window.FormData || !window.XMLHttpRequest) return;
    var bar = box.querySelector("progress");
    var percent = box.querySelector("[data-upload-percent]");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.getAttribute("action") || window.location.pathname);
      request.upload.addEventListener("progress", function (progress) {
        if (!progress.lengthComputable) return;
        bar.value = progress.loaded / progress.total;
        percent.textContent = Math.round((100 * progress.loaded) / progress.total) + "%";
        if (progress.loaded === progress.total) percent.textContent = "100%: importing…";
      });
      request.addEventListener("load", function () {
        // The server's answer is a whole page (the import's page it redirected to, or the form
        // with the problems): show it as a normal submit would have.
        window.history.replaceState(null, "", request.responseURL || window.location.href);
        document.open();
        document.write(request.responseText);
        document.close();
      });
      request.addEventListener("error", function () {
        button.disabled = false;
        percent.textContent = "The upload did not reach the server (network error); nothing was imported. Try again.";
      });
      button.disabled = true;
      box.hidden = false;
      request.send(new FormData(form));
    });
  }

  function followProcessing() {
    var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-pending-batch]"));
    if (!rows.length) return;
    function poll() {
      var urls = {};
      rows.forEach(function (row) { urls[row.dataset.batchesUrl] = true; });
      Promise.all(Object.keys(urls).map(function (url) {
        return fetch(url + "?status=imported", { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (data) {
            if (!data) return;
            var pending = (data.results || data).map(function (batch) { return String(batch.id); });
            rows.filter(function (row) { return row.dataset.batchesUrl === url; }).forEach(function (row) {
              if (pending.indexOf(row.dataset.pendingBatch) === -1) {
                row.querySelector("[data-batch-status]").textContent = "Ready";
                row.removeAttribute("data-pending-batch");
              }
            });
          });
      })).catch(function () { return null; }).then(function () {
        rows = rows.filter(function (row) { return row.hasAttribute("data-pending-batch"); });
        if (rows.length) window.setTimeout(poll, 3000);
      });
    }
    window.setTimeout(poll, 3000);
  }

  function start() {
    var form = document.getElementById("upload-form");
    if (form) {
      newProjectField(form);
      uploadWithProgress(form);
    }
    followProcessing();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
