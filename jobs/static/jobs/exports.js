/* The exports page: queue a job, follow its progress while the worker writes the file, then download it. */
(function () {
  "use strict";
  var t = Grid.t, api = Grid.api, esc = Grid.escapeHtml;
  var list = document.getElementById("export-jobs");
  var errorBox = document.getElementById("export-error");
  var timer = null;

  function line(job) {
    var percent = job.percent === null ? 0 : job.percent;
    var rows = job.rows_total === null ? "" : " · " + job.rows_done + " / " + job.rows_total + " " + t("rows");
    var link = job.download ? ' <a class="export-download" href="' + esc(job.download) + '">' + esc(t("download")) + "</a>" : "";
    var error = job.error ? '<div class="export-job-error">' + esc(job.error) + "</div>" : "";
    return '<li class="export-job" data-state="' + esc(job.state) + '" data-id="' + esc(job.id) + '">' +
      "<div><strong>" + esc(job.layer) + "." + esc(job.format) + "</strong> " +
      '<span class="export-state">' + esc(job.state_label) + "</span>" + esc(rows) + link + "</div>" +
      '<progress max="100" value="' + percent + '"></progress>' + error + "</li>";
  }

  function refresh() {
    return api("/api/v1/export-jobs").then(function (jobs) {
      list.innerHTML = jobs.length ? jobs.map(line).join("") : "<li>" + esc(t("none")) + "</li>";
      var busy = jobs.some(function (job) { return job.state === "queued" || job.state === "running"; });
      clearTimeout(timer);
      if (busy) timer = setTimeout(refresh, 1000);
    });
  }

  document.getElementById("export-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target, button = document.getElementById("export-start");
    var street = form.street.value.trim();
    errorBox.hidden = true;
    button.disabled = true;
    api("/api/v1/export-jobs", {
      method: "POST",
      body: { layer: form.layer.value, format: form.format.value, filters: street ? { street: street } : {} },
    }).then(refresh, function (error) {
      errorBox.textContent = error.message;
      errorBox.hidden = false;
    }).then(function () { button.disabled = false; });
  });

  refresh();
})();
