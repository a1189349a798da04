// Follows a long job on its page (hub/web/templates/jobs/_progress.html): asks the job's JSON
// (data-job) every second and moves the line and the bar; once the job has finished its
// outcome replaces them in place, as the page would show it. Without this script the page
// refreshes itself.
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

  function ended(job) {
    var refused = job.state === "refused";
    var first = document.createElement("p");
    first.className = refused ? "job-line alert" : "job-line";
    first.setAttribute("role", refused ? "alert" : "status");
    first.textContent = job.outcome[0] || "";
    box.textContent = "";
    box.appendChild(first);
    if (job.outcome.length > 1) {
      var list = document.createElement("ul");
      list.className = "outcomes";
      job.outcome.slice(1).forEach(function (text) {
        var item = document.createElement("li");
        item.textContent = text;
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    box.dataset.state = job.state;
    box.dataset.finished = "yes";
  }

  function poll() {
    fetch(box.dataset.job, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.statusText); }
        return response.json();
      })
      .then(function (job) {
        wait = 1000;
        if (job.finished) { ended(job); return; }
        show(job);
        setTimeout(poll, wait);
      }, function () {
        wait = Math.min(wait * 2, 10000); // the Wi-Fi dropped or the hub restarts: ask less often
        setTimeout(poll, wait);
      });
  }

  setTimeout(poll, wait);
})();
