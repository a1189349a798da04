// The hub's only script inside a pack's reading. The reading runs in a sandboxed frame with
// an opaque origin, and its CSP allows this one file and nothing else, so the pack's own
// scripts stay off. It tells the lesson page how tall the reading is and how far down it has
// been seen, and nothing more: the page decides what counts as read.
(function () {
  "use strict";
  if (window.parent === window) return; // opened on its own page: nobody to tell
  var WAIT = 500; // ms between messages while scrolling
  var best = 0;
  var sent = -1;
  var timer = 0;

  function seenFraction() {
    var doc = document.documentElement;
    var height = Math.max(doc.scrollHeight, document.body ? document.body.scrollHeight : 0);
    if (!height) return 0;
    var bottom = (window.scrollY || doc.scrollTop || 0) + window.innerHeight;
    return Math.min(1, bottom / height);
  }

  function report() {
    timer = 0;
    best = Math.max(best, seenFraction());
    var fraction = Math.round(best * 1000) / 1000;
    if (fraction === sent) return;
    sent = fraction;
    // "*": the parent's origin cannot be named from an opaque origin, and a fraction is no secret.
    window.parent.postMessage({ type: "learnhub:scroll", fraction: fraction }, "*");
  }

  // The reading's height, so the lesson page can size the frame to it and the page scrolls,
  // not a box inside it (lesson-frame.js).
  function tellHeight() {
    var doc = document.documentElement;
    var height = Math.max(doc.scrollHeight, document.body ? document.body.scrollHeight : 0);
    window.parent.postMessage({ type: "learnhub:height", height: height }, "*");
  }

  function soon() {
    if (!timer) timer = setTimeout(report, WAIT);
  }

  function start() {
    tellHeight();
    report();
    window.addEventListener("resize", tellHeight);
    window.addEventListener("scroll", soon, { passive: true });
    window.addEventListener("resize", soon);
  }

  // Before images load the page is shorter than it will be: measure once it is complete.
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
})();
