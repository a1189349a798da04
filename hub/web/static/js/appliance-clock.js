// A coach's or operator's device corrects the hub's clock when the hub is clearly behind
// (a Raspberry Pi has no battery clock). The hub decides; this only sends the device's time:
// on every visit to the operator page (which shows the answer), else at most once every ten
// minutes per browser tab.
(function () {
  "use strict";
  var KEY = "learnhub-clock-sent";
  var shown = document.getElementById("clock-result");
  var last = Number(sessionStorage.getItem(KEY) || 0);
  var now = Date.now();
  if (!shown && now - last < 10 * 60 * 1000 && now >= last) return;
  sessionStorage.setItem(KEY, String(now));
  fetch("/api/clock", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ browser_ms: now }),
  })
    .then(function (response) { return response.json(); })
    .then(function (answer) {
      var message = answer.message || (answer.error && answer.error.message);
      if (shown && message) shown.textContent = message;
    })
    .catch(function () { /* the hub answers next time */ });
})();
