"""What central staff look at: hubs with last contact and lag, progress by hub, class and
pack, and every learner x lesson row. Each report is a Table, shown as HTML or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sync.central.db import execute
from sync.central.models import Hub, Stream, now_ms


@dataclass
class Table:
    name: str  # file name stem for CSV
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass(frozen=True)
class HubRow:
    hub: Hub
    learners: int
    missing: int  # events below the highest seq seen that have not arrived
    lag_seconds: float | None  # since the hub's last bundle arrived

    @property
    def stale(self) -> bool:
        return self.lag_seconds is None or self.lag_seconds > 7 * 24 * 3600


def hubs_overview(now: int | None = None) -> list[HubRow]:
    now = now_ms() if now is None else now
    learners = dict(execute("SELECT hub_id, COUNT(*) FROM learner_hub GROUP BY hub_id").fetchall())
    missing: dict[str, int] = {}
    for stream in Stream.select():
        missing[stream.hub_id] = missing.get(stream.hub_id, 0) + stream.missing
    return [
        HubRow(
            hub,
            learners.get(hub.hub_id, 0),
            missing.get(hub.hub_id, 0),
            (now - hub.last_contact) / 1000 if hub.last_contact else None,
        )
        for hub in Hub.ordered()
    ]


def hubs_table(now: int | None = None) -> Table:
    table = Table(
        "hubs",
        [
            "hub_id",
            "name",
            "status",
            "last_contact_ms",
            "lag_seconds",
            "events",
            "learners",
            "missing_events",
            "quarantined",
        ],
    )
    for row in hubs_overview(now):
        hub = row.hub
        table.rows.append(
            [
                hub.hub_id,
                hub.name,
                hub.status,
                hub.last_contact,
                None if row.lag_seconds is None else round(row.lag_seconds),
                hub.events,
                row.learners,
                row.missing,
                hub.quarantined,
            ]
        )
    return table


PROGRESS_SUMS = (
    "COUNT(DISTINCT p.learner_uid), COUNT(p.learner_uid), COALESCE(SUM(p.completed), 0),"
    " COALESCE(SUM(p.mastered), 0), COALESCE(SUM(p.attempts), 0),"
    " COALESCE(SUM(p.time_spent), 0), AVG(p.best_score)"
)
PROGRESS_COLUMNS = [
    "learners",
    "lessons_started",
    "lessons_completed",
    "exercises_mastered",
    "attempts",
    "time_spent_seconds",
    "average_best_score",
]


def by_hub() -> Table:
    rows = execute(
        f"SELECT h.hub_id, h.name, {PROGRESS_SUMS} FROM hub h"
        " JOIN learner_hub lh ON lh.hub_id = h.hub_id"
        " JOIN progress p ON p.learner_uid = lh.learner_uid"
        " GROUP BY h.hub_id, h.name ORDER BY h.name"
    ).fetchall()
    return _progress_table("progress-by-hub", ["hub_id", "hub"], rows)


def by_pack() -> Table:
    rows = execute(
        f"SELECT p.pack_id, {PROGRESS_SUMS} FROM progress p GROUP BY p.pack_id ORDER BY p.pack_id"
    ).fetchall()
    return _progress_table("progress-by-pack", ["pack_id"], rows)


def by_class() -> Table:
    rows = execute(
        f"SELECT c.uid, c.name, {PROGRESS_SUMS} FROM roster c"
        " JOIN roster m ON m.kind = 'member' AND m.deleted = 0 AND m.class_uid = c.uid"
        " LEFT JOIN progress p ON p.learner_uid = m.learner_uid"
        " WHERE c.kind = 'class' AND c.deleted = 0 GROUP BY c.uid, c.name ORDER BY c.name"
    ).fetchall()
    return _progress_table("progress-by-class", ["class_uid", "class"], rows)


def _progress_table(name: str, keys: list[str], rows: Iterable[tuple[Any, ...]]) -> Table:
    table = Table(name, [*keys, *PROGRESS_COLUMNS])
    width = len(keys)
    for row in rows:
        values = list(row)
        average = values[-1]
        values[-1] = None if average is None else round(float(average), 3)
        values[width + 5] = round(float(values[width + 5]), 1)
        table.rows.append(values)
    return table


def learner_rows() -> Iterator[list[Any]]:
    """Every learner x lesson row with the learner's name when central knows it (streamed)."""
    cursor = execute(
        "SELECT p.learner_uid, COALESCE(l.name, ''), p.pack_id, p.lesson_id, p.progress,"
        " p.completed, p.mastered, p.best_score, p.attempts, p.time_spent, p.last_activity"
        " FROM progress p LEFT JOIN roster l ON l.kind = 'learner' AND l.uid = p.learner_uid"
        " ORDER BY p.learner_uid, p.pack_id, p.lesson_id"
    )
    while batch := cursor.fetchmany(1000):
        for row in batch:
            yield list(row)


LEARNER_COLUMNS = [
    "learner_uid",
    "learner",
    "pack_id",
    "lesson_id",
    "progress",
    "completed",
    "mastered",
    "best_score",
    "attempts",
    "time_spent_seconds",
    "last_activity_ms",
]


def csv_lines(columns: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV text, a line at a time. A cell a spreadsheet would run as a formula is quoted
    with a leading apostrophe (names come from hubs, so they are not trusted)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in _prepend(columns, rows):
        writer.writerow([_safe_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _prepend(first: list[Any], rest: Iterable[list[Any]]) -> Iterator[list[Any]]:
    yield first
    yield from rest


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
