// Tells the hub how far a signed-in learner got in a lesson: the share of a video or
// recording played, how far a reading was scrolled, which PDF pages were seen, a picture
// looked at, and the time spent. Only on pages marked <article data-track> (learners); without
// JavaScript the server has already counted the view, and nothing here is needed for the
// lesson itself. Plain ES5 so old phone browsers run it too.
(function () {
  "use strict";
  var root = document.querySelector("article[data-track]");
  if (!root || !window.fetch) return;

  var BEAT = 5000; // ms: time is counted in beats...
  var BEATS_PER_REPORT = 3; // ...and reported about every 15 s while the page is visible
  var IDLE_AFTER = 120000; // ms without input (and nothing playing) stop counting as study
  var COMPLETE_AT = 0.9; // share played, scrolled or paged through that completes a lesson

  var kind = root.getAttribute("data-kind");
  var lesson = { pack_id: root.getAttribute("data-pack"), lesson_id: root.getAttribute("data-lesson") };
  var url = root.getAttribute("data-report");
  var state = { fraction: 0, position: null, done: false, stopped: false };
  var sent = { fraction: -1, position: null };
  var pendingMs = 0; // study time not yet reported (a delta: the server sums)
  var lastBeat = Date.now();
  var lastInput = Date.now();
  var beats = 0;
  var media = root.querySelector("video, audio");

  function visible() {
    return document.visibilityState !== "hidden";
  }

  function playing() {
    return !!media && !media.paused && !media.ended;
  }

  function beat() {
    var now = Date.now();
    var busy = kind === "app" || playing() || now - lastInput < IDLE_AFTER;
    if (visible() && busy) {
      var step = Math.max(0, Math.min(now - lastBeat, 2 * BEAT)); // a sleeping phone is no study
      pendingMs += step;
    }
    lastBeat = now;
  }

  function changed() {
    return pendingMs >= 1000 || state.fraction > sent.fraction || state.position !== sent.position;
  }

  function post(type, keepalive) {
    var ms = pendingMs;
    var body = {
      pack_id: lesson.pack_id,
      lesson_id: lesson.lesson_id,
      type: type,
      progress: Math.round(state.fraction * 10000) / 10000,
      time_spent: Math.round(ms / 100) / 10,
    };
    if (state.position !== null) body.position = state.position;
    pendingMs -= ms;
    sent.fraction = state.fraction;
    sent.position = state.position;
    var giveBack = function () {
      pendingMs += ms; // not recorded: count this time again in the next report
      sent.fraction = -1;
      if (type === "completed") state.done = false;
    };
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      keepalive: keepalive
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) state.stopped = true; // signed out
      else if (response.status >= 500 || response.status === 429) giveBack();
      else if (type === "completed") finished();
    }, giveBack);
  }

  // The lesson is done: say so, and offer the next one (rendered hidden by lesson.html).
  function finished() {
    var shown = document.querySelectorAll(".done-note, .onward");
    for (var i = 0; i < shown.length; i++) shown[i].hidden = false;
  }

  function report(keepalive) {
    beat();
    if (state.stopped || !changed()) return;
    post("progress", keepalive);
  }

  function advance(fraction, position) {
    if (typeof fraction !== "number" || !isFinite(fraction)) return;
    state.fraction = Math.max(state.fraction, Math.min(1, Math.max(0, fraction)));
    if (position !== undefined) state.position = position;
    if (!state.done && !state.stopped && state.fraction >= COMPLETE_AT) {
      state.done = true;
      beat();
      post("completed", false);
    }
  }

  // Video and audio: the union of the stretches played (TimeRanges), over the length.
  function played(el) {
    var total = 0;
    for (var i = 0; i < el.played.length; i++) total += el.played.end(i) - el.played.start(i);
    return el.duration > 0 && isFinite(el.duration) ? total / el.duration : 0;
  }

  function trackMedia(el) {
    var update = function () {
      advance(played(el), Math.round(el.currentTime * 10) / 10);
    };
    el.addEventListener("timeupdate", update);
    el.addEventListener("play", function () {
      lastInput = Date.now();
    });
    el.addEventListener("pause", function () {
      update();
      report(false);
    });
    el.addEventListener("ended", update);
  }

  // PDF: the viewer says which page was seen; distinct pages over all pages.
  function trackPdf(viewer) {
    var seen = {};
    var count = 0;
    viewer.addEventListener("pdf:pageview", function (event) {
      var d = event.detail || {};
      if (!(d.page >= 1 && d.pages >= d.page)) return;
      if (!seen[d.page]) count++;
      seen[d.page] = true;
      lastInput = Date.now();
      advance(count / d.pages, d.page);
    });
  }

  // A reading: only the hub's reporter inside the reading's frame is listened to. Once the
  // frame is sized to the whole reading (lesson-frame.js) the reading no longer scrolls
  // inside it: how far the page is scrolled past the frame says how much was seen.
  function trackReading(frame) {
    var sized = function () {
      return !!frame.getAttribute("data-sized");
    };
    // The position is the share of the reading above the screen's top: where to come back to.
    var onPage = function () {
      var box = frame.getBoundingClientRect();
      if (!(box.height > 0)) return;
      var above = Math.round((Math.max(0, -box.top) / box.height) * 1000) / 1000;
      advance(Math.min(1, (window.innerHeight - box.top) / box.height), above);
    };
    window.addEventListener("message", function (event) {
      var data = event.data;
      if (event.source !== frame.contentWindow || !data || data.type !== "learnhub:scroll") return;
      lastInput = Date.now();
      if (sized()) onPage(); // the reading's first report: the screen seen before any scroll
      else advance(data.fraction);
    });
    window.addEventListener("scroll", function () {
      if (sized()) onPage();
    }, { passive: true });
  }

  // Back where the learner stopped: a player at its saved second (once it knows its length,
  // which with preload="none" is after play is pressed), the PDF viewer at its saved page.
  function resume(at) {
    if (!(at > 0)) return;
    if (media) {
      media.addEventListener("loadedmetadata", function () {
        if (media.currentTime < 1 && at < media.duration - 3) media.currentTime = at;
      }, { once: true });
    }
    var viewer = root.querySelector(".pdf-viewer");
    if (viewer) viewer.setAttribute("data-start-page", String(Math.round(at)));
    if (kind === "article" && at < 1) resumeReading(at);
  }

  // A reading, at the share of it that was above the screen: once its frame has its full
  // height (lesson-frame.js), and only if the learner has not started scrolling already.
  function resumeReading(at) {
    var frame = root.querySelector("iframe");
    if (!frame || !window.MutationObserver) return;
    var watcher = new MutationObserver(function () {
      if (!frame.getAttribute("data-sized")) return;
      watcher.disconnect();
      if (window.scrollY > 40) return;
      var top = frame.getBoundingClientRect().top + window.scrollY;
      window.scrollTo(0, Math.round(top + at * frame.offsetHeight));
    });
    watcher.observe(frame, { attributes: true, attributeFilter: ["data-sized"] });
  }

  // An EPUB book: its reader (the hub's own page, same origin) says the share read.
  function trackBook(frame) {
    window.addEventListener("message", function (event) {
      var data = event.data;
      if (event.source !== frame.contentWindow || event.origin !== window.location.origin) return;
      if (!data || data.type !== "learnhub:book") return;
      lastInput = Date.now();
      advance(data.fraction, typeof data.place === "string" ? data.place : undefined);
    });
  }

  // A picture counts as seen once most of it has been on screen.
  function trackPicture(img) {
    var seen = function () {
      advance(1);
    };
    if (!window.IntersectionObserver) return seen();
    var watcher = new IntersectionObserver(
      function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) {
          watcher.disconnect();
          seen();
        }
      },
      { threshold: 0.5 }
    );
    watcher.observe(img);
  }

  var saved = document.querySelector("[data-resume]");
  if (saved) resume(Number(saved.getAttribute("data-resume")));
  if (media) trackMedia(media);
  var viewer = root.querySelector(".pdf-viewer");
  if (viewer) trackPdf(viewer);
  var frame = kind === "article" && root.querySelector("iframe");
  if (frame) trackReading(frame);
  var book = kind === "epub" && root.querySelector("iframe.book-frame");
  if (book) trackBook(book);
  var picture = kind === "image" && root.querySelector("img");
  if (picture) trackPicture(picture);

  ["pointerdown", "keydown", "scroll", "touchstart"].forEach(function (name) {
    window.addEventListener(name, function () { lastInput = Date.now(); }, { passive: true });
  });
  setInterval(function () {
    beat();
    if (visible() && ++beats % BEATS_PER_REPORT === 0) report(false);
  }, BEAT);
  document.addEventListener("visibilitychange", function () {
    if (visible()) lastBeat = Date.now();
    else report(true);
  });
  // keepalive: the report outlives the page the learner is leaving.
  window.addEventListener("pagehide", function () {
    report(true);
  });
  window.addEventListener("pageshow", function () {
    lastBeat = Date.now();
  });
})();
