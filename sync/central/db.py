"""Central's database: a SQLite file by default, PostgreSQL (psycopg 3) for postgresql:// URLs.

One module-level proxy, bound by `open_central`; nothing touches disk at import time. The write
path (applying a bundle) is raw SQL written once for both dialects: `?` placeholders, turned
into `%s` for PostgreSQL by `q()`, and the few functions that differ spelled by `greatest()`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from peewee import Database, DatabaseProxy, PostgresqlDatabase, SqliteDatabase

from sync.central.errors import CentralError

central_db = DatabaseProxy()

DB_FILE = "central.db"
# FULL: a receipt tells a hub it may forget what it sent, so what central committed must
# survive power loss, not only a crash.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",
    "foreign_keys": 1,
    "cache_size": -64000,
}
# Held for the whole of one write transaction across every central process (PostgreSQL):
# bundles are applied one at a time, so the dedup-then-insert steps never race.
APPLY_LOCK_KEY = 0x4C48_4345  # "LHCE"

# Writers inside this process queue here, so a long apply never meets "database is locked".
_write_lock = threading.RLock()


def open_central(url: str | None, data_dir: Path) -> Database:
    """Bind the proxy to `url` (postgresql://... or sqlite:///path) or to data_dir/central.db."""
    database = _database_for(url, data_dir)
    central_db.initialize(database)
    return database


def _database_for(url: str | None, data_dir: Path) -> Database:
    if not url:
        return _sqlite(data_dir / DB_FILE)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresqlDatabase(
            "postgresql://" + url.split("://", 1)[1], autoconnect=False, prefer_psycopg3=True
        )
    if url.startswith("sqlite:///"):
        return _sqlite(Path(url.removeprefix("sqlite://")))
    raise CentralError(
        "The database URL must start with postgresql:// or sqlite:/// (or be left out)."
    )


def _sqlite(path: Path) -> SqliteDatabase:
    return SqliteDatabase(
        str(path), timeout=30, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE", autoconnect=False
    )


def is_postgres() -> bool:
    return isinstance(central_db.obj, PostgresqlDatabase)


def q(text: str) -> str:
    """SQL written with `?` placeholders, in the bound database's style."""
    return text.replace("?", "%s") if is_postgres() else text


def greatest() -> str:
    """The two-argument maximum: GREATEST in PostgreSQL, scalar MAX in SQLite."""
    return "GREATEST" if is_postgres() else "MAX"


def execute(text: str, params: Sequence[Any] = ()) -> Any:
    return central_db.execute_sql(q(text), params)


def scalar(text: str, params: Sequence[Any] = ()) -> Any:
    row = execute(text, params).fetchone()
    return row[0] if row else None


@contextmanager
def connected() -> Iterator[None]:
    """This thread's open connection, or one opened for the block (CLI, start-up)."""
    opened = central_db.connect() if central_db.is_closed() else False
    try:
        yield
    finally:
        if opened:
            central_db.close()


@contextmanager
def writing() -> Iterator[None]:
    """One write transaction at a time, in this process and (PostgreSQL) across processes."""
    with _write_lock, central_db.atomic():
        if is_postgres():
            execute("SELECT pg_advisory_xact_lock(?)", (APPLY_LOCK_KEY,))
        yield
