"""The one migration runner, for the hub's database and for central's.

It lives in `sync/` because both sides must import it and the layering allows only one
direction: the hub (hub/core/migrations.py) imports `sync`, central's logic
(sync/central/migrations.py) is `sync` and never imports `hub`. Each side keeps its own list
of steps and its own version table; this module only runs them, the same way for both:
read the versions applied, refuse a database newer than the code, apply each pending step in
its own transaction and record its version in that transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from peewee import Database

# (version, name, apply): a step changes the schema through the database it is given.
Step = tuple[int, str, Callable[[Database], None]]


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer version of the code; str() is one sentence."""


def migrate(
    database: Database,
    table: str,
    steps: Sequence[Step],
    transaction: Callable[[], AbstractContextManager[object]] | None = None,
) -> list[int]:
    """Apply every step of `steps` not yet recorded in `table`; returns the versions applied
    now. `transaction` (default: database.atomic) is where each step runs; central passes its
    write lock, so two processes starting at once apply each step once."""
    begin = transaction or database.atomic
    database.execute_sql(
        f"CREATE TABLE IF NOT EXISTS {table} ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    _refuse_newer(database, table, steps)
    applied = []
    for version, name, apply in steps:
        # Checked inside the transaction: another process may have applied it meanwhile.
        with begin():
            if version in _versions(database, table):
                continue
            apply(database)
            database.execute_sql(
                f"INSERT INTO {table} (version, name, applied_at) VALUES ({_params(database, 3)})",
                (version, name, datetime.now(UTC).isoformat()),
            )
        applied.append(version)
    return applied


def split_script(script: str) -> list[str]:
    """The statements of a plain SQL script (no semicolons inside a statement)."""
    return list(filter(None, (s.strip() for s in script.split(";"))))


def _refuse_newer(database: Database, table: str, steps: Sequence[Step]) -> None:
    # Running old code on a newer schema would write rows the newer code does not expect.
    newest = max(_versions(database, table), default=0)
    known = max((version for version, _, _ in steps), default=0)
    if newest > known:
        raise SchemaTooNew(
            f"The database is at schema version {newest}, newer than this version of Learning "
            f"Hub knows (up to {known}): run the newer version, or restore a backup."
        )


def _versions(database: Database, table: str) -> set[int]:
    return {row[0] for row in database.execute_sql(f"SELECT version FROM {table}")}


def _params(database: Database, count: int) -> str:
    # `?` for SQLite, `%s` for PostgreSQL: peewee knows the bound database's style.
    return ", ".join([database.param] * count)
