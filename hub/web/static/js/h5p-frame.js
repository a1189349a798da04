// Runs inside the H5P player's sandboxed frame (an opaque origin): starts the vendored
// h5p-standalone player on this lesson's package and tells the page around it, by postMessage
// only, the activity's results (xAPI "answered"/"completed" of the activity itself) and its
// height. It cannot reach the hub's API: the page around it checks and records the result.
(function () {
  "use strict";
  // An opaque origin has no storage: reading window.localStorage throws, and H5P reads it.
  // A page-long memory store stands in (H5P keeps only its own settings there).
  try {
    void window.localStorage;
  } catch (e) {
    var kept = {};
    Object.defineProperty(window, "localStorage", {
      configurable: true,
      value: {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(kept, k) ? kept[k] : null; },
        setItem: function (k, v) { kept[k] = String(v); },
        removeItem: function (k) { delete kept[k]; }
      }
    });
  }
  document.addEventListener("DOMContentLoaded", start);

  function start() {
  var root = document.getElementById("h5p-container");
  var parentOrigin = root.getAttribute("data-parent-origin");

  function tell(message) {
    window.parent.postMessage(message, parentOrigin);
  }

  function onStatement(event) {
    var statement = event.data && event.data.statement;
    if (!statement || !statement.verb || !statement.object) return;
    var verb = String(statement.verb.id || "");
    var extensions = (statement.object.definition || {}).extensions || {};
    // A question inside a set reports too; only the activity as a whole counts.
    if (extensions["http://h5p.org/x-api/h5p-subContentId"]) return;
    if (!/\/(answered|completed)$/.test(verb)) return;
    var result = statement.result || {};
    var score = result.score || {};
    tell({
      type: "learnhub:h5p-result",
      score: typeof score.raw === "number" ? score.raw : null,
      max: typeof score.max === "number" ? score.max : null,
      success: result.success === true
    });
  }

  function reportHeight() {
    tell({ type: "learnhub:h5p-size", height: document.documentElement.scrollHeight });
  }

  new H5PStandalone.H5P(root, {
    h5pJsonPath: root.getAttribute("data-base"),
    frameJs: root.getAttribute("data-frame-js"),
    frameCss: root.getAttribute("data-frame-css"),
    embedType: "div", // this page is already the sandboxed frame: no frame inside it
    frame: false,
    copyright: false,
    export: false,
    icon: false,
    fullScreen: false
  }).then(function () {
    window.H5P.externalDispatcher.on("xAPI", onStatement);
    root.setAttribute("data-ready", "1");
    reportHeight();
    if (window.ResizeObserver) new ResizeObserver(reportHeight).observe(document.body);
  });
  }
})();
