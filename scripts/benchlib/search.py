"""Section "search": 20,000 generated lessons indexed by the hub's search, beside SQLite FTS5
(the measuring itself lives in scripts/bench_search.py, which also runs on its own)."""

from __future__ import annotations

import bench_search

from benchlib.context import Context
from benchlib.report import Row, SectionResult


def run(context: Context) -> SectionResult:
    result = SectionResult("search")
    measured = bench_search.measure()
    for measure, value, shown, budget, ok in measured.rows:
        result.add(Row(measure, value, shown, budget, ok))
    result.raw = measured.raw
    return result
