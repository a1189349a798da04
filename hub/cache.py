"""A cache of what the library looks like, dropped whenever the library changes.

The library changes rarely (an import, a removal), and possibly in another process (the CLI),
so the cache is keyed by the generation counter the database keeps. Changes made in this
process are seen at once; changes made by another process within RECHECK_SECONDS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from hub.db import db
from hub.models import LibraryState

T = TypeVar("T")

# Reading the generation is a query, and under load every query is a moment when a worker
# thread lets go of the interpreter lock and waits to get it back: one read per page cost a
# fifth of the pages a 2-core hub serves. So it is read at most this often.
RECHECK_SECONDS = 1.0
_clock = time.monotonic
Generation = tuple[str, int]  # (the database, its generation): tests open many in one process
_known: tuple[Generation, float] | None = None  # and when it was read; replaced whole


def current_generation() -> Generation:
    global _known
    known = _known
    now = _clock()
    if known is not None and known[0][0] == db.database and now - known[1] < RECHECK_SECONDS:
        return known[0]
    generation = (db.database, LibraryState.current())
    _known = (generation, now)
    return generation


def library_changed() -> None:
    """Called by this process's Library after each committed change: read it again now."""
    global _known
    _known = None


class GenerationCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._generation: Generation | None = None
        self._items: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def get(
        self, key: Hashable, build: Callable[[], T], keep: Callable[[T], bool] | None = None
    ) -> T:
        """The kept value, else `build()`, kept when `keep` (if given) says so."""
        generation = current_generation()
        with self._lock:
            if generation != self._generation:
                self._items.clear()
                self._generation = generation
            if key in self._items:
                return self._items[key]
        value = build()
        if keep is not None and not keep(value):
            return value
        with self._lock:
            if generation != self._generation:
                return value  # the library changed while this was built: do not keep it
            if len(self._items) >= self._size:
                self._items.clear()
            self._items[key] = value
        return value


# Kept HTML is at most this long: a few hundred kept pages must stay a few megabytes.
KEEP_HTML_UP_TO = 32 * 1024


def small_enough(html: str | bytes) -> bool:
    return len(html) <= KEEP_HTML_UP_TO


library_cache = GenerationCache(size=4096)
# Rendered parts of pages: a lesson's main part per language, a visitor's whole page.
page_parts = GenerationCache(size=256)
