"""Caches of what the library looks like, dropped whenever the library changes, together
within one byte budget (the `cache_bytes` setting) so memory never grows with the library or
the traffic. Each cache is sure of its share of the budget and may borrow what the others
leave unused (`CachePool`).

The library changes rarely (an import, a removal), and possibly in another process (the CLI),
so the cache is keyed by the generation counter the database keeps. Changes made in this
process are seen at once; changes made by another process within RECHECK_SECONDS.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields, is_dataclass
from functools import lru_cache
from typing import Any, TypedDict, TypeVar

from peewee import Model

from hub.core.db import db
from hub.library.models import LibraryState

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


def known_generation() -> Generation | None:
    """The generation when it was read less than RECHECK_SECONDS ago, else None: for a
    thread that must not wait on the database (the server's I/O loop)."""
    known = _known
    if known is None or known[0][0] != db.database or _clock() - known[1] >= RECHECK_SECONDS:
        return None
    return known[0]


def library_changed() -> None:
    """Called by this process's Library after each committed change: read it again now."""
    global _known
    _known = None


class CacheStats(TypedDict):
    name: str
    entries: int
    bytes: int
    budget: int
    hits: int
    misses: int


class CachePool:
    """The caches that share one byte budget (`cache_bytes`). Each cache is sure of its share;
    beyond it, a cache may use what the others leave unused, and gives it back, least recently
    used first, as soon as one of them needs its own share. A visitors' evening fills the
    rendered answers; a class signing in fills the lesson details; neither leaves half the
    memory idle. One lock serves them all: what it guards takes microseconds."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self.lock = threading.Lock()
        self.caches: list[GenerationCache] = []

    def resize(self, total: int) -> None:
        with self.lock:
            self.total = total
            for member in self.caches:
                member.budget = int(total * member.share)
            self.make_room(None, 0)

    def make_room(self, taker: GenerationCache | None, size: int) -> None:
        """Drop entries until `size` more bytes for `taker` fit: from whichever cache is
        furthest past its share (the taker counted with what it is about to keep)."""
        while self.used + size > self.total:
            victim = max(
                (c for c in self.caches if c.entries),
                key=lambda c: c.bytes + (size if c is taker else 0) - c.budget,
                default=None,
            )
            if victim is None:
                return
            victim.drop_oldest()


class GenerationCache:
    """Values kept until the library changes, within its pool's byte budget: the least
    recently used go first, and a value larger than a quarter of this cache's share is never
    kept. Sizes are estimated when a value is kept (see `approximate_size`)."""

    def __init__(self, name: str, share: float, pool: CachePool) -> None:
        self.name = name
        self.share = share  # of the pool's total: this cache's own, whatever the others hold
        self.budget = int(pool.total * share)
        self.pool = pool
        self._generation: Generation | None = None
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.bytes = 0
        self._hits = self._misses = 0
        self._lock = pool.lock
        pool.caches.append(self)

    @property
    def entries(self) -> int:
        return len(self._items)

    def get(
        self,
        key: Hashable,
        build: Callable[[], T],
        keep: Callable[[T], bool] | None = None,
        size: Callable[[Hashable, T], int] | None = None,
    ) -> T:
        """The kept value, else `build()`, kept when `keep` (if given) says so. `size` says
        what keeping the key and value costs in bytes, for values that share their parts with
        others (`approximate_size` counts every part as their own)."""
        generation = current_generation()
        with self._lock:
            if generation != self._generation:
                self._drop_all(generation)
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self._hits += 1
                return found[0]
            self._misses += 1
        value = build()
        if self.budget <= 0 or (keep is not None and not keep(value)):
            return value
        cost = size(key, value) if size else approximate_size(key) + approximate_size(value)
        with self._lock:
            # Not kept if the library changed while this was built, or if it is too big.
            if generation == self._generation and cost * 4 <= self.budget:
                self._put(key, value, cost)
        return value

    def peek(self, key: Hashable) -> Any | None:
        """The kept value, or None: never builds one, never reads the database (a library
        whose generation is not known fresh counts as changed)."""
        generation = known_generation()
        if generation is None:
            return None
        with self._lock:
            found = self._items.get(key) if generation == self._generation else None
            if found is None:
                return None
            self._items.move_to_end(key)
            self._hits += 1
            return found[0]

    def forget(self, key: Hashable) -> None:
        """Drop one kept value (it no longer holds: a kept file that went)."""
        with self._lock:
            found = self._items.pop(key, None)
            if found is not None:
                self._account(-found[1])

    def stats(self) -> CacheStats:
        with self._lock:
            return {
                "name": self.name,
                "entries": len(self._items),
                "bytes": self.bytes,
                "budget": self.budget,
                "hits": self._hits,
                "misses": self._misses,
            }

    def drop_oldest(self) -> None:
        """The least recently used entry goes (the pool's lock is held)."""
        _, (_, dropped) = self._items.popitem(last=False)
        self._account(-dropped)

    def _put(self, key: Hashable, value: Any, size: int) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._account(-old[1])
        self.pool.make_room(self, size)
        self._items[key] = (value, size)
        self._account(size)

    def _account(self, change: int) -> None:
        self.bytes += change
        self.pool.used += change

    def _drop_all(self, generation: Generation) -> None:
        self._items.clear()
        self._account(-self.bytes)
        self._generation = generation


def approximate_size(value: Any, depth: int = 0) -> int:
    """Bytes a kept value holds, counted through containers, dataclasses and database rows
    (a row's fields and the rows joined to it); deep enough for what the caches keep.

    It runs once for every page a cache misses, so plain values are told apart by their exact
    type first: that is most of what a value holds."""
    size = sys.getsizeof(value)
    kind: type = type(value)
    if kind in _ATOMS or depth > 6:
        return size
    if kind is dict:
        return size + sum(
            approximate_size(k, depth + 1) + approximate_size(v, depth + 1)
            for k, v in value.items()
        )
    if kind in _SEQUENCES:
        return size + sum(approximate_size(v, depth + 1) for v in value)
    if isinstance(value, Model):
        return (
            size
            + approximate_size(value.__data__, depth + 1)
            + approximate_size(value.__rel__, depth + 1)
        )
    names = _field_names(kind)
    return size + sum(approximate_size(getattr(value, name), depth + 1) for name in names)


_ATOMS = frozenset({str, bytes, int, float, bool, type(None)})
_SEQUENCES = frozenset({list, tuple, set, frozenset})


@lru_cache(maxsize=128)
def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names (empty for anything else); the kept types are a few."""
    return tuple(f.name for f in fields(kind)) if is_dataclass(kind) else ()


# The `cache_bytes` setting's default; configure() applies the setting at app start.
DEFAULT_BYTES = 8 * 1024**2
# Kept HTML is at most this long: a few hundred kept pages must stay a few megabytes.
KEEP_HTML_UP_TO = 32 * 1024


def small_enough(html: str | bytes) -> bool:
    return len(html) <= KEEP_HTML_UP_TO


# All the caches below share the `cache_bytes` setting (configure() applies it at app start).
POOL = CachePool(DEFAULT_BYTES)
# What each page needs that is the same for every reader: lesson views and the listing.
library_cache = GenerationCache("library", share=0.25, pool=POOL)
# Rendered parts of pages: a lesson's main part per language, a visitor's whole page.
page_parts = GenerationCache("pages", share=0.25, pool=POOL)
# Parsed exercises and transcripts, by blob.
parsed_files = GenerationCache("parsed files", share=0.1, pool=POOL)
# Search results and suggestions. A class searches for the words its teacher gives and types
# the same first letters; each answer is keyed by the index generation it was read from, so a
# kept answer is never one the index has moved past.
search_answers = GenerationCache("search answers", share=0.15, pool=POOL)
# Whole answers (headers and gzip bytes) for visitors without cookies: hub/web/kept_responses.
kept_responses = GenerationCache("responses", share=0.25, pool=POOL)
CACHES = (library_cache, page_parts, parsed_files, search_answers, kept_responses)


def configure(total_bytes: int) -> None:
    """Apply the `cache_bytes` setting (at app start)."""
    POOL.resize(total_bytes)


def stats() -> list[CacheStats]:
    return [cache.stats() for cache in CACHES]
