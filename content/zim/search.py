"""Searching one ZIM through its own indexes: the full-text index (Xapian, written by the
ZIM's maker) when it has one, else the title index. Nothing is re-indexed: a 90 GB Wikipedia
is searched where it lies.

    searcher = ZimSearcher(reader)
    found = searcher.full_text("solar energy", start=0, count=10)   # or .titles(...)
    found.estimate, [searcher.hit(path) for path in found.paths]

libzim reads its query text with Xapian's query parser (AND, OR, NEAR, quotes, prefixes...);
the text given here is plain words (the hub's own parsed query), so no syntax reaches it,
and any libzim failure is an empty answer, never an exception.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from content.zim.reader import ZimReader

if TYPE_CHECKING:
    from libzim.search import Searcher
    from libzim.suggestion import SuggestionSearcher

MAX_RESULTS = 1000  # the deepest hit asked for (100 pages of 10)


@dataclass(frozen=True)
class ZimHit:
    path: str
    title: str


@dataclass(frozen=True)
class ZimFound:
    estimate: int  # libzim's estimate of all the matches (exact for small archives)
    paths: list[str] = field(default_factory=list)  # the window asked for, best first


NOTHING = ZimFound(0)


class ZimSearcher:
    """One ZIM's searchers, made once (opening Xapian's database reads its tables). libzim
    serialises searches on one archive inside itself; the lock here makes that explicit, so
    a Searcher is never used by two threads at once whatever libzim's version does."""

    def __init__(self, reader: ZimReader) -> None:
        self.reader = reader
        self.has_full_text = reader.archive.has_fulltext_index
        self._lock = threading.Lock()
        self._full: Searcher | None = None
        self._titles: SuggestionSearcher | None = None

    def full_text(self, text: str, start: int, count: int) -> ZimFound:
        """Articles matching `text` (plain words), ranked by the ZIM's Xapian index."""
        if not text.strip() or not self.has_full_text:
            return NOTHING
        from libzim.search import Query, Searcher  # loaded with the first archive (reader.py)

        try:
            with self._lock:
                if self._full is None:
                    self._full = Searcher(self.reader.archive)
                search = self._full.search(Query().set_query(text))
                return _found(search, start, count)
        except Exception:  # a damaged index or a query Xapian refuses: nothing found
            return NOTHING

    def titles(self, text: str, start: int, count: int) -> ZimFound:
        """Articles whose title holds `text`'s words (libzim's title index, else its
        title-ordered listing), as libzim ranks them."""
        if not text.strip():
            return NOTHING
        try:
            with self._lock:
                return _found(self._suggest(text), start, count)
        except Exception:  # as above: an odd query finds nothing
            return NOTHING

    def suggestions(self, text: str, count: int) -> list[str]:
        """The first `count` paths `titles` finds, without counting all it finds: libzim
        runs its query again to count (0.33 of 0.68 ms a keystroke on the bench's ZIM)."""
        if not text.strip():
            return []
        try:
            with self._lock:
                return _window(self._suggest(text), 0, count)
        except Exception:  # as above
            return []

    def _suggest(self, text: str) -> object:
        """libzim's suggestion search for `text` (the lock held)."""
        from libzim.suggestion import SuggestionSearcher

        if self._titles is None:
            self._titles = SuggestionSearcher(self.reader.archive)
        return self._titles.suggest(text)

    def hit(self, path: str) -> ZimHit | None:
        """A found article's title (read only for the hits a page shows)."""
        found = self.reader.title(path)
        return None if found is None else ZimHit(found[0], found[1] or found[0])


def _found(search: object, start: int, count: int) -> ZimFound:
    """The window asked for and the count of all matches. A window that came back short
    says the count exactly; else libzim estimates it (running its query a second time)."""
    paths = _window(search, start, count)
    if paths and len(paths) < min(count, MAX_RESULTS - start):
        return ZimFound(start + len(paths), paths)
    return ZimFound(search.getEstimatedMatches(), paths)  # type: ignore[attr-defined]


def _window(search: object, start: int, count: int) -> list[str]:
    start = max(0, min(start, MAX_RESULTS))
    count = max(0, min(count, MAX_RESULTS - start))
    if not count:
        return []
    return list(search.getResults(start, count))  # type: ignore[attr-defined]
