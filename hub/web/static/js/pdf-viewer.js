// Enhances <div class="pdf-viewer" data-pdf-url data-pdfjs data-worker><a download>…</a></div>:
// cheap phones often lack a PDF viewer, so pdf.js draws the pages onto canvases. pdf.js is
// imported from here, so only pages showing a PDF load it. Without JavaScript, or on any
// failure, the download link stays.

const LABELS = {
  page: "Page",
  of: "/",
  prev: "Previous page",
  next: "Next page",
  zoomIn: "Zoom in",
  zoomOut: "Zoom out",
  error: "This PDF cannot be shown here. Please download it.",
};
const ZOOMS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3];
const MAX_PIXEL_RATIO = 2; // sharper costs memory a cheap phone does not have
const MAX_CANVAS_PIXELS = 8e6; // old Android browsers fail on larger canvases
const THRESHOLDS = Array.from({ length: 21 }, (_, i) => i / 20);

function readLabels(root) {
  const labels = {};
  for (const [key, fallback] of Object.entries(LABELS)) {
    labels[key] = root.dataset["label" + key[0].toUpperCase() + key.slice(1)] || fallback;
  }
  return labels;
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  el.className = className;
  if (text) el.textContent = text;
  return el;
}

function button(symbol, label, onClick) {
  const b = element("button", "pdf-button", symbol);
  b.type = "button";
  b.title = label;
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

function setSize(el, width, height) {
  el.style.width = `${Math.floor(width)}px`;
  el.style.height = `${Math.floor(height)}px`;
}

function showError(root, message) {
  root.classList.remove("pdf-viewer--loading");
  root.querySelectorAll(".pdf-toolbar, .pdf-pages, .pdf-error").forEach((el) => el.remove());
  const p = element("p", "pdf-error", message);
  p.setAttribute("role", "alert");
  root.prepend(p);
}

// Half the page on screen, or a page (zoomed, taller than the screen) filling half of it.
function isMostlyVisible(entry) {
  const screen = entry.rootBounds ? entry.rootBounds.height : window.innerHeight;
  return entry.intersectionRatio >= 0.5 || entry.intersectionRect.height >= screen / 2;
}

class PdfViewer {
  constructor(root, doc, firstPage, labels, opened) {
    this.root = root;
    this.doc = doc;
    this.labels = labels;
    this.zoom = ZOOMS.indexOf(1);
    const { width, height } = firstPage.getViewport({ scale: 1 });
    this.pages = Array.from({ length: doc.numPages }, (_, i) => {
      const el = element("div", "pdf-page");
      el.dataset.page = i + 1;
      return { n: i + 1, el, width, height, canvas: null, task: null, gen: 0, shown: 0 };
    });
    const L = labels;
    this.prev = button("‹", L.prev, () => this.go(this.current - 1));
    this.next = button("›", L.next, () => this.go(this.current + 1));
    this.out = button("−", L.zoomOut, () => this.setZoom(this.zoom - 1));
    this.in = button("+", L.zoomIn, () => this.setZoom(this.zoom + 1));
    this.counter = element("span", "pdf-counter");
    const bar = element("div", "pdf-toolbar");
    bar.setAttribute("role", "toolbar");
    bar.append(this.prev, this.counter, this.next, this.out, this.in);
    this.box = element("div", "pdf-pages");
    this.box.append(...this.pages.map((p) => p.el));
    root.classList.remove("pdf-viewer--loading");
    root.append(bar, this.box);
    this.layout();
    this.showCurrent(0);
    this.observe();
    // A signed-in learner comes back to the page they last saw (progress.js sets it); a
    // reader opened by a tap starts at the top of the screen, its first page in full view.
    const saved = Number(root.dataset.startPage);
    if (saved > 1) this.go(saved - 1);
    else if (opened) root.scrollIntoView({ block: "start" });
    this.width = this.box.clientWidth;
    let timer = 0;
    window.addEventListener("resize", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.onResize(), 200);
    });
  }

  onResize() {
    if (this.box.isConnected && this.box.clientWidth !== this.width) this.relayout();
  }

  observe() {
    const page = (e) => this.pages[e.target.dataset.page - 1];
    // Draw pages within a screen of the viewport; free canvases three screens away, as a
    // long PDF would otherwise fill a phone's memory.
    this.near = new IntersectionObserver(
      (es) => es.forEach((e) => e.isIntersecting && this.render(page(e))),
      { rootMargin: "100% 0px" },
    );
    this.far = new IntersectionObserver(
      (es) => es.forEach((e) => e.isIntersecting || this.free(page(e))),
      { rootMargin: "300% 0px" },
    );
    this.view = new IntersectionObserver((es) => this.onView(es.map((e) => [page(e), e])), {
      threshold: THRESHOLDS,
    });
    for (const p of this.pages) [this.near, this.far, this.view].forEach((o) => o.observe(p.el));
  }

  onView(changes) {
    for (const [p, e] of changes) {
      const seen = e.isIntersecting && isMostlyVisible(e);
      p.shown = e.isIntersecting ? e.intersectionRect.height : 0;
      if (seen && !p.seen) {
        const detail = { page: p.n, pages: this.pages.length };
        this.root.dispatchEvent(new CustomEvent("pdf:pageview", { detail, bubbles: true }));
      }
      p.seen = seen;
    }
    // The counter shows the page taking most of the screen.
    const best = this.pages.reduce((a, b) => (b.shown > a.shown ? b : a));
    if (best.shown > 0) this.showCurrent(best.n - 1);
  }

  scaleFor(p) {
    return (this.box.clientWidth * ZOOMS[this.zoom]) / p.width;
  }

  layout() {
    for (const p of this.pages) {
      const scale = this.scaleFor(p);
      setSize(p.el, p.width * scale, p.height * scale);
    }
  }

  relayout() {
    const keep = this.current;
    this.width = this.box.clientWidth;
    this.pages.forEach((p) => this.free(p));
    this.layout();
    this.go(keep);
    // Observing again reports every page afresh, so the visible ones are drawn again.
    this.near.disconnect();
    this.pages.forEach((p) => this.near.observe(p.el));
  }

  async render(p) {
    if (p.canvas) return;
    const gen = ++p.gen;
    const canvas = (p.canvas = element("canvas", ""));
    try {
      const page = await this.doc.getPage(p.n);
      if (gen !== p.gen) return;
      ({ width: p.width, height: p.height } = page.getViewport({ scale: 1 }));
      const viewport = page.getViewport({ scale: this.scaleFor(p) });
      const fit = Math.sqrt(MAX_CANVAS_PIXELS / (viewport.width * viewport.height));
      const out = Math.min(window.devicePixelRatio || 1, MAX_PIXEL_RATIO, fit);
      canvas.width = Math.floor(viewport.width * out);
      canvas.height = Math.floor(viewport.height * out);
      setSize(p.el, viewport.width, viewport.height);
      const canvasContext = canvas.getContext("2d", { alpha: false });
      const transform = out === 1 ? null : [out, 0, 0, out, 0, 0];
      p.task = page.render({ canvasContext, viewport, transform });
      await p.task.promise;
      p.task = null;
      if (gen !== p.gen) return;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `${this.labels.page} ${p.n}`);
      p.el.append(canvas);
    } catch (err) {
      if (gen !== p.gen || err?.name === "RenderingCancelledException") return;
      console.error(err);
      [this.near, this.far, this.view].forEach((o) => o.disconnect());
      this.pages.forEach((q) => this.free(q));
      this.doc.destroy();
      showError(this.root, this.labels.error);
    }
  }

  free(p) {
    p.gen++;
    if (p.task) p.task.cancel();
    p.task = null;
    if (!p.canvas) return;
    p.canvas.remove();
    p.canvas.width = p.canvas.height = 0; // gives the pixels back now, not at GC time
    p.canvas = null;
  }

  go(index) {
    const i = Math.max(0, Math.min(this.pages.length - 1, index));
    this.pages[i].el.scrollIntoView({ block: "start" });
    this.showCurrent(i);
  }

  setZoom(index) {
    if (index < 0 || index >= ZOOMS.length) return;
    this.zoom = index;
    this.relayout();
  }

  showCurrent(i) {
    const L = this.labels;
    this.current = i;
    this.counter.textContent = `${L.page} ${i + 1} ${L.of} ${this.pages.length}`;
    this.prev.disabled = i === 0;
    this.next.disabled = i === this.pages.length - 1;
    this.out.disabled = this.zoom === 0;
    this.in.disabled = this.zoom === ZOOMS.length - 1;
  }
}

async function start(root, opened) {
  const labels = readLabels(root);
  if (!window.IntersectionObserver) return; // a very old browser keeps the link only
  root.classList.add("pdf-viewer--loading");
  try {
    const url = (name) => new URL(root.dataset[name], document.baseURI).href;
    const pdfjs = await import(url("pdfjs"));
    pdfjs.GlobalWorkerOptions.workerSrc = url("worker");
    const doc = await pdfjs.getDocument({
      url: url("pdfUrl"),
      isEvalSupported: false, // no eval, so a CSP without 'unsafe-eval' holds
      disableAutoFetch: true, // with disableStream: fetch only the byte ranges of pages shown
      disableStream: true,
    }).promise;
    new PdfViewer(root, doc, await doc.getPage(1), labels, opened);
  } catch (err) {
    console.error(err);
    showError(root, labels.error);
  }
}

// The reader engine is ~1.8 MB: it loads when the student asks to read here (like pressing
// play), so a PDF lesson page stays light for phones that would rather download the file.
function offer(root) {
  const open = root.querySelector(".pdf-open");
  if (!open) return start(root, false);
  open.hidden = false;
  open.addEventListener("click", () => {
    open.remove();
    start(root, true);
  });
}

document.querySelectorAll(".pdf-viewer[data-pdf-url]").forEach(offer);
