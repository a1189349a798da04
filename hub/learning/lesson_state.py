"""Where a signed-in learner stands in one lesson, for its page: done or not, and where to
pick it up again (the last position a player or the PDF viewer reported, or the place in a
book its reader reported, so a learner resumes on another device). Two indexed lookups;
visitors never ask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.learning.book_place import is_book_place
from hub.learning.events import Event, Progress
from hub.library.models import TopicNode

# Kinds whose position is a place to go back to: seconds played, a PDF's page, or the share of
# a reading above the screen.
RESUMABLE = ("video", "audio", "pdf", "article")


@dataclass(frozen=True)
class MyLesson:
    done: bool  # completed, or mastered for a quiz
    mastered: bool
    position: float | None  # where to resume, or None: from the start
    place: str | None = None  # in a book, where to resume (an EPUB CFI)


def my_lesson(learner_id: int, pack_id: str, lesson_id: str, kind: str) -> MyLesson:
    row = Progress.get_or_none(
        Progress.learner == learner_id, Progress.pack_id == pack_id, Progress.lesson_id == lesson_id
    )
    if row is None:
        return MyLesson(False, False, None)
    done = row.status == "completed"
    if kind == "epub":
        place = _newest_fields(learner_id, pack_id, lesson_id).get("place")
        return MyLesson(done, bool(row.mastered), None, place if is_book_place(place) else None)
    position = _last_position(learner_id, pack_id, lesson_id) if kind in RESUMABLE else None
    return MyLesson(done, bool(row.mastered), position)


def _last_position(learner_id: int, pack_id: str, lesson_id: str) -> float | None:
    position = _newest_fields(learner_id, pack_id, lesson_id).get("position")
    return float(position) if isinstance(position, int | float) and position > 0 else None


def _newest_fields(learner_id: int, pack_id: str, lesson_id: str) -> dict[str, Any]:
    """The fields of the learner's newest progress or completion report on the lesson ({} for
    none)."""
    newest = (
        Event.select(Event.fields)
        .where(
            Event.learner == learner_id,
            Event.pack_id == pack_id,
            Event.lesson_id == lesson_id,
            Event.type.in_(("progress", "completed")),  # finishing reports the place too
        )
        .order_by(Event.seq.desc())
        .first()
    )
    return (newest.fields or {}) if newest else {}


@dataclass(frozen=True)
class PackMarks:
    """A signed-in learner's marks on one pack's page: each lesson done (✓) or mastered (★),
    and how far each topic's bar is filled."""

    done: frozenset[str]  # lesson ids completed, or mastered
    mastered: frozenset[str]

    def of_topic(self, node: TopicNode) -> tuple[int, int]:
        """(lessons done, lessons) in the topic and its sub-topics."""
        done, total = sum(1 for x in node.lessons if x.lesson_id in self.done), len(node.lessons)
        for child in node.children:
            more_done, more = self.of_topic(child)
            done, total = done + more_done, total + more
        return done, total


def pack_marks(learner_id: int, pack_id: str) -> PackMarks:
    """One indexed query (progress is unique on learner, pack, lesson)."""
    rows = Progress.select(Progress.lesson_id, Progress.completed, Progress.mastered).where(
        Progress.learner == learner_id, Progress.pack_id == pack_id
    )
    done, mastered = set(), set()
    for row in rows:
        if row.completed or row.mastered:
            done.add(row.lesson_id)
        if row.mastered:
            mastered.add(row.lesson_id)
    return PackMarks(frozenset(done), frozenset(mastered))
