"""A reply's outcomes part from a hostile or broken central: every value range-checked, the
part bounded, and a bad one keeps nothing (sync/outcomes.py, hub/learning/outcomes.py)."""

from __future__ import annotations

from datetime import date

import pytest

from hub.learning.outcomes import checked
from sync.outcomes import MAX_RECORDS, TermsError, parse_terms, periods
from sync.records import RecordError

ABOUT = {"t": "about", "region": "Coast", "periods": [], "computed": 1}
CELL = {
    "t": "cell",
    "scope": "region",
    "by": "all",
    "key": "",
    "kind": "week",
    "period": "2026-11-30",
    "learners": 6,
    "completed": 3,
    "seconds": 60.0,
    "mastery": 0.5,
}
HIDDEN = {**CELL, "learners": None, "completed": None, "seconds": None, "mastery": None}
MISSED = {
    "t": "missed",
    "scope": "hub",
    "pack_id": "p",
    "lesson_id": "l",
    "question": "q1",
    "misses": 2,
    "attempts": 3,
    "learners": 2,
}


def test_well_formed_records_are_kept() -> None:
    assert len(checked([ABOUT, CELL, HIDDEN, MISSED])) == 4


@pytest.mark.parametrize(
    "bad",
    [
        {**CELL, "learners": -1},
        {**CELL, "completed": 10**12},
        {**CELL, "seconds": float("nan")},
        {**CELL, "seconds": float("inf")},
        {**CELL, "mastery": 1.5},
        {**CELL, "learners": True},
        {**CELL, "learners": "6"},
        {**CELL, "scope": "world"},
        {**CELL, "key": "x" * 65},
        {**MISSED, "misses": 4},
        {**MISSED, "question": ""},
        {**ABOUT, "periods": [{"kind": "week", "name": "w", "start": 0, "end": 1}] * 100},
        {**ABOUT, "region": "r" * 201},
        ["not", "an", "object"],
    ],
)
def test_a_hostile_value_refuses_the_part(bad: object) -> None:
    records = [ABOUT, bad] if not (isinstance(bad, dict) and bad.get("t") == "about") else [bad]
    with pytest.raises(RecordError):
        checked(records)


def test_a_part_is_bounded_and_starts_with_one_about() -> None:
    with pytest.raises(RecordError):
        checked([ABOUT] + [CELL] * MAX_RECORDS)
    with pytest.raises(RecordError):
        checked([CELL])
    with pytest.raises(RecordError):
        checked([ABOUT, ABOUT])


def test_terms_default_to_quarters_and_read_the_setting() -> None:
    now = 1_796_000_000_000  # 2026-11-30
    terms = [p.name for p in periods(now, []) if p.kind == "term"]
    assert terms == ["2026 Q1", "2026 Q2", "2026 Q3", "2026 Q4"]
    listed = parse_terms("Term 1: 2026-01-12..2026-04-03; Term 3: 2027-01-01..2027-03-01")
    assert listed[0] == ("Term 1", date(2026, 1, 12), date(2026, 4, 3))
    assert [p.name for p in periods(now, listed) if p.kind == "term"] == ["Term 1"]
    for bad in ("Term: 2026-04-03..2026-01-01", "Term 2026-01-01", "T: 2026-02-30..2026-03-01"):
        with pytest.raises(TermsError):
            parse_terms(bad)
