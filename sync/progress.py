"""What one progress event adds to its learner x lesson row. The hub (hub/learning/events.py) and
central (sync/central/apply.py) both fold by this one rule, so a lesson's progress is the same
wherever it is folded.

The row is a join that ignores order and duplicates: completed and mastered are ORs, progress
and best score maxima, attempts and time spent sums over distinct events.
"""

from __future__ import annotations

import math
from typing import Any

MAX_TIME_SPENT = 4 * 3600.0  # seconds one report may add: more is a stuck tab, not study


def contribution(type: str, fields: Any) -> tuple[float, int, int, float | None, int, float]:
    """(progress, completed, mastered, best_score, attempts, time_spent) of one event. Fields
    come from a hub's bundle: anything malformed counts as nothing rather than failing."""
    fields = fields if isinstance(fields, dict) else {}
    is_attempt = type == "attempt"
    fraction = _clamped(fields.get("progress"), 1.0) or 0.0
    mastered = is_attempt and fields.get("mastered") is True
    return (
        1.0 if mastered or type == "completed" else fraction,
        int(type == "completed" or fraction >= 1.0 or mastered),
        int(mastered),
        _clamped(fields.get("score"), 1.0) if is_attempt else None,
        1 if is_attempt else 0,
        _clamped(fields.get("time_spent"), MAX_TIME_SPENT) or 0.0,
    )


def _clamped(value: Any, high: float) -> float | None:
    """A finite number clamped to [0, high], or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return min(max(float(value), 0.0), high)
