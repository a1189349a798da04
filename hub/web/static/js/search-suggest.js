// Fills the search box's <datalist> with lesson titles while a student types. Optional:
// without JavaScript the form works the same. One request at a time (the previous one is
// cancelled), a short pause before asking, and nothing asked for an empty box.

const PAUSE_MS = 150;

function enhance(input) {
  const list = document.getElementById(input.getAttribute("list"));
  const url = input.dataset.suggestUrl;
  if (!list || !url || !window.fetch || !window.AbortController) return;
  let timer = 0;
  let pending = null;
  const cache = new Map();

  function show(titles) {
    list.replaceChildren(...titles.map((title) => {
      const option = document.createElement("option");
      option.value = title;
      return option;
    }));
  }

  async function ask(text) {
    if (cache.has(text)) return show(cache.get(text));
    if (pending) pending.abort();
    pending = new AbortController();
    try {
      const response = await fetch(`${url}?q=${encodeURIComponent(text)}`, {
        signal: pending.signal,
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      const body = await response.json();
      const titles = [...new Set(body.suggestions.map((s) => s.title))];
      cache.set(text, titles);
      if (input.value === text) show(titles);
    } catch (error) {
      // Offline, aborted or a bad answer: keep the box as it is.
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value;
    if (!text.trim()) return show([]);
    timer = setTimeout(() => ask(text), PAUSE_MS);
  });
}

for (const input of document.querySelectorAll("input[data-suggest-url]")) enhance(input);
