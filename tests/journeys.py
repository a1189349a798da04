"""What the journey tests check on every page in Chromium: tap targets and text sizes,
axe-core's accessibility rules, requests that would leave the hub, and bytes sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.content_helpers import sample_manifest, write_pack_dir

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
TAP = 44  # px, both ways
TEXT_AT_LEAST = 14  # px, any text
BODY_AT_LEAST = 16  # px, the page's body text

# Tap targets that are too small, as "tag.class 'text' WxH". A link inside a sentence is text,
# not a button (WCAG 2.5.8's inline exception), and a pack's own page in a frame is the pack's.
_SMALL_TARGETS = """(min) => {
  const out = [];
  const inSentence = (el) => el.tagName === "A" && el.parentElement.matches("p, .small, .foot p")
    && el.parentElement.textContent.trim() !== el.textContent.trim();
  for (const el of document.querySelectorAll(
      "a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!r.width || !r.height || style.visibility === "hidden" || inSentence(el)) continue;
    if (el.matches("input[type=radio], input[type=checkbox]")) {
      const row = el.closest("label");
      if (row) { const b = row.getBoundingClientRect(); if (b.height >= min) continue; }
    }
    if (r.width < min - 0.5 || r.height < min - 0.5)
      out.push(`${el.tagName.toLowerCase()}.${el.className} '${el.textContent.trim().slice(0, 30)}'`
        + ` ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return out;
}"""

_SMALL_TEXT = """(min) => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el) continue;
    if (el.closest("script, style, noscript, [hidden]")) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    const r = el.getBoundingClientRect();
    if (r.width && size < min)
      out.push(`${el.tagName.toLowerCase()} '${node.textContent.trim().slice(0, 30)}' ${size}px`);
  }
  return out;
}"""


def small_targets(page: Any) -> list[str]:
    return page.evaluate(_SMALL_TARGETS, TAP)


def small_text(page: Any) -> list[str]:
    return page.evaluate(_SMALL_TEXT, TEXT_AT_LEAST)


def body_text_size(page: Any) -> float:
    return page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations on the page as "rule: target" lines (the context must be made
    with bypass_csp=True: the hub's policy rightly refuses a script it did not send)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate("axe.run(document).then(r => r.violations)")
    return [f"{v['id']}: {json.dumps(n['target'])}" for v in found for n in v["nodes"]]


def checked_page(page: Any) -> list[str]:
    """Every problem this page has for small hands, weak eyes and assistive technology."""
    problems = [f"small target {t}" for t in small_targets(page)]
    problems += [f"small text {t}" for t in small_text(page)]
    if body_text_size(page) < BODY_AT_LEAST:
        problems.append(f"body text {body_text_size(page)}px")
    return problems + [f"axe {v}" for v in axe_violations(page)]


class Traffic:
    """Requests a page makes: the bytes that came (headers and encoded bodies) and any
    request for somewhere other than the hub, which is refused."""

    def __init__(self, context: Any, hub_url: str) -> None:
        self.hub_url = hub_url
        self.leaving: list[str] = []
        self.finished: list[Any] = []
        context.route("**/*", self._route)
        context.on("requestfinished", lambda request: self.finished.append(request))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.hub_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.leaving.append(url)
            route.abort()

    def reset(self) -> None:
        self.finished.clear()

    def weight(self) -> int:
        total = 0
        for request in self.finished:
            sizes = request.sizes()
            total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        return total


# A 1x1 PNG, for a pack's cover.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000"
    "907753de0000000c49444154789c6390cf8f0100019b00eb2314987a0000000049454e44ae426082"
)


def more_packs(root: Path, count: int) -> list[Path]:
    """Small packs for a full library page: one reading each, some titled in Arabic script."""
    made = []
    for at in range(count):
        arabic = at % 4 == 0
        manifest = sample_manifest(
            id=f"extra-{at:02d}",
            title=f"ما هو الكسر {at}" if arabic else f"Extra pack {at}",
            language="ar" if arabic else "en",
            subjects=["science" if at % 2 else "mathematics"],
        )
        manifest["topics"] = [{"id": "t", "title": "Topic", "lessons": ["read"], "topics": []}]
        manifest["lessons"] = [
            {"id": "read", "title": f"Reading {at}", "kind": "article", "file": "read.html"}
        ]
        page = f"<!doctype html><title>Reading {at}</title><p>Words {at}.</p>".encode()
        files = {"read.html": page}
        if at == 1:  # one pack (and its lesson) with its own picture; the others get a drawn one
            manifest["thumbnail"] = manifest["lessons"][0]["thumbnail"] = "cover.png"
            files["cover.png"] = TINY_PNG
        if at == 3:  # a title whose first letter would end the drawn cover's SVG unescaped
            manifest["title"] = "<Extra pack 3"
        made.append(write_pack_dir(root / f"extra-{at:02d}", manifest, files))
    return made
