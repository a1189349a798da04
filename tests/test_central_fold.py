"""Central folds progress by the hub's own rule: the two `contribution` functions agree on
every kind of event, well formed or not (sync/central may not import the hub's)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from hub.learning.events import contribution as hub_contribution
from sync.progress import contribution as central_contribution

FIELDS = [
    {},
    {"progress": 0.5, "time_spent": 30},
    {"progress": 1, "time_spent": 5},
    {"progress": 1.7, "time_spent": -3},
    {"progress": "0.5", "time_spent": "10"},
    {"progress": True, "time_spent": False},
    {"progress": math.nan, "time_spent": math.inf},
    {"time_spent": 10 * 3600},
    {"score": 0.75, "mastered": False},
    {"score": 1.0, "mastered": True},
    {"score": 2, "mastered": "yes"},
    {"score": None, "correct": {"q1": True}},
    {"progress": 0.99, "score": -1, "mastered": True, "time_spent": 12.5},
    ["not", "an", "object"],
    None,
]
TYPES = ["viewed", "progress", "completed", "attempt", "unknown"]
ORDER = ["progress", "completed", "mastered", "best_score", "attempts", "time_spent"]


@pytest.mark.parametrize("type_", TYPES)
@pytest.mark.parametrize("fields", FIELDS, ids=range(len(FIELDS)))
def test_central_and_hub_fold_an_event_alike(type_, fields):
    hub = hub_contribution(SimpleNamespace(type=type_, fields=fields))
    central = central_contribution(type_, fields)
    assert [hub[name] for name in ORDER] == [
        bool(value) if name in ("completed", "mastered") else value
        for name, value in zip(ORDER, central, strict=True)
    ]
