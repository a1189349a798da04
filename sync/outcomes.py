"""Outcomes over time, as central computes them and a hub receives them: the periods (weeks and
terms), the privacy floor, and the shape of the records of a reply's `outcomes` part
(docs/sync-format.md). Central builds them (sync/central/outcomes.py); a hub checks every value
here before it keeps any (hub/learning/outcomes.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sync.records import RecordError

VERSION = 1  # of the outcomes part; a hub bundle's manifest says which it reads
MIN_LEARNERS = 5  # a cell of fewer learners is hidden wherever it leaves its hub
WEEKS = 12  # weeks shown, the current one included
QUARTERS = 4  # default terms shown: calendar quarters, the current one included
MAX_TERMS = 12
MAX_RECORDS = 5_000  # in one outcomes part: a hub keeps none of a longer one
MAX_COUNT = 10**9
MAX_SECONDS = 10.0**12
MAX_TEXT = 64
MAX_REGION = 200
SCOPES = ("hub", "region")
BY = ("all", "class", "pack")
KINDS = ("week", "term")
DAY_MS = 86_400_000
TERM_LINE = re.compile(r"\s*(.+?)\s*:\s*(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})\s*")


@dataclass(frozen=True)
class Period:
    kind: str  # "week" or "term"
    name: str  # a week's Monday (YYYY-MM-DD) or the term's name
    start: int  # wall milliseconds, inclusive
    end: int  # exclusive

    def as_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "start": self.start, "end": self.end}


Term = tuple[str, date, date]  # name, first day, last day


class TermsError(ValueError):
    """The central_terms setting cannot be read; str() is one sentence."""


def parse_terms(text: str) -> list[Term]:
    """`Term 1 2026: 2026-01-12..2026-04-03; Term 2 2026: ...` as (name, first day, last day).
    Empty text: no terms (calendar quarters are used)."""
    terms = []
    for piece in filter(str.strip, text.split(";")):
        match = TERM_LINE.fullmatch(piece)
        if match is None or len(match[1]) > MAX_TEXT:
            raise TermsError(f"A term must read 'name: YYYY-MM-DD..YYYY-MM-DD', not {piece!r}.")
        try:
            first, last = date.fromisoformat(match[2]), date.fromisoformat(match[3])
        except ValueError:
            raise TermsError(f"The term {match[1]!r} has a date that does not exist.") from None
        if last < first:
            raise TermsError(f"The term {match[1]!r} ends before it starts.")
        terms.append((match[1], first, last))
    if len(terms) > MAX_TERMS:
        raise TermsError(f"At most {MAX_TERMS} terms can be listed.")
    return terms


def periods(now_ms: int, terms: Sequence[Term]) -> list[Period]:
    """The last WEEKS weeks (Monday to Sunday, UTC) and the terms, oldest first: the listed
    terms that have started, else the last QUARTERS calendar quarters."""
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    monday = today - timedelta(days=today.weekday())
    weeks = [monday - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]
    result = [Period("week", w.isoformat(), _ms(w), _ms(w + timedelta(days=7))) for w in weeks]
    listed = [(n, a, b + timedelta(days=1)) for n, a, b in terms if a <= today]
    for name, first, after in listed or _quarters(today):
        result.append(Period("term", name, _ms(first), _ms(after)))
    return result


def _quarters(today: date) -> list[tuple[str, date, date]]:
    quarters = []
    year, index = today.year, (today.month - 1) // 3
    for _ in range(QUARTERS):
        first = date(year, index * 3 + 1, 1)
        after = date(year + 1, 1, 1) if index == 3 else date(year, index * 3 + 4, 1)
        quarters.append((f"{year} Q{index + 1}", first, after))
        year, index = (year - 1, 3) if index == 0 else (year, index - 1)
    return quarters[::-1]


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


# --- the records of a reply's outcomes part ------------------------------------------------


def check_outcome(record: Any) -> dict[str, Any]:
    """One line of an outcomes part: "about" (region, periods), a "cell" (counts for a scope,
    grouping, key and period; null counts when hidden) or a "missed" question."""
    if not isinstance(record, dict):
        raise RecordError("An outcomes record must be an object.")
    kind = record.get("t")
    if kind == "about":
        return _check_about(record)
    if record.get("scope") not in SCOPES:
        raise RecordError(f"An outcomes record's scope must be one of {', '.join(SCOPES)}.")
    if kind == "cell":
        return _check_cell(record)
    if kind == "missed":
        return _check_missed(record)
    raise RecordError("An outcomes record's t must be about, cell or missed.")


def _check_about(record: dict[str, Any]) -> dict[str, Any]:
    _text(record.get("region"), "region", MAX_REGION, empty=True)
    listed = record.get("periods")
    if not isinstance(listed, list) or len(listed) > WEEKS + MAX_TERMS:
        raise RecordError(f"An outcomes record lists at most {WEEKS + MAX_TERMS} periods.")
    for period in listed:
        if not isinstance(period, dict) or period.get("kind") not in KINDS:
            raise RecordError("An outcomes period must be an object of kind week or term.")
        _text(period.get("name"), "period name", MAX_TEXT)
        for name in ("start", "end"):
            _count(period.get(name), name, 2**62)
    _count(record.get("computed"), "computed", 2**62)
    return record


def _check_cell(record: dict[str, Any]) -> dict[str, Any]:
    if record.get("by") not in BY or record.get("kind") not in KINDS:
        raise RecordError("An outcomes cell's by or kind is not one this hub knows.")
    _text(record.get("key"), "key", MAX_TEXT, empty=True)
    _text(record.get("period"), "period", MAX_TEXT)
    values = [record.get(name) for name in ("learners", "completed", "seconds", "mastery")]
    if all(value is None for value in values):
        return record  # a hidden cell
    _count(values[0], "learners", MAX_COUNT)
    _count(values[1], "completed", MAX_COUNT)
    _number(values[2], "seconds", MAX_SECONDS, nullable=False)
    _number(values[3], "mastery", 1.0, nullable=True)
    return record


def _check_missed(record: dict[str, Any]) -> dict[str, Any]:
    for name in ("pack_id", "lesson_id", "question"):
        _text(record.get(name), name, MAX_TEXT)
    _count(record.get("misses"), "misses", MAX_COUNT)
    _count(record.get("attempts"), "attempts", MAX_COUNT)
    _count(record.get("learners"), "learners", MAX_COUNT)
    if record["misses"] > record["attempts"]:
        raise RecordError("An outcomes question cannot be missed more often than answered.")
    return record


def _text(value: Any, name: str, longest: int, *, empty: bool = False) -> None:
    if not isinstance(value, str) or len(value) > longest or (not value and not empty):
        raise RecordError(f"An outcomes record's {name} must be text of at most {longest}.")


def _count(value: Any, name: str, highest: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= highest:
        raise RecordError(f"An outcomes record's {name} must be an integer from 0 to {highest}.")


def _number(value: Any, name: str, highest: float, *, nullable: bool) -> None:
    if value is None and nullable:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= highest
    ):
        raise RecordError(f"An outcomes record's {name} must be a number from 0 to {highest}.")
