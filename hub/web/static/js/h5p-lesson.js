// The lesson page around an H5P activity (the hub's origin). The activity runs in a sandboxed,
// opaque-origin frame and speaks only by postMessage; what it says is checked here (the frame
// it comes from, the shape, every number in range) before the result is posted to the hub.
(function () {
  "use strict";
  var frame = document.querySelector("iframe.h5p-frame");
  if (!frame || !window.fetch) return;
  var resultUrl = frame.getAttribute("data-result"); // only for a signed-in learner
  var MAX_POINTS = 10000; // as the hub checks (hub/learning/h5p_results.py)
  var MIN_HEIGHT = 240;
  var MAX_HEIGHT = 8000;

  function finite(value) {
    return typeof value === "number" && isFinite(value);
  }

  function resize(height) {
    if (!finite(height)) return;
    frame.style.height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Math.ceil(height))) + "px";
  }

  function valid(data) {
    if (data.score === null && data.max === null) return true; // completed, without a score
    return finite(data.max) && data.max > 0 && data.max <= MAX_POINTS &&
      finite(data.score) && data.score >= 0 && data.score <= data.max;
  }

  function record(data) {
    if (!resultUrl || !valid(data)) return;
    var body = { success: data.success === true };
    if (data.max !== null) {
      body.score = data.score;
      body.max = data.max;
    }
    fetch(resultUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin"
    }).then(function (response) {
      if (response.ok) frame.setAttribute("data-recorded", String(Number(frame.getAttribute("data-recorded") || 0) + 1));
    });
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    // Only the activity's own frame, and only while it is the sandboxed (opaque) one.
    if (event.source !== frame.contentWindow || event.origin !== "null") return;
    if (!data || typeof data !== "object") return;
    if (data.type === "learnhub:h5p-size") resize(data.height);
    else if (data.type === "learnhub:h5p-result") record(data);
  });
})();
