// Uploads on the "own packs" pages (hub/web/views/authoring.py): each chosen file goes in
// pieces (PUT with Content-Range), so a large video survives a dropped Wi-Fi connection: the
// page asks where the upload stands and sends the rest. Choosing the same file again after a
// reload resumes it too (same name and size). An upload whose last answer was lost or refused
// (the hub busy) is not sent again: once the hub holds every byte the page only asks it to
// finish (POST), and a finish already done answers done. Without this script the form sends
// files whole.
"use strict";

(function () {
  var RETRIES = 30; // about five minutes of waiting for the Wi-Fi to come back

  function json(response) {
    // A body that is not JSON (a proxy's page) still fails with the answer's status.
    return response.json().catch(function () { return {}; }).then(function (body) {
      if (!response.ok) {
        var error = new Error((body.error && body.error.message) || response.statusText);
        error.status = response.status;
        error.received = response.headers.get("X-Received");
        throw error;
      }
      return body;
    });
  }

  function wait(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function start(form, file) {
    var body = new FormData();
    body.append("csrf_token", form.dataset.uploadToken);
    body.append("name", file.name);
    body.append("size", String(file.size));
    return fetch(form.dataset.uploadStart, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(json);
  }

  function put(form, url, file, from, piece) {
    var end = Math.min(from + piece, file.size);
    return fetch(url, {
      method: "PUT", body: file.slice(from, end), credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/octet-stream",
        "Content-Range": "bytes " + from + "-" + (end - 1) + "/" + file.size,
        "X-CSRF-Token": form.dataset.uploadToken
      }
    }).then(json);
  }

  function where(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(json);
  }

  function finish(form, url) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": form.dataset.uploadToken}
    }).then(json);
  }

  function send(form, file, bar, line) {
    var piece = parseInt(form.dataset.uploadPiece || "4194304", 10);
    return start(form, file).then(function (upload) {
      var url = form.dataset.uploadStart + "/" + upload.upload_id;
      var tries = 0;
      function shown(received) {
        bar.value = received;
        line.textContent = file.name + ": " + Math.floor(100 * received / file.size) + "%";
      }
      function from(received) {
        shown(received);
        // Every byte is there (the last answer was lost or refused): only ask to finish.
        var asked = received >= file.size ? finish(form, url) : put(form, url, file, received, piece);
        return asked.then(function (answer) {
          tries = 0;
          return answer.done ? answer : from(answer.received);
        }, function (error) { return again(error, received); });
      }
      function again(error, received) {
        if (error.status === 409 && error.received !== null) {
          return from(parseInt(error.received, 10));
        }
        var busy = error.status === 503;
        if ((error.status && !busy) || tries >= RETRIES) { throw error; }
        tries += 1; // the connection dropped or the hub is busy: ask where the upload stands
        line.textContent = file.name + ": " + (busy ? error.message : line.dataset.waiting);
        return wait(Math.min(1000 * tries, 10000)).then(function () { return where(url); })
          .then(function (answer) {
            return answer.done ? answer : from(answer.received);
          }, function (lost) {
            return lost.status ? Promise.reject(lost) : again(lost, received);
          });
      }
      return from(upload.received);
    });
  }

  function upload(form, event) {
    var input = form.querySelector("input[type=file]");
    var shown = form.querySelector(".upload-progress");
    if (!input || !input.files.length || !window.fetch) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    shown.textContent = "";
    var files = Array.prototype.slice.call(input.files);
    var job = null; // an imported file ends on its job's page, which follows the import
    var chain = Promise.resolve();
    files.forEach(function (file) {
      var line = document.createElement("p");
      line.dataset.waiting = shown.dataset.waiting || "…";
      var bar = document.createElement("progress");
      bar.max = file.size;
      bar.value = 0;
      shown.appendChild(line);
      shown.appendChild(bar);
      chain = chain.then(function () {
        return send(form, file, bar, line).then(function (answer) {
          bar.value = file.size;
          line.textContent = file.name + ": 100%";
          job = answer.job || job;
        });
      });
    });
    chain.then(function () {
      if (job) { window.location.assign(job); } else { window.location.reload(); }
    }, function (error) {
      var alert = document.createElement("p");
      alert.className = "alert";
      alert.setAttribute("role", "alert");
      alert.textContent = error.message;
      shown.appendChild(alert);
      button.disabled = false;
    });
  }

  document.querySelectorAll("form[data-upload-start]").forEach(function (form) {
    form.addEventListener("submit", function (event) { upload(form, event); });
  });
})();
