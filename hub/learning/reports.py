"""What coaches ask of the data: the learner x lesson grid, one learner's story, how hard each
question was, and the assignments that say which lessons a class should do.

Every report reads in a fixed number of queries whatever the class size (one for the grid's
progress rows, not one per cell): a Pi serves a whole staff room at once.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from peewee import Expression, Field, fn

from content.errors import PackError
from content.exercise import Exercise
from hub.core.translate import gettext
from hub.learning.events import Event, Progress
from hub.library import lessons as lesson_service
from hub.library.models import Lesson, Pack, Topic, TopicNode
from hub.library.zim_articles import KIND as ZIM
from hub.library.zim_articles import is_zim, zim_article
from hub.people.models import Assignment, ClassGroup, ClassMember, Learner

NOT_STARTED = "not_started"
# The order every report, legend and chart uses.
STATUSES = (NOT_STARTED, "in_progress", "needs_help", "completed")
RECENT_ATTEMPTS = 10

LessonKey = tuple[str, str]  # (pack_id, lesson_id): a lesson's identity across pack upgrades


def status_of(row: Progress | None) -> str:
    return NOT_STARTED if row is None else row.status


def key_of(lesson: Lesson) -> LessonKey:
    return lesson.pack_id, lesson.lesson_id


def _matching(pack_field: Field, lesson_field: Field, keys: Iterable[LessonKey]) -> Expression:
    """A WHERE clause for a set of lessons: one `pack = ? AND lesson IN (...)` per pack."""
    by_pack: dict[str, list[str]] = {}
    for pack_id, lesson_id in keys:
        by_pack.setdefault(pack_id, []).append(lesson_id)
    return reduce(
        operator.or_,
        ((pack_field == pack) & lesson_field.in_(ids) for pack, ids in by_pack.items()),
    )


def lessons_by_key(keys: Iterable[LessonKey]) -> dict[LessonKey, Lesson]:
    """The installed lessons among `keys`, in one query."""
    wanted = set(keys)
    if not wanted:
        return {}
    query = Lesson.select().where(_matching(Lesson.pack, Lesson.lesson_id, wanted))
    return {key_of(lesson): lesson for lesson in query}


# ---------------------------------------------------------------------------------------------
# Assignments


class AssignmentError(ValueError):
    """An assignment was refused; str() is one sentence for the coach."""


@dataclass(frozen=True)
class AssignedItem:
    """One assignment as the coach sees it, with the lessons it stands for today."""

    assignment: Assignment
    title: str | None  # None when the lesson or topic is no longer in the library
    pack_title: str | None
    lessons: list[Lesson]

    @property
    def is_topic(self) -> bool:
        return self.assignment.topic_id is not None

    @property
    def missing(self) -> bool:
        return self.title is None


def _topic_nodes(pack: Pack) -> dict[str, TopicNode]:
    nodes: dict[str, TopicNode] = {}
    pending = list(pack.topic_tree())
    while pending:
        node = pending.pop()
        nodes[node.topic.topic_id] = node
        pending.extend(node.children)
    return nodes


def topic_lessons(node: TopicNode) -> list[Lesson]:
    """A topic's lessons, then its sub-topics' lessons, depth first, each lesson once."""
    found = list(node.lessons)
    for child in node.children:
        found.extend(topic_lessons(child))
    return _unique(found)


def _unique(lessons: Iterable[Lesson]) -> list[Lesson]:
    seen: dict[LessonKey, Lesson] = {}
    for lesson in lessons:
        seen.setdefault(key_of(lesson), lesson)
    return list(seen.values())


def expand(assignments: Sequence[Assignment]) -> list[AssignedItem]:
    """Each assignment with its lessons: a topic stands for its lessons and its sub-topics',
    a ZIM article for itself (hub.library.zim_articles)."""
    pack_ids = {a.pack_id for a in assignments}
    packs = {p.id: p for p in Pack.light().where(Pack.id.in_(pack_ids))} if pack_ids else {}
    lessons = lessons_by_key((a.pack_id, a.lesson_id) for a in assignments if a.lesson_id)
    topic_packs = {a.pack_id for a in assignments if a.topic_id and a.pack_id in packs}
    topics = {pack_id: _topic_nodes(packs[pack_id]) for pack_id in topic_packs}
    items = []
    for a in assignments:
        pack = packs.get(a.pack_id)
        pack_title = pack.title if pack else None
        if is_zim(a.pack_id):
            items.append(_zim_item(a))
        elif a.lesson_id:
            lesson = lessons.get((a.pack_id, a.lesson_id))
            title = lesson.title if lesson else None
            items.append(AssignedItem(a, title, pack_title, [lesson] if lesson else []))
        else:
            node = topics.get(a.pack_id, {}).get(a.topic_id) if a.topic_id else None
            title = node.topic.title if node else None
            items.append(AssignedItem(a, title, pack_title, topic_lessons(node) if node else []))
    return items


def _zim_item(a: Assignment) -> AssignedItem:
    found = zim_article(a.pack_id, a.lesson_id or "")
    if found is None:
        return AssignedItem(a, None, None, [])
    article, archive = found
    return AssignedItem(a, article.title, archive.title, [article])


def assigned_items(group: ClassGroup) -> list[AssignedItem]:
    """The class's assignments, oldest first (the order a coach set the work)."""
    return expand(list(reversed(Assignment.for_class(group))))


def assigned_lessons(items: Iterable[AssignedItem]) -> list[Lesson]:
    """The lessons of a class's grid (ZIM articles are listed with the assignments only)."""
    return _unique(lesson for item in items for lesson in item.lessons if lesson.kind != ZIM)


def pack_lessons(pack: Pack) -> list[Lesson]:
    """Every lesson of a pack in the order its pack page shows them."""
    in_topics = [lesson for node in pack.topic_tree() for lesson in topic_lessons(node)]
    return _unique([*in_topics, *pack.loose_lessons()])


def assign(
    group: ClassGroup, pack_id: str, *, topic_id: str = "", lesson_id: str = "", by: str
) -> Assignment:
    """Assign one lesson or one topic (with its sub-topics) to a class; assigning the same
    thing twice keeps the first assignment."""
    _check_target(pack_id, topic_id, lesson_id)
    target = Assignment.lesson_id == lesson_id if lesson_id else Assignment.topic_id == topic_id
    existing = Assignment.get_or_none(
        Assignment.class_group == group, Assignment.pack_id == pack_id, target
    )
    if existing is not None:
        return existing
    return Assignment.create(
        class_group=group,
        pack_id=pack_id,
        topic_id=topic_id or None,
        lesson_id=lesson_id or None,
        assigned_by=by,
    )


def _check_target(pack_id: str, topic_id: str, lesson_id: str) -> None:
    if bool(topic_id) == bool(lesson_id):
        raise AssignmentError(gettext("Choose one lesson or one topic to assign."))
    if is_zim(pack_id):
        if topic_id or zim_article(pack_id, lesson_id) is None:
            raise AssignmentError(gettext("That article is not in the library."))
        return
    if Pack.by_id(pack_id) is None:
        raise AssignmentError(gettext("That pack is not in the library."))
    if lesson_id and Lesson.find(pack_id, lesson_id) is None:
        raise AssignmentError(gettext("That lesson is not in the library."))
    topics = Topic.select().where(Topic.pack == pack_id, Topic.topic_id == topic_id)
    if topic_id and not topics.exists():
        raise AssignmentError(gettext("That topic is not in the library."))


def unassign(group: ClassGroup, assignment_id: int) -> bool:
    """Remove one of the class's assignments; False when the class has no such assignment."""
    deleted = (
        Assignment.delete()
        .where(Assignment.id == assignment_id, Assignment.class_group == group)
        .execute()
    )
    return deleted > 0


# ---------------------------------------------------------------------------------------------
# The class: summary and grid


@dataclass(frozen=True)
class ClassSummary:
    group: ClassGroup
    learners: int
    assignments: int
    needs_help: int  # learners with at least one lesson where they need help


def class_summaries() -> list[ClassSummary]:
    """Every class with its counts, in four queries whatever the number of classes."""
    learners = _count_by_class(ClassMember)
    assignments = _count_by_class(Assignment)
    helpless = _needing_help_by_class()
    return [
        ClassSummary(
            group,
            learners.get(group.id, 0),
            assignments.get(group.id, 0),
            len(helpless.get(group.id, ())),
        )
        for group in ClassGroup.ordered()
    ]


def _count_by_class(model: Any) -> dict[int, int]:
    query = model.select(model.class_group, fn.COUNT(model.id).alias("n")).group_by(
        model.class_group
    )
    return {row.class_group_id: row.n for row in query}


def _needing_help_by_class() -> dict[int, set[int]]:
    # Only rows with quiz attempts can need help (the rule lives in Progress.status); reading
    # just those keeps this cheap when most rows are videos and readings.
    query = (
        Progress.select(Progress, ClassMember.class_group.alias("group_id"))
        .join(ClassMember, on=(ClassMember.learner == Progress.learner))
        .where(Progress.attempts > 0, ~Progress.completed, ~Progress.mastered)
        .objects()
    )
    found: dict[int, set[int]] = {}
    for row in query:
        if row.status == "needs_help":
            found.setdefault(row.group_id, set()).add(row.learner_id)
    return found


@dataclass
class Grid:
    """Learners x lessons, with the progress row of each cell (None: not started)."""

    learners: list[Learner]
    lessons: list[Lesson]
    rows: dict[tuple[int, str, str], Progress] = field(default_factory=dict)

    def cell(self, learner: Learner, lesson: Lesson) -> Progress | None:
        return self.rows.get((learner.id, lesson.pack_id, lesson.lesson_id))

    def status(self, learner: Learner, lesson: Lesson) -> str:
        return status_of(self.cell(learner, lesson))

    def counts(self) -> Counter[str]:
        return Counter(self.status(p, q) for p in self.learners for q in self.lessons)

    def lesson_counts(self, lesson: Lesson) -> Counter[str]:
        return Counter(self.status(p, lesson) for p in self.learners)

    def learner_counts(self, learner: Learner) -> Counter[str]:
        return Counter(self.status(learner, q) for q in self.lessons)


def class_grid(group: ClassGroup, lessons: list[Lesson]) -> Grid:
    """The grid in two queries: the class's learners, and every progress row it shows."""
    grid = Grid(group.learners(), lessons)
    if not grid.learners or not lessons:
        return grid
    query = (
        Progress.select()
        .join(ClassMember, on=(ClassMember.learner == Progress.learner))
        .where(
            ClassMember.class_group == group,
            _matching(Progress.pack_id, Progress.lesson_id, map(key_of, lessons)),
        )
    )
    grid.rows = {(row.learner_id, row.pack_id, row.lesson_id): row for row in query}
    return grid


# ---------------------------------------------------------------------------------------------
# One learner


@dataclass(frozen=True)
class LessonRow:
    progress: Progress
    lesson: Lesson | None  # None when the pack was removed since

    @property
    def status(self) -> str:
        return self.progress.status

    @property
    def title(self) -> str:
        return self.lesson.title if self.lesson else self.progress.lesson_id


@dataclass(frozen=True)
class AnswerLine:
    question_id: str
    prompt: str
    correct: bool
    answered: bool = True  # False: left blank, which is not a wrong answer


@dataclass(frozen=True)
class AttemptLine:
    event: Event
    lesson: Lesson | None
    answers: list[AnswerLine]

    @property
    def title(self) -> str:
        return self.lesson.title if self.lesson else self.event.lesson_id

    @property
    def score(self) -> float | None:
        score = (self.event.fields or {}).get("score")
        return float(score) if isinstance(score, int | float) else None


@dataclass(frozen=True)
class LearnerDetail:
    learner: Learner
    classes: list[ClassGroup]
    lessons: list[LessonRow]  # every lesson touched, most recent first
    waiting: list[Lesson]  # assigned to one of their classes, not started yet
    attempts: list[AttemptLine]  # their latest quiz attempts, newest first

    def counts(self) -> Counter[str]:
        counts = Counter(row.status for row in self.lessons)
        counts[NOT_STARTED] += len(self.waiting)
        return counts


def learner_detail(learner: Learner) -> LearnerDetail:
    progress = Progress.of_learner(learner.id)
    events = list(
        Event.select()
        .where(Event.learner == learner, Event.type == "attempt")
        .order_by(Event.hlc.desc())
        .limit(RECENT_ATTEMPTS)
    )
    touched = {(row.pack_id, row.lesson_id) for row in progress}
    waiting = [
        lesson
        for lesson in assigned_lessons(expand(Assignment.for_learner(learner)))
        if key_of(lesson) not in touched
    ]
    lessons = lessons_by_key([*touched, *((e.pack_id, e.lesson_id) for e in events)])
    return LearnerDetail(
        learner=learner,
        classes=learner.classes(),
        lessons=[LessonRow(row, lessons.get((row.pack_id, row.lesson_id))) for row in progress],
        waiting=waiting,
        attempts=_attempt_lines(events, lessons),
    )


def _attempt_lines(events: list[Event], lessons: dict[LessonKey, Lesson]) -> list[AttemptLine]:
    # Each exercise is read once, however many of the attempts are on it.
    keys = {(e.pack_id, e.lesson_id) for e in events}
    exercises = {key: exercise_or_none(lessons.get(key)) for key in keys}
    return [
        _attempt_line(e, lessons.get((e.pack_id, e.lesson_id)), exercises[e.pack_id, e.lesson_id])
        for e in events
    ]


def exercise_or_none(lesson: Lesson | None) -> Exercise | None:
    """The lesson's questions, or None when it is not an exercise or its file is damaged
    (a report must still show, whatever happened to the blob)."""
    if lesson is None or lesson.kind != "exercise":
        return None
    try:
        return lesson_service.exercise_of(lesson)
    except (OSError, PackError):
        return None


def _correct_map(event: Event) -> dict[str, bool]:
    # Events may arrive from other hubs: read them defensively.
    correct = (event.fields or {}).get("correct")
    if not isinstance(correct, dict):
        return {}
    return {str(qid): bool(ok) for qid, ok in correct.items()}


def _skipped(event: Event, correct: dict[str, bool]) -> set[str]:
    """The questions an attempt left blank. Attempts from before #14 counted a blank as wrong
    and kept only how many were answered (`answered`: right or wrong of each answer): when
    none of those answers was wrong, the wrong ones are exactly the blanks. Otherwise which
    were blank cannot be told, and none is said to be."""
    given = (event.fields or {}).get("answered")
    if not isinstance(given, list) or len(given) >= len(correct) or not all(given):
        return set()
    return {qid for qid, ok in correct.items() if not ok}


def _attempt_line(event: Event, lesson: Lesson | None, exercise: Exercise | None) -> AttemptLine:
    correct = _correct_map(event)
    skipped = _skipped(event, correct)
    ordered = [q.id for q in exercise.questions if q.id in correct] if exercise else []
    ordered += [qid for qid in correct if qid not in ordered]
    return AttemptLine(
        event,
        lesson,
        [
            AnswerLine(qid, _prompt(exercise, qid), correct[qid], qid not in skipped)
            for qid in ordered
        ],
    )


def _prompt(exercise: Exercise | None, question_id: str) -> str:
    question = exercise.question(question_id) if exercise else None
    return question.prompt if question else question_id


# ---------------------------------------------------------------------------------------------
# Questions


@dataclass(frozen=True)
class QuestionStat:
    question_id: str
    prompt: str
    answered: int  # attempts that answered this question (a blank is not an answer)
    correct: int

    @property
    def share(self) -> float | None:
        return self.correct / self.answered if self.answered else None


@dataclass(frozen=True)
class QuestionReport:
    lesson: Lesson
    questions: list[QuestionStat]
    attempts: int
    learners: int


def question_stats(group: ClassGroup, lesson: Lesson) -> QuestionReport:
    """Share correct per question over every attempt by the class's learners, in one query;
    questions in the exercise's order, then any the exercise no longer has."""
    members = ClassMember.select(ClassMember.learner).where(ClassMember.class_group == group)
    events = (
        Event.select(Event.learner, Event.fields)
        .where(
            Event.pack_id == lesson.pack_id,
            Event.lesson_id == lesson.lesson_id,
            Event.type == "attempt",
            Event.learner.in_(members),
        )
        .order_by(Event.seq)
    )
    seen: Counter[str] = Counter()
    right: Counter[str] = Counter()
    learners: set[int] = set()
    attempts = 0
    for event in events:
        attempts += 1
        learners.add(event.learner_id)
        correct = _correct_map(event)
        skipped = _skipped(event, correct)
        for qid, ok in correct.items():
            seen[qid] += qid not in skipped
            right[qid] += ok
    exercise = exercise_or_none(lesson)
    order = [q.id for q in exercise.questions] if exercise else []
    order += sorted(qid for qid in seen if qid not in order)
    stats = [QuestionStat(qid, _prompt(exercise, qid), seen[qid], right[qid]) for qid in order]
    return QuestionReport(lesson, stats, attempts, len(learners))
