"""The event log and the progress derived from it: folding ignores order, a rebuild gives what
the incremental folds gave, and HLCs keep rising across restarts whatever the wall clock says."""

from __future__ import annotations

import random
from typing import Any

import pytest
from flask import Flask

from hub.cli.common import prepare_data_dir
from hub.core.db import connected, db
from hub.core.settings import Config
from hub.learning.events import Event, EventLog, Progress, contribution, rebuild_progress
from hub.people.models import Learner
from hub.web.app import create_app
from sync.hlc import unpack
from sync.progress import MAX_TIME_SPENT

NOV_2026 = 1_795_000_000_000
YEAR_MS = 365 * 24 * 3600 * 1000
LESSONS = [("fractions-en", "halves"), ("fractions-en", "intro-video"), ("sw-pack", "zoezi")]


class FakeWall:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def __call__(self) -> int:
        return self.millis


@pytest.fixture
def learners(app: Flask) -> list[int]:
    with connected():
        return [Learner.add(name).id for name in ("Amina", "Baraka", "Chiku")]


def random_fields(rng: random.Random, kind: str) -> dict[str, Any]:
    if kind == "attempt":
        score = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0])
        return {"score": score, "correct": {}, "answered": [], "mastered": score == 1.0}
    fields: dict[str, Any] = {"progress": rng.random(), "time_spent": rng.uniform(0, 60)}
    if rng.random() < 0.3:
        fields["position"] = rng.uniform(0, 120)
    return fields


def record_random_events(log: EventLog, learner_ids: list[int], n: int, seed: int) -> None:
    rng = random.Random(seed)
    kinds = ["viewed", "progress", "progress", "progress", "completed", "attempt"]
    for _ in range(n):
        kind = rng.choice(kinds)
        pack_id, lesson_id = rng.choice(LESSONS)
        log.record(rng.choice(learner_ids), pack_id, lesson_id, kind, random_fields(rng, kind))


def snapshot() -> dict[tuple, dict[str, Any]]:
    rows = {}
    for row in Progress.select():
        values = {
            name: getattr(row, name)
            for name in (
                "progress",
                "completed",
                "mastered",
                "best_score",
                "attempts",
                "last_activity",
                "last_hlc",
            )
        }
        # A float sum depends on its order in the last bits only.
        values["time_spent"] = pytest.approx(row.time_spent, rel=1e-12, abs=1e-9)
        rows[(row.learner_id, row.pack_id, row.lesson_id)] = values
    return rows


def fold_in_order(events: list[Event]) -> None:
    with db.atomic():
        Progress.delete().execute()
        for event in events:
            Progress.fold(event)


def test_fold_ignores_the_order_of_events(learners: list[int]) -> None:
    with connected():
        record_random_events(EventLog.start(), learners, 300, seed=1)
        incremental = snapshot()
        events = list(Event.select())
        for seed in range(5):
            random.Random(seed).shuffle(events)
            fold_in_order(events)
            assert snapshot() == incremental, f"shuffle {seed}"
        fold_in_order(list(reversed(sorted(events, key=lambda e: e.hlc))))
        assert snapshot() == incremental


def test_rebuild_gives_the_rows_the_incremental_folds_gave(learners: list[int]) -> None:
    with connected():
        record_random_events(EventLog.start(), learners, 300, seed=2)
        incremental = snapshot()
        assert len(incremental) == len(
            {(e.learner_id, e.pack_id, e.lesson_id) for e in Event.select()}
        )
        assert rebuild_progress() == 300
        assert snapshot() == incremental
        # Rebuilding again reads each logged event once more, not on top of the last rebuild.
        assert rebuild_progress() == 300
        assert snapshot() == incremental


def test_rebuild_from_an_emptied_progress_table(learners: list[int]) -> None:
    with connected():
        record_random_events(EventLog.start(), learners, 50, seed=3)
        before = snapshot()
        Progress.delete().execute()
        assert snapshot() == {}
        rebuild_progress()
        assert snapshot() == before


def test_maxima_and_ors_are_unchanged_by_a_duplicate(learners: list[int]) -> None:
    """Progress, completion, mastery, best score and last activity are joins: folding an event
    they already contain changes none of them. (Attempts and time are sums over distinct
    events: the log's unique seq, and sync's unique keys, keep an event from arriving twice.)"""
    with connected():
        record_random_events(EventLog.start(), learners, 100, seed=4)
        before = snapshot()
        events = list(Event.select())
        for event in random.Random(4).sample(events, 30):
            Progress.fold(event)
        after = snapshot()
        for key, row in before.items():
            for name in ("progress", "completed", "mastered", "best_score", "last_hlc"):
                assert after[key][name] == row[name], (key, name)


def test_sums_count_distinct_events(learners: list[int]) -> None:
    with connected():
        log = EventLog.start()
        who = learners[0]
        log.record(who, "p", "l", "progress", {"progress": 0.2, "time_spent": 10})
        log.record(who, "p", "l", "progress", {"progress": 0.2, "time_spent": 10})
        log.record(who, "p", "l", "attempt", {"score": 0.5, "mastered": False})
        log.record(who, "p", "l", "attempt", {"score": 0.25, "mastered": False})
        row = Progress.get(learner=who, pack_id="p", lesson_id="l")
    assert row.time_spent == 20 and row.attempts == 2 and row.best_score == 0.5


def test_contribution_clamps_what_a_client_could_send() -> None:
    event = Event(type="progress", fields={"progress": 7, "time_spent": 10**9})
    assert contribution(event)["progress"] == 1.0
    assert contribution(event)["time_spent"] == MAX_TIME_SPENT
    event = Event(type="progress", fields={"progress": -3, "time_spent": -5})
    assert contribution(event)["progress"] == 0 and contribution(event)["time_spent"] == 0
    # A client cannot make a progress event count as an attempt or as mastery.
    event = Event(type="progress", fields={"score": 1.0, "mastered": True})
    got = contribution(event)
    assert got["attempts"] == 0 and got["mastered"] is False and got["best_score"] is None


def test_the_log_refuses_unknown_types(learners: list[int]) -> None:
    with connected(), pytest.raises(ValueError):
        EventLog.start().record(learners[0], "p", "l", "deleted", {})


# --- HLCs across restarts --------------------------------------------------------------------


def test_hlcs_rise_across_a_restart_with_the_clock_set_back(learners: list[int]) -> None:
    with connected():
        first = EventLog.start(now=FakeWall(NOV_2026))
        before = [first.record(learners[0], "p", "l", "viewed").hlc for _ in range(5)]
        # The Pi restarts without network: its clock says 1970, then a wrong NTP fix says 2019.
        for wall in (0, NOV_2026 - 7 * YEAR_MS):
            restarted = EventLog.start(now=FakeWall(wall))
            assert restarted.boot_id != first.boot_id
            after = [restarted.record(learners[1], "p", "l", "viewed").hlc for _ in range(5)]
            assert min(after) > max(before)
            before = after
        by_seq = [e.hlc for e in Event.select().order_by(Event.seq)]
    assert by_seq == sorted(by_seq) and len(set(by_seq)) == len(by_seq)


def test_a_restarted_app_resumes_after_the_newest_stored_hlc(config: Config) -> None:
    """The real factory: events stamped in 2036 (the clock ran ahead), then the hub restarts
    with a correct clock; its next event still sorts after them."""
    create_app(prepare_data_dir(config))
    with connected():
        amina = Learner.add("Amina").id
        ahead = EventLog.start(now=FakeWall(NOV_2026 + 10 * YEAR_MS))
        newest = max(ahead.record(amina, "p", "l", "viewed").hlc for _ in range(3))
    app = create_app(prepare_data_dir(config))
    with app.app_context(), connected():
        event = app.extensions["events"].record(amina, "p", "l", "viewed")
    assert event.hlc > newest
    assert unpack(event.hlc)[0] == unpack(newest)[0]  # held at the newest millisecond seen


def test_last_hlc_of_an_empty_log_is_zero(app: Flask) -> None:
    with connected():
        assert Event.last_hlc() == 0
        assert EventLog.start(now=FakeWall(5)).clock.last == 0
