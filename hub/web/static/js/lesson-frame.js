// A reading fills the lesson page: its frame takes the height the reading says it has
// (article-reporter.js, inside the sandboxed frame), so the page scrolls as one and nothing
// hides below a box's fold. Only messages from that frame are heard, and the height is
// bounded. Without JavaScript the frame keeps its CSS height (most of the screen).
(function () {
  "use strict";
  var frame = document.querySelector(".lesson-article iframe.frame");
  if (!frame) return;
  var MOST = 100000; // px
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.source !== frame.contentWindow || !data || data.type !== "learnhub:height") return;
    var height = Number(data.height);
    if (!(height > 0)) return;
    frame.style.height = Math.min(MOST, Math.ceil(height) + 2) + "px";
    frame.setAttribute("scrolling", "no");
    frame.setAttribute("data-sized", "1"); // progress.js then reads the page's scroll instead
  });
})();
