"""The files a page uses: read an HTML page (html.parser) and its stylesheets for the local
files they load (images, styles, scripts, media, fonts, frames) and the local pages they
link to, so an article brings everything it needs.

References are resolved against the referring file's folder; anything with a scheme
(`https:`, `data:`, `mailto:`), a `//host` or only a `#fragment` is not a pack file.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from content.source import nfc, path_problem

MAX_PAGE_BYTES = 8 * 1024**2  # a page or stylesheet read for references; the rest is ignored
MAX_CACHED_STYLES = 1000
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")
_LOADS = {  # element -> attributes naming a file the element loads
    "img": ("src",),
    "script": ("src",),
    "source": ("src",),
    "track": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "iframe": ("src",),
    "frame": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),  # SVG inside HTML
    "use": ("href", "xlink:href"),
    "body": ("background",),
    "table": ("background",),
    "td": ("background",),
}
_LOADED_LINKS = {"stylesheet", "icon", "shortcut", "preload", "prefetch", "manifest"}
_PAGES = (".html", ".htm", ".xhtml")
_STYLES = (".css",)


@dataclass
class References:
    """Local paths (relative to the pack) a file loads, and the local pages it links to."""

    loads: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


def references(path: str, data: bytes) -> References:
    """What the page or stylesheet at `path` (a pack path) refers to, resolved to pack paths."""
    text = data[:MAX_PAGE_BYTES].decode("utf-8", errors="replace")
    if path.lower().endswith(_STYLES):
        return References(loads=_resolve_all(path, _css_urls(text)))
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    return References(_resolve_all(path, parser.loads), _resolve_all(path, parser.links))


def page_title(data: bytes) -> str | None:
    """The text of a page's <title>, if it has one."""
    parser = _PageParser()
    parser.feed(data[:MAX_PAGE_BYTES].decode("utf-8", errors="replace"))
    parser.close()
    return "".join(parser.title) or None


@dataclass
class Used:
    """What a page needs: the files found in the pack, and those it loads but the pack lacks."""

    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


class PageFiles:
    """Finds the files pages use in one pack, reading each stylesheet once however many pages
    share it. `read(path)` gives the first MAX_PAGE_BYTES of a file."""

    def __init__(self, exists: Callable[[str], bool], read: Callable[[str], bytes]) -> None:
        self._exists, self._read = exists, read
        self._styles: dict[str, References] = {}

    def used(self, start: str, *, whole_site: bool = False) -> Used:
        """Every pack file the page at `start` loads (images, styles, scripts, media, frames,
        and what its stylesheets and frames load in turn), and the local files it links to.
        With `whole_site`, linked pages are followed too, as for a site's index.html.
        A loaded file the pack lacks is `missing`; a link to one is the page's own business."""
        used = Used()
        seen, pending = {start}, [start]
        while pending:
            current = pending.pop(0)
            found = self._references(current)
            follow = [(p, True) for p in found.loads] + [(p, False) for p in found.links]
            for target, loaded in follow:
                if target in seen:
                    continue
                seen.add(target)
                if not self._exists(target):
                    if loaded:
                        used.missing.append(target)
                    continue
                used.found.append(target)
                if loaded or whole_site:
                    pending.append(target)
        return used

    def _references(self, path: str) -> References:
        if not _readable(path):
            return References()
        if path in self._styles:
            return self._styles[path]
        found = references(path, self._read(path))
        if path.lower().endswith(_STYLES) and len(self._styles) < MAX_CACHED_STYLES:
            self._styles[path] = found
        return found


def _readable(path: str) -> bool:
    return path.lower().endswith(_PAGES + _STYLES)


def _resolve_all(base: str, refs: list[str]) -> list[str]:
    resolved = (_resolve(base, ref) for ref in refs)
    return list(dict.fromkeys(path for path in resolved if path))


def _resolve(base: str, ref: str) -> str | None:
    """`ref` from the file at `base`, as a pack path; None if it is not a file in the pack."""
    ref = ref.strip()
    parts = urlsplit(ref)
    if not ref or parts.scheme or parts.netloc or not parts.path or ref.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(parts.path)))
    if joined.startswith("../") or joined in ("..", ".") or path_problem(joined):
        return None  # outside the pack: never a pack file
    return nfc(joined)


def _css_urls(text: str) -> list[str]:
    return [match[2] or match[4] for match in _CSS_URL.finditer(text)]


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[str] = []
        self.links: list[str] = []
        self.title: list[str] = []
        self._in_title = self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        for name in _LOADS.get(tag, ()):
            if name in values:
                self.loads.append(values[name])
        if "srcset" in values:
            self.loads += [item.split()[0] for item in values["srcset"].split(",") if item.split()]
        if "style" in values:
            self.loads += _css_urls(values["style"])
        if tag == "link" and "href" in values:
            rel = set(values.get("rel", "").lower().split())
            (self.loads if rel & _LOADED_LINKS else self.links).append(values["href"])
        elif tag in ("a", "area") and "href" in values:
            self.links.append(values["href"])
        self._in_title = tag == "title" or self._in_title
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif self._in_style:
            self.loads += _css_urls(data)
