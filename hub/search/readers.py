"""A bounded pool of read-only connections to the current index file.

At most `size` connections exist at once, each with a page cache of at most `cache_bytes`
(and no memory map), so memory does not grow with the library or the number of searchers:
a search that finds every connection busy waits for one. Connections to a file that is no
longer current (a rebuild renamed a new one into place) are closed when they come back.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

WAIT_SECONDS = 10.0  # a search waits this long for a free connection before it gives up


class IndexUnavailable(Exception):
    """There is no usable index right now (missing, damaged, or being created)."""


class ReaderPool:
    def __init__(self, size: int, cache_bytes: int) -> None:
        self.size = max(1, size)
        self.cache_kib = max(64, cache_bytes // 1024)
        self._slots = threading.BoundedSemaphore(self.size)
        self._idle: list[tuple[Path, sqlite3.Connection]] = []
        self._lock = threading.Lock()

    def acquire(self, path: Path) -> sqlite3.Connection:
        if not self._slots.acquire(timeout=WAIT_SECONDS):
            raise TimeoutError("every search connection stayed busy")
        try:
            return self._reuse(path) or self._open(path)
        except BaseException:
            self._slots.release()
            raise

    def release(self, db: sqlite3.Connection, path: Path, current: Path | None) -> None:
        try:
            if db.in_transaction:
                db.rollback()  # a read transaction: nothing to keep, the snapshot ends
            keep = path == current
        except sqlite3.Error:
            keep = False
        if keep:
            with self._lock:
                self._idle.append((path, db))
        else:
            db.close()
        self._slots.release()

    def close(self) -> None:
        """Close the idle connections (busy ones close when they come back to a new file)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, db in idle:
            db.close()

    def _reuse(self, path: Path) -> sqlite3.Connection | None:
        stale: list[sqlite3.Connection] = []
        found = None
        with self._lock:
            while self._idle and found is None:
                held, db = self._idle.pop()
                if held == path:
                    found = db
                else:
                    stale.append(db)
        for db in stale:
            db.close()
        return found

    def _open(self, path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
            db.execute(f"PRAGMA cache_size=-{self.cache_kib}")
            db.execute("PRAGMA mmap_size=0")
        except sqlite3.Error as err:  # gone under us, or not a database
            raise IndexUnavailable(str(err)) from err
        return db
