// The hub's only script inside a ZIM's article. The article runs in a sandboxed frame with an
// opaque origin; this tells the hub page around it which article the frame now shows (after
// a link inside the article was followed), so the page's address, title and the learner's
// progress follow. It sends the frame's own path and title, nothing else.
(function () {
  "use strict";
  if (window.parent === window) return; // opened on its own page: nobody to tell
  // "*": the parent's origin cannot be named from an opaque origin; a path is no secret.
  window.parent.postMessage(
    { type: "learnhub:zim", path: window.location.pathname, title: document.title },
    "*"
  );
})();
