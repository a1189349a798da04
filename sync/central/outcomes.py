"""Outcomes across hubs, per week and term: active learners, lessons completed, time spent,
mastery rate, and the questions most often missed, by region, hub, class or pack.

Computed from the event log (SQL that SQLite and PostgreSQL both run), not from the folded
progress, because outcomes are about when things happened:

- an **active learner** sent at least one event in the period;
- a **lesson completed** is a learner x lesson with an event in the period that completes it
  (type `completed`, progress 1, or a mastered attempt: the rule of sync/progress.py);
- **time spent** is the sum of the `time_spent` seconds the hubs' progress reports carry (each
  report adds the seconds since the previous one, at most 4 hours: sync/bounds.py);
- the **mastery rate** is the share of learner x exercise pairs attempted in the period that
  had a mastered attempt in it;
- a **missed question** is an attempt whose `correct` map says false for it.

Periods are by the event's wall clock (the hub's, UTC). A cell (one key in one period) counted
from fewer than MIN_LEARNERS learners is hidden wherever it leaves its own hub.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sync.central.db import execute, is_postgres
from sync.central.models import Hub, PackRelease, Roster
from sync.outcomes import MAX_RECORDS, MAX_TEXT, MIN_LEARNERS, Period

BY_KEYS = {
    "all": "''",
    "region": "ev.region",
    "hub": "ev.hub_id",
    "pack": "ev.pack",
    "class": "c.uid",
}
CLASS_JOIN = (
    " JOIN roster m ON m.kind = 'member' AND m.deleted = 0 AND m.learner_uid = ev.learner"
    " JOIN roster c ON c.kind = 'class' AND c.deleted = 0 AND c.uid = m.class_uid"
)
MISSED_SHOWN = 10


@dataclass(frozen=True)
class Scope:
    """Which events count: all, one region's, or one hub's. `own` marks the hub's own view,
    which alone shows cells below the floor (and only its own classes)."""

    region: str | None = None
    hub_id: str | None = None
    own: bool = False

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if self.region is not None:
            clauses.append("h.region = ?")
            params.append(self.region)
        if self.hub_id is not None:
            clauses.append("s.hub_id = ?")
            params.append(self.hub_id)
        return (" AND ".join(clauses) or "1 = 1"), params


@dataclass(frozen=True)
class Cell:
    kind: str
    period: str
    by: str
    key: str
    learners: int | None  # None: hidden, fewer than MIN_LEARNERS
    completed: int | None = None
    seconds: float | None = None
    mastery: float | None = None  # None also when nothing was attempted

    @property
    def hidden(self) -> bool:
        return self.learners is None


@dataclass(frozen=True)
class Missed:
    pack_id: str
    lesson_id: str
    question: str
    misses: int
    attempts: int
    learners: int


def _number(path: str) -> str:
    """A numeric field of the event's JSON, NULL when absent or not a number."""
    if is_postgres():
        value = f"e.fields::jsonb -> '{path}'"
        return f"CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::text::float END"
    return (
        f"CASE WHEN json_type(e.fields, '$.{path}') IN ('integer', 'real')"
        f" THEN json_extract(e.fields, '$.{path}') END"
    )


def _true(path: str) -> str:
    if is_postgres():
        return f"(e.fields::jsonb -> '{path}') = 'true'::jsonb"
    return f"json_type(e.fields, '$.{path}') = 'true'"


def _periods_sql(periods: Sequence[Period]) -> tuple[str, list[Any]]:
    row = "SELECT CAST(? AS TEXT) AS kind, CAST(? AS TEXT) AS name, CAST(? AS BIGINT) AS s,"
    row += " CAST(? AS BIGINT) AS e"
    params: list[Any] = []
    for period in periods:
        params += [period.kind, period.name, period.start, period.end]
    return " UNION ALL ".join([row] * len(periods)), params


def _events_sql(periods: Sequence[Period], scope: Scope) -> tuple[str, list[Any]]:
    """One row per event and period it falls in, with what it adds to each measure."""
    per, params = _periods_sql(periods)
    where, more = scope.where()
    mastered = _true("mastered")
    sql = (
        f"WITH per AS ({per}), ev AS ("
        " SELECT per.kind, per.name AS period, s.hub_id, h.region, e.learner_uid AS learner,"
        " e.pack_id AS pack, e.learner_uid || ' ' || e.pack_id || ' ' || e.lesson_id AS pair,"
        f" CASE WHEN e.type = 'completed' OR {_number('progress')} >= 1"
        f" OR (e.type = 'attempt' AND {mastered}) THEN 1 ELSE 0 END AS done,"
        " CASE WHEN e.type = 'attempt' THEN 1 ELSE 0 END AS tried,"
        f" CASE WHEN e.type = 'attempt' AND {mastered} THEN 1 ELSE 0 END AS won,"
        f" COALESCE({_number('time_spent')}, 0) AS spent"
        " FROM event e JOIN stream s ON s.id = e.stream_id JOIN hub h ON h.hub_id = s.hub_id"
        f" JOIN per ON e.wall >= per.s AND e.wall < per.e WHERE {where})"
    )
    return sql, params + more


def cells(periods: Sequence[Period], scope: Scope, by: str) -> list[Cell]:
    """The measures of every key of `by` in every period (a key with no event in a period
    has no cell); cells under the floor hidden unless `scope.own`."""
    if not periods:
        return []
    sql, params = _events_sql(periods, scope)
    join, owner = "", ""
    if by == "class":
        join = CLASS_JOIN
        if scope.own and scope.hub_id is not None:
            owner = " WHERE c.owner = ?"  # a hub sees its own classes only
            params.append(scope.hub_id)
    key = BY_KEYS[by]
    grouped = "" if by == "all" else f", {key}"  # PostgreSQL groups by no constant
    rows = execute(
        f"{sql} SELECT ev.kind, ev.period, {key}, COUNT(DISTINCT ev.learner),"
        " COUNT(DISTINCT CASE WHEN ev.done = 1 THEN ev.pair END), SUM(ev.spent),"
        " COUNT(DISTINCT CASE WHEN ev.won = 1 THEN ev.pair END),"
        " COUNT(DISTINCT CASE WHEN ev.tried = 1 THEN ev.pair END)"
        f" FROM ev{join}{owner} GROUP BY ev.kind, ev.period{grouped}",
        params,
    ).fetchall()
    found = [_cell(by, row) for row in rows]
    return [c if scope.own else floor(c) for c in found]


def _cell(by: str, row: Sequence[Any]) -> Cell:
    kind, period, key, learners, completed, seconds, won, tried = row
    return Cell(
        kind,
        period,
        by,
        str(key or ""),
        int(learners),
        int(completed),
        round(float(seconds or 0), 1),
        round(int(won) / int(tried), 4) if tried else None,
    )


def floor(cell: Cell) -> Cell:
    """The cell, or the cell with every measure hidden when it counts too few learners."""
    if cell.learners is not None and cell.learners < MIN_LEARNERS:
        return replace(cell, learners=None, completed=None, seconds=None, mastery=None)
    return cell


def missed(start: int, end: int, scope: Scope, limit: int = MISSED_SHOWN) -> list[Missed]:
    """The questions most often answered wrong between `start` and `end`, most misses first;
    beyond a hub's own view only questions at least MIN_LEARNERS learners answered."""
    where, params = scope.where()
    if is_postgres():
        answers = "e.fields::jsonb -> 'correct'"
        source = (
            f", LATERAL jsonb_each(CASE WHEN jsonb_typeof({answers}) = 'object'"
            f" THEN {answers} ELSE '{{}}'::jsonb END) j"
        )
        wrong, answered = "j.value = 'false'::jsonb", "jsonb_typeof(j.value) = 'boolean'"
    else:
        source = ", json_each(CASE WHEN json_type(e.fields, '$.correct') = 'object'"
        source += " THEN json_extract(e.fields, '$.correct') ELSE '{}' END) j"
        wrong, answered = "j.type = 'false'", "j.type IN ('true', 'false')"
    least = 1 if scope.own else MIN_LEARNERS
    rows = execute(
        f"SELECT e.pack_id, e.lesson_id, j.key, SUM(CASE WHEN {wrong} THEN 1 ELSE 0 END) AS n,"
        " COUNT(*), COUNT(DISTINCT e.learner_uid)"
        f" FROM event e JOIN stream s ON s.id = e.stream_id JOIN hub h ON h.hub_id = s.hub_id"
        f"{source} WHERE e.type = 'attempt' AND {answered} AND e.wall >= ? AND e.wall < ?"
        f" AND {where} GROUP BY e.pack_id, e.lesson_id, j.key"
        f" HAVING SUM(CASE WHEN {wrong} THEN 1 ELSE 0 END) > 0"
        " AND COUNT(DISTINCT e.learner_uid) >= ? ORDER BY n DESC, e.pack_id, e.lesson_id, j.key"
        " LIMIT ?",
        [start, end, *params, least, limit],
    ).fetchall()
    return [
        Missed(str(row[0]), str(row[1]), str(row[2]), int(row[3]), int(row[4]), int(row[5]))
        for row in rows
        if _fits(row)
    ]


def _fits(row: Sequence[Any]) -> bool:
    return all(isinstance(text, str) and 0 < len(text) <= MAX_TEXT for text in row[:3])


# --- what a reply tells a hub (docs/sync-format.md, "outcomes") -----------------------------


def reply_records(hub_id: str, region: str, periods: Sequence[Period], now: int) -> list[Any]:
    """The hub's own cells (all, its classes, packs: counts only, never a name) and, when it
    has a region, the region's (all, packs) under the floor; the most missed questions of
    both; at most MAX_RECORDS lines."""
    about = {
        "t": "about",
        "region": region,
        "periods": [p.as_record() for p in periods],
        "computed": now,
    }
    own = Scope(hub_id=hub_id, own=True)
    found: list[tuple[str, Cell]] = [
        ("hub", cell) for by in ("all", "class", "pack") for cell in cells(periods, own, by)
    ]
    scopes = [("hub", own)]
    if region:
        shared = Scope(region=region)
        found += [("region", cell) for by in ("all", "pack") for cell in cells(periods, shared, by)]
        scopes.append(("region", shared))
    start, end = min(p.start for p in periods), max(p.end for p in periods)
    records: list[Any] = [about, *(_cell_record(scope, cell) for scope, cell in found)]
    for name, scope in scopes:
        records += [_missed_record(name, m) for m in missed(start, end, scope)]
    return records[:MAX_RECORDS]


def _cell_record(scope: str, cell: Cell) -> dict[str, Any]:
    return {
        "t": "cell",
        "scope": scope,
        "by": cell.by,
        "key": cell.key[:MAX_TEXT],
        "kind": cell.kind,
        "period": cell.period,
        "learners": cell.learners,
        "completed": cell.completed,
        "seconds": cell.seconds,
        "mastery": cell.mastery,
    }


def _missed_record(scope: str, item: Missed) -> dict[str, Any]:
    return {"t": "missed", "scope": scope, **item.__dict__}


# --- what central staff see ------------------------------------------------------------------


def labels(by: str, keys: Sequence[str]) -> dict[str, str]:
    """A name for each key: the hub's, the class's or the pack's title where central knows
    one, else the key itself."""
    names: dict[str, str] = {}
    if by == "hub":
        names = {h.hub_id: h.name for h in Hub.select().where(Hub.hub_id.in_(list(keys)))}
    elif by == "class":
        found = Roster.select().where(Roster.kind == "class", Roster.uid.in_(list(keys)))
        names = {r.uid: r.name for r in found}
    elif by == "pack":
        names = {
            p.pack_id: p.title
            for p in PackRelease.select().where(PackRelease.pack_id.in_(list(keys)))
        }
    return {key: names.get(key) or key for key in keys}


def regions() -> list[str]:
    return sorted({hub.region for hub in Hub.select(Hub.region)})


def hubs() -> list[Hub]:
    return Hub.ordered()
