"""A cache of what the library looks like, dropped whenever the library changes.

The library changes rarely (an import, a removal) and possibly in another process (the CLI),
so the cache is keyed by the generation counter the database keeps, read on each use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from hub.models import LibraryState

T = TypeVar("T")


class GenerationCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._generation = -1
        self._items: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        generation = LibraryState.current()
        with self._lock:
            if generation != self._generation:
                self._items.clear()
                self._generation = generation
            if key in self._items:
                return self._items[key]
        value = build()
        with self._lock:
            if len(self._items) >= self._size:
                self._items.clear()
            self._items[key] = value
        return value


library_cache = GenerationCache(size=4096)
