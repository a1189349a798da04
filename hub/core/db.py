"""The hub's SQLite database: one module-level handle, bound in the app factory or CLI."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peewee import Model, SqliteDatabase

# Bound later with `open_database`; nothing touches disk at import time. IMMEDIATE: without
# it, read-then-write transactions from several threads fail with "database is locked".
db = SqliteDatabase(None, lock_type="IMMEDIATE", autoconnect=False)

# Long writes (pack imports, index commits) take this lock so requests never queue behind
# two of them at once; short request writes rely on SQLite's IMMEDIATE locking alone.
write_lock = threading.Lock()

# FULL: an event the hub answered 2xx for must survive power loss, not only a crash; measured
# ~2,700 commits/s on this class of machine, far above what a classroom sends.
PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",
    "foreign_keys": 1,
    # Shrink the write-ahead log after checkpoints: an SD card need not keep a big file around.
    "journal_size_limit": 8 * 1024 * 1024,
}


def open_database(path: Path, cache_bytes: int) -> SqliteDatabase:
    """Bind the handle to `path` with the settings measured to hold under concurrent writers.
    Each connection (one per worker thread) keeps up to `cache_bytes` of the file's pages."""
    db.init(str(path), timeout=10, pragmas={**PRAGMAS, "cache_size": -(cache_bytes // 1024)})
    return db


@contextmanager
def connected() -> Iterator[None]:
    """Use this thread's open connection, or open one for the block (CLI, start-up)."""
    opened = db.connect() if db.is_closed() else False
    try:
        yield
    finally:
        if opened:
            db.close()


class BaseModel(Model):
    """Every hub table's model: in this database, with snake_case table names."""

    if TYPE_CHECKING:
        # The one place peewee's dynamic attributes are silenced for mypy (sync/central's
        # CentralModel repeats it for central's tables): the implicit `id` primary key, the
        # `<field>_id` column of every ForeignKeyField, and the aliases of a query's
        # `.alias("n")` columns are set at runtime and invisible to peewee's stubs.
        id: Any

        def __getattr__(self, name: str) -> Any: ...

    class Meta:
        database = db
        legacy_table_names = False
