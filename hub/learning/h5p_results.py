"""What an H5P activity's result becomes: the hub's own progress events.

The player runs in the learner's browser, so a result is the learner's browser's word, as it is
for any H5P or Kolibri server; it is range-checked here and counts like a quiz attempt: the
score is the share of points, full marks (or H5P's own "passed") is mastery.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hub.learning.events import EventLog

MAX_POINTS = 10_000  # an activity's maximum score; H5P question sets reach a few hundred


class ResultError(ValueError):
    """A result that no activity could have sent; str(err) says which field is wrong."""


@dataclass(frozen=True)
class H5PResult:
    raw: float | None  # points scored, None for an activity without a score
    max: float | None
    passed: bool

    @classmethod
    def parse(cls, body: dict[str, Any]) -> H5PResult:
        raw, most = _finite(body.get("score")), _finite(body.get("max"))
        passed = body.get("success") is True
        if "score" not in body and "max" not in body:
            return cls(None, None, passed)
        if most is None or not 0 < most <= MAX_POINTS:
            raise ResultError("max")
        if raw is None or not 0 <= raw <= most:
            raise ResultError("score")
        return cls(raw, most, passed)

    @property
    def share(self) -> float | None:
        return None if self.raw is None or not self.max else self.raw / self.max


def _finite(value: Any) -> float | None:
    """A finite JSON number as a float; None for anything else (true, "3", NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def record_result(
    log: EventLog, learner_id: int, pack_id: str, lesson_id: str, result: H5PResult
) -> None:
    """A scored activity is an attempt (score, mastery); an unscored one is completed."""
    share = result.share
    if share is None:
        log.record(learner_id, pack_id, lesson_id, "completed", {"progress": 1.0})
        return
    fields = {
        "score": round(share, 4),
        "points": result.raw,
        "max_points": result.max,
        "mastered": result.passed or share >= 1.0,
        "progress": 1.0,
    }
    log.record(learner_id, pack_id, lesson_id, "attempt", fields)
