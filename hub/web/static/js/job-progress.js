// Follows a long job on its page (hub/web/templates/jobs/_progress.html): asks
// /api/jobs/<id> every second and moves the line and the bar; once the job has finished the
// page is loaded again to show its outcome. Without this script the page refreshes itself.
"use strict";

(function () {
  var box = document.getElementById("job");
  if (!box || box.dataset.finished === "yes" || !window.fetch) { return; }
  var line = box.querySelector(".job-line");
  var bar = box.querySelector("progress");
  var wait = 1000;

  function show(job) {
    line.textContent = job.line;
    bar.max = Math.max(job.total, 1);
    bar.value = job.total ? job.done : 0;
    box.dataset.state = job.state;
  }

  function poll() {
    fetch(box.dataset.job, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.statusText); }
        return response.json();
      })
      .then(function (job) {
        wait = 1000;
        if (job.finished) { window.location.reload(); return; }
        show(job);
        setTimeout(poll, wait);
      }, function () {
        wait = Math.min(wait * 2, 10000); // the Wi-Fi dropped or the hub restarts: ask less often
        setTimeout(poll, wait);
      });
  }

  setTimeout(poll, wait);
})();
