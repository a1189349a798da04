// The EPUB reader (inside the lesson page's frame, the hub's origin): epub.js shows the book a
// page at a time; the text size is adjustable; a right-to-left book turns right to left (epub.js
// reads the spine's page-progression-direction). The place and size are kept on this device;
// the share read and the place are told to the lesson page (progress.js) by postMessage, and
// the place kept on the hub for a signed-in learner comes back beside the frame (data-book-place).
// epub.js renders each chapter in an iframe without allow-scripts: a book's script never runs.
(function () {
  "use strict";
  var area = document.getElementById("book");
  var where = document.querySelector(".book-where");
  var key = "learnhub:book:" + area.getAttribute("data-key");
  var SIZES = [70, 85, 100, 115, 130, 150, 175, 200]; // per cent of the book's own size
  var size = SIZES.indexOf(Number(read(key + ":size")));
  if (size < 0) size = 2;

  function read(name) {
    try { return window.localStorage.getItem(name); } catch (e) { return null; }
  }

  function keep(name, value) {
    try { window.localStorage.setItem(name, value); } catch (e) { /* private mode: not kept */ }
  }

  var book = window.ePub(area.getAttribute("data-book"), { openAs: "epub" });
  var rendition = book.renderTo(area, {
    width: "100%",
    height: "100%",
    flow: "paginated",
    spread: "none",
    allowScriptedContent: false
  });
  rendition.themes.fontSize(SIZES[size] + "%");

  function share(location) {
    var total = book.spine.length || 1;
    var end = location.end || location.start;
    var shown = end.displayed || { page: 1, total: 1 };
    return Math.min(1, (end.index + shown.page / Math.max(1, shown.total)) / total);
  }

  rendition.on("relocated", function (location) {
    var fraction = share(location);
    keep(key, location.start.cfi);
    where.textContent = Math.round(fraction * 100) + "%";
    area.setAttribute("data-cfi", location.start.cfi);
    area.setAttribute("data-fraction", String(fraction));
    area.setAttribute("data-direction", book.package.metadata.direction || "ltr");
    // Ready once the first page is placed: epub.js reports the place after display() resolves.
    area.setAttribute("data-ready", "1");
    if (window.parent !== window) {
      window.parent.postMessage(
        { type: "learnhub:book", fraction: fraction, place: location.start.cfi },
        window.location.origin
      );
    }
  });

  // The lesson's main part is rendered once for every reader, so the learner's own place is
  // beside it in the lesson page, never in it.
  function fromHub() {
    try {
      var frame = window.frameElement;
      var kept = frame && frame.ownerDocument.querySelector("[data-book-place]");
      return (kept && kept.getAttribute("data-book-place")) || null;
    } catch (e) {
      return null;
    }
  }

  function turn(forward) {
    return forward ? rendition.next() : rendition.prev();
  }

  function resize(step) {
    size = Math.max(0, Math.min(SIZES.length - 1, size + step));
    keep(key + ":size", String(SIZES[size]));
    rendition.themes.fontSize(SIZES[size] + "%");
  }

  document.querySelector(".book-next").addEventListener("click", function () { turn(true); });
  document.querySelector(".book-prev").addEventListener("click", function () { turn(false); });
  document.querySelector(".book-larger").addEventListener("click", function () { resize(1); });
  document.querySelector(".book-smaller").addEventListener("click", function () { resize(-1); });

  // Arrow keys follow the page: in a right-to-left book the left arrow turns forward.
  function onKey(event) {
    var rtl = book.package && book.package.metadata.direction === "rtl";
    if (event.key === "ArrowRight") turn(!rtl);
    else if (event.key === "ArrowLeft") turn(rtl);
  }
  document.addEventListener("keyup", onKey);
  rendition.on("keyup", onKey);

  // The place kept on the hub (a signed-in learner, maybe from another device) wins over
  // this device's own; the lesson page framing the reader is the hub's, same origin.
  var saved = fromHub() || read(key);
  rendition.display(saved || undefined).then(null, function () {
    if (saved) return rendition.display();
    where.textContent = area.getAttribute("data-error");
  });
})();
