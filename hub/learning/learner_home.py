"""What a signed-in learner sees above the library: the lessons they were last busy with, and
the work set for their classes with where they stand in each lesson.

A topic assignment stands for the same lessons the coach's report lists
(hub.learning.reports.expand), so the learner and the coach never disagree about what was set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from hub.learning.events import Progress
from hub.learning.reports import LessonKey, expand, key_of, lessons_by_key, status_of
from hub.library.models import Lesson, Pack
from hub.library.zim_articles import KIND as ZIM
from hub.people.models import Assignment, Learner

CONTINUE_LIMIT = 6
WEEK_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class LessonState:
    """A lesson with this learner's status in it ("not_started", "in_progress", ...)."""

    lesson: Lesson
    status: str
    progress: float  # 0..1
    pack_title: str = ""

    @property
    def percent(self) -> int:
        return round(self.progress * 100)


@dataclass(frozen=True)
class Assigned:
    title: str
    pack_title: str
    is_topic: bool
    lessons: list[LessonState]

    @property
    def done(self) -> int:
        return sum(1 for state in self.lessons if state.status == "completed")


@dataclass(frozen=True)
class LearnerHome:
    continuing: list[LessonState]
    assigned: list[Assigned]
    done_this_week: int = 0  # lessons finished (last busy with) in the past seven days

    @property
    def empty(self) -> bool:
        return not self.continuing and not self.assigned

    @property
    def next_up(self) -> LessonState | None:
        """The one lesson to do next: the one last left unfinished, else the first assigned
        lesson not yet done."""
        if self.continuing:
            return self.continuing[0]
        waiting = (s for item in self.assigned for s in item.lessons if s.status != "completed")
        return next(waiting, None)


def learner_home(learner: Learner, now_ms: int | None = None) -> LearnerHome:
    rows = {(row.pack_id, row.lesson_id): row for row in Progress.of_learner(learner.id)}
    since = (now_ms if now_ms is not None else int(time.time() * 1000)) - WEEK_MS
    done = sum(1 for r in rows.values() if status_of(r) == "completed" and r.last_activity >= since)
    return LearnerHome(continuing(rows), assigned(learner, rows), done)


def continuing(rows: dict[LessonKey, Progress], limit: int = CONTINUE_LIMIT) -> list[LessonState]:
    """The most recent lessons started and not finished, newest first, that are still here."""
    open_rows = sorted(
        (row for row in rows.values() if status_of(row) != "completed"),
        key=lambda row: row.last_hlc,
        reverse=True,
    )
    lessons = lessons_by_key((row.pack_id, row.lesson_id) for row in open_rows)
    found = [
        _state(lessons[key], row)
        for row in open_rows
        if (key := (row.pack_id, row.lesson_id)) in lessons
    ][:limit]
    titles = _pack_titles({state.lesson.pack_id for state in found})
    return [replace(state, pack_title=titles.get(state.lesson.pack_id, "")) for state in found]


def next_assigned(learner: Learner, after: LessonKey) -> Lesson | None:
    """Where a learner with work set goes on from `after`: the first set lesson they have not
    finished, in the learner home's order; None when nothing else set is waiting (or nothing
    is set, in one indexed query)."""
    work = Assignment.for_learner(learner)
    if not work:
        return None
    rows = {(row.pack_id, row.lesson_id): row for row in Progress.of_learner(learner.id)}
    waiting = (
        state.lesson
        for item in _assigned(work, rows)
        for state in item.lessons
        if state.status != "completed" and key_of(state.lesson) != after
    )
    return next(waiting, None)


def assigned(learner: Learner, rows: dict[LessonKey, Progress]) -> list[Assigned]:
    return _assigned(Assignment.for_learner(learner), rows)


def _assigned(work: list[Assignment], rows: dict[LessonKey, Progress]) -> list[Assigned]:
    """The learner's classes' assignments, newest first; one lesson or topic set for two of
    their classes is listed once, and work no longer in the library is left out."""
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for a in work:
        what = (a.pack_id, a.topic_id or "", a.lesson_id or "")
        if what not in seen:
            seen.add(what)
            unique.append(a)
    return [
        Assigned(
            title=item.title,
            pack_title=item.pack_title or "",
            is_topic=item.is_topic,
            lessons=[_state(lesson, rows.get(key_of(lesson))) for lesson in item.lessons],
        )
        for item in expand(unique)
        if item.title is not None and item.lessons  # not missing
    ]


def _pack_titles(pack_ids: set[str]) -> dict[str, str]:
    if not pack_ids:
        return {}
    return {p.id: p.title for p in Pack.select(Pack.id, Pack.title).where(Pack.id.in_(pack_ids))}


def _state(lesson: Lesson, row: Progress | None) -> LessonState:
    # An assigned ZIM article is done once read: a visit is all it records.
    status = "completed" if lesson.kind == ZIM and row is not None else status_of(row)
    progress = 1.0 if status == "completed" else (row.progress if row else 0.0)
    return LessonState(lesson, status, progress)
