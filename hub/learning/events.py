"""The event log (append-only, ordered by HLC) and the progress derived from it.

Derived progress is a join that ignores order and duplicates, so it can be rebuilt from the
log at any time and merged across hubs: completed and mastered are ORs, progress and best
score are maxima, attempts and time spent are sums over distinct events.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from peewee import (
    EXCLUDED,
    AutoField,
    BooleanField,
    CharField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    fn,
)

from hub.core.db import BaseModel, db
from hub.people.models import Learner
from sync.hlc import HybridClock, wall_millis
from sync.progress import contribution as fold_rule

EVENT_TYPES = ("viewed", "progress", "completed", "attempt")
NEEDS_HELP_ATTEMPTS = 3


class Event(BaseModel):
    seq = AutoField()
    hlc = IntegerField()
    wall_time = IntegerField()
    boot_id = CharField()
    learner = ForeignKeyField(Learner)
    pack_id = CharField()
    lesson_id = CharField()
    type = CharField()
    fields = JSONField(default=dict)

    @classmethod
    def last_hlc(cls) -> int:
        return cls.select(fn.MAX(cls.hlc)).scalar() or 0

    @classmethod
    def since(cls, seq: int, limit: int = 1000) -> list[Event]:
        return list(cls.select().where(cls.seq > seq).order_by(cls.seq).limit(limit))

    @classmethod
    def attempts_of(cls, learner_id: int, pack_id: str, lesson_id: str) -> list[Event]:
        return list(
            cls.select()
            .where(
                cls.learner == learner_id,
                cls.pack_id == pack_id,
                cls.lesson_id == lesson_id,
                cls.type == "attempt",
            )
            .order_by(cls.hlc)
        )


class Progress(BaseModel):
    learner = ForeignKeyField(Learner, on_delete="CASCADE")
    pack_id = CharField()
    lesson_id = CharField()
    progress = FloatField(default=0)
    completed = BooleanField(default=False)
    best_score = FloatField(null=True)
    attempts = IntegerField(default=0)
    time_spent = FloatField(default=0)
    mastered = BooleanField(default=False)
    last_activity = IntegerField()
    last_hlc = IntegerField()

    @property
    def status(self) -> str:
        if self.completed or self.mastered:
            return "completed"
        if self.attempts >= NEEDS_HELP_ATTEMPTS or (
            self.best_score is not None and self.best_score < 0.5 and self.attempts >= 2
        ):
            return "needs_help"
        return "in_progress"

    @classmethod
    def of_learner(cls, learner_id: int) -> list[Progress]:
        return list(cls.select().where(cls.learner == learner_id).order_by(cls.last_hlc.desc()))

    @classmethod
    def fold(cls, event: Event) -> None:
        """Merge one event into its learner x lesson row (an upsert of maxima, ORs and sums)."""
        delta = contribution(event)
        cls.insert(
            learner=event.learner_id,
            pack_id=event.pack_id,
            lesson_id=event.lesson_id,
            last_activity=event.wall_time,
            last_hlc=event.hlc,
            **delta,
        ).on_conflict(
            conflict_target=[cls.learner, cls.pack_id, cls.lesson_id],
            update={
                cls.progress: fn.MAX(cls.progress, EXCLUDED.progress),
                cls.completed: fn.MAX(cls.completed, EXCLUDED.completed),
                cls.mastered: fn.MAX(cls.mastered, EXCLUDED.mastered),
                # SQLite's MAX() of a NULL is NULL: keep whichever score exists.
                cls.best_score: fn.MAX(
                    fn.COALESCE(cls.best_score, EXCLUDED.best_score),
                    fn.COALESCE(EXCLUDED.best_score, cls.best_score),
                ),
                cls.attempts: cls.attempts + EXCLUDED.attempts,
                cls.time_spent: cls.time_spent + EXCLUDED.time_spent,
                cls.last_activity: fn.MAX(cls.last_activity, EXCLUDED.last_activity),
                cls.last_hlc: fn.MAX(cls.last_hlc, EXCLUDED.last_hlc),
            },
        ).execute()


def contribution(event: Event) -> dict[str, Any]:
    """What one event adds to its progress row, by the rule central folds by too."""
    progress, completed, mastered, best_score, attempts, time_spent = fold_rule(
        event.type, event.fields
    )
    return {
        "progress": progress,
        "completed": bool(completed),
        "mastered": bool(mastered),
        "best_score": best_score,
        "attempts": attempts,
        "time_spent": time_spent,
    }


# The log's turn: held by one appending thread at a time (re-entered by a `turn()` that
# records an event).
_appending = threading.RLock()


@dataclass
class EventLog:
    """Appends events: one HLC tick, one row, one progress fold, one durable commit."""

    clock: HybridClock
    boot_id: str

    @classmethod
    def start(cls, now: Any = wall_millis) -> EventLog:
        """Resume the clock after the newest event, so HLCs never go backwards across runs."""
        return cls(clock=HybridClock(last=Event.last_hlc(), now=now), boot_id=uuid.uuid4().hex)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """The log's turn and a write transaction, in that order: for work that writes and
        then records an event in the same transaction (finishing a quiz). Holding SQLite's
        write lock while asking for the turn waited for a poster that held the turn while it
        waited for the write lock, until SQLite's busy timeout failed the poster (10 s; on
        the bench, one progress post in twenty of a class of 40). IMMEDIATE takes the write
        lock at once: a transaction that read first could not take it later if another
        connection wrote in between."""
        with _appending, db.atomic("IMMEDIATE"):
            yield

    def record(
        self,
        learner_id: int,
        pack_id: str,
        lesson_id: str,
        type: str,
        fields: dict[str, Any] | None = None,
    ) -> Event:
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}")
        # One append at a time in this process, waiting in turn here rather than in SQLite's
        # busy handler: that one sleeps longer at each try, so a learner whose phone lost the
        # race a few times waited while the others' posts went in (4 learners posting at
        # once with the server on one CPU: 5 events for one against 88-104 for the others).
        with self.turn():
            event = Event.create(
                hlc=self.clock.tick(),
                wall_time=wall_millis(),
                boot_id=self.boot_id,
                learner=learner_id,
                pack_id=pack_id,
                lesson_id=lesson_id,
                type=type,
                fields=fields or {},
            )
            Progress.fold(event)
        return event


def rebuild_progress() -> int:
    """Recompute every progress row from the log; returns the number of events read."""
    count = 0
    with db.atomic():
        Progress.delete().execute()
        for event in Event.select().order_by(Event.seq).iterator():
            Progress.fold(event)
            count += 1
    return count
