// A ZIM article's hub page: when a link inside the sandboxed frame leads to another article,
// the frame says so (zim-reporter.js); the page then shows that article's address and title,
// and counts a signed-in learner's visit. Without JavaScript the frame still works; only the
// first article is counted (by the server, when the page is served).
(function () {
  "use strict";
  var root = document.querySelector("article.zim");
  var frame = root && root.querySelector("iframe.zim-frame");
  if (!frame) return;
  var rawBase = root.getAttribute("data-raw-base");
  var readBase = root.getAttribute("data-read-base");
  var viewedUrl = root.getAttribute("data-viewed");
  var heading = root.querySelector(".zim-title");
  var alone = root.querySelector(".zim-alone");
  var shown = frame.getAttribute("src");

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.type !== "learnhub:zim" || typeof data.path !== "string") return;
    if (data.path.indexOf(rawBase) !== 0 || data.path === shown) return;
    shown = data.path;
    var entry = data.path.slice(rawBase.length);
    history.replaceState(null, "", readBase + entry);
    if (alone) alone.setAttribute("href", data.path);
    if (heading && typeof data.title === "string" && data.title) heading.textContent = data.title;
    if (!viewedUrl) return;
    var path;
    try {
      path = decodeURIComponent(entry);
    } catch (e) {
      return;
    }
    fetch(viewedUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ path: path }),
    }).catch(function () {});
  });
})();
