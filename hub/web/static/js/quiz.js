// A quiz without page reloads. Optional: without JavaScript the same forms and links work as
// ordinary pages. Each answer and "next" is sent exactly as the page would send it, and the
// quiz panel of the page the hub answers takes this one's place: the hub still judges every
// answer and decides what comes next; this script only saves the reload.

function quizPanel() {
  return document.getElementById("quiz");
}

function show(html, url) {
  const page = new DOMParser().parseFromString(html, "text/html");
  const next = page.getElementById("quiz");
  if (!next) {
    // Not a quiz page (an error, say): show it whole, as a reload would have.
    document.title = page.title;
    document.body.replaceWith(document.adoptNode(page.body));
    return;
  }
  quizPanel().replaceWith(next);
  if (url) history.replaceState(null, "", url);
  next.focus();
  next.scrollIntoView({ block: "start" });
}

async function send(url, options, busy) {
  busy.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(url, { credentials: "same-origin", ...options });
    // The address bar follows a link or a redirect, never the address a form posted to.
    const landed = options.method === "POST" && !response.redirected ? null : response.url;
    show(await response.text(), landed);
  } catch {
    busy.removeAttribute("aria-busy");
    // No answer (the Wi-Fi dropped): fall back to the browser doing it.
    if (options.method === "POST") HTMLFormElement.prototype.submit.call(busy);
    else location.href = url;
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!quizPanel()?.contains(form) || !window.fetch) return;
  event.preventDefault();
  if (form.getAttribute("aria-busy")) return; // one answer per tap, however fast the taps
  send(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)) }, form);
});

document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[data-quiz-link]");
  if (!link || !quizPanel()?.contains(link) || !window.fetch) return;
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  send(link.href, { method: "GET" }, link);
});
