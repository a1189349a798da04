"""A quiz taken one question at a time, kept on the hub so it resumes where it was left.

Each learner (or visitor) has one latest attempt per exercise: the questions drawn for it (a
fresh set and order when the exercise `pick`s fewer than it has, from a seed kept with it) and
the answers so far. A question is judged when it is answered, and only then is its right
answer shown; a blank answer is no answer. When the last question is answered, a learner's
attempt is recorded as one `attempt` event (quiz.record_attempt), the same as ever for sync.
A visitor's attempt is kept but never recorded, and at most VISITOR_ATTEMPTS of them are kept.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from peewee import CharField, ForeignKeyField, IntegerField, JSONField

from content.exercise import (
    MAX_ANSWER_CHARS,
    AnswerError,
    Exercise,
    Question,
    QuestionResult,
    draw,
    expected_text,
    grade_question,
)
from hub.core.db import BaseModel, db
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.learning.events import Event, EventLog
from hub.learning.quiz import record_attempt
from hub.library.models import Lesson
from hub.people.models import Learner

# Visitors' attempts kept at most (the oldest started goes first): a visitor is anyone, and
# what anyone can create must not grow without bound. A row is a few hundred bytes.
VISITOR_ATTEMPTS = 1000
SHOWN_CHARS = 200  # of a typed answer, kept to show it back; grading saw all of it


@dataclass(frozen=True)
class Owner:
    """Whose attempt: a signed-in learner's (recorded) or a visitor's (kept, not recorded)."""

    learner_id: int | None = None
    visitor: str | None = None


class QuizAttempt(BaseModel):
    learner = ForeignKeyField(Learner, null=True, on_delete="CASCADE")
    visitor = CharField(null=True)
    pack_id = CharField()
    lesson_id = CharField()
    seed = IntegerField()  # what the questions were drawn from (content.exercise.draw)
    questions = JSONField()  # the ids drawn, in the order asked
    answers = JSONField()  # one {"given", "correct"} per question answered, in order
    answered = IntegerField()
    event_seq = IntegerField(null=True)  # the `attempt` event of a learner's finished attempt

    class Meta:
        indexes = (
            (("learner", "pack_id", "lesson_id"), True),
            (("visitor", "pack_id", "lesson_id"), True),
        )

    @classmethod
    def mine(cls, owner: Owner, lesson: Lesson) -> Any:
        """The query for `owner`'s attempts at `lesson` (at most one row)."""
        who = (
            cls.learner == owner.learner_id
            if owner.learner_id is not None
            else cls.visitor == owner.visitor
        )
        return cls.select().where(
            who, cls.pack_id == lesson.pack_id, cls.lesson_id == lesson.lesson_id
        )

    @property
    def total(self) -> int:
        return len(self.questions)

    @property
    def finished(self) -> bool:
        return self.answered >= self.total

    def belongs_to(self, owner: Owner, lesson: Lesson) -> bool:
        whose = (self.learner_id, self.visitor) == (owner.learner_id, owner.visitor)
        return whose and (self.pack_id, self.lesson_id) == (lesson.pack_id, lesson.lesson_id)


class NotAnAnswer(HubError):
    """An answer the learner can correct (blank, or not readable): the question is asked
    again with this sentence; nothing is kept and nothing is shown."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "not_an_answer", message)


def latest_attempt(owner: Owner, lesson: Lesson, exercise: Exercise) -> QuizAttempt | None:
    """`owner`'s latest attempt, or None. An attempt asking a question the exercise no longer
    has (a newer pack dropped it) is as good as none: the next one starts afresh."""
    attempt = QuizAttempt.mine(owner, lesson).first()
    if attempt is None or any(exercise.question(qid) is None for qid in attempt.questions):
        return None
    return attempt


def start_attempt(owner: Owner, lesson: Lesson, exercise: Exercise, after: int) -> QuizAttempt:
    """A fresh draw of questions. `after` is the attempt the asker last saw (0: none): a
    repeated request (a replayed form, a second tab) finds a newer attempt and gets it, so
    one click starts one attempt. An unfinished attempt cannot be thrown away for a new draw,
    or hard questions could be skipped by starting again."""
    with db.atomic():
        current = latest_attempt(owner, lesson, exercise)
        if current is not None and current.id != after:
            return current
        if current is not None and not current.finished:
            raise HubError(
                409, "quiz_not_finished", gettext("Finish this quiz before you start it again.")
            )
        QuizAttempt.delete().where(QuizAttempt.id.in_(QuizAttempt.mine(owner, lesson))).execute()
        if owner.visitor is not None:
            _make_room_for_a_visitor()
        seed = secrets.randbits(62)
        return QuizAttempt.create(
            learner=owner.learner_id,
            visitor=owner.visitor,
            pack_id=lesson.pack_id,
            lesson_id=lesson.lesson_id,
            seed=seed,
            questions=list(draw(exercise, seed)),
            answers=[],
            answered=0,
        )


def _make_room_for_a_visitor() -> None:
    keep = (
        QuizAttempt.select(QuizAttempt.id)
        .where(QuizAttempt.visitor.is_null(False))
        .order_by(QuizAttempt.id.desc())
        .limit(VISITOR_ATTEMPTS - 1)
    )
    QuizAttempt.delete().where(
        QuizAttempt.visitor.is_null(False), QuizAttempt.id.not_in(keep)
    ).execute()


def answer_question(
    log: EventLog,
    owner: Owner,
    lesson: Lesson,
    exercise: Exercise,
    attempt_id: int,
    question_id: str,
    values: Sequence[str],
) -> int:
    """Judge the answer (`values`: what the form sent) to the attempt's current question and
    keep it; the last answer finishes the attempt and records a learner's. Returns the
    question's position (from 1). Anything else is refused whole, with a HubError."""
    attempt = _open_attempt(owner, lesson, exercise, attempt_id)
    at = _position(attempt, question_id)
    question = exercise.question(question_id)
    assert question is not None  # _open_attempt saw every drawn question in the exercise
    value = _value(question, values)
    correct = _judged(question, value)
    entry = {"given": _given(question, value), "correct": correct}
    _keep(log, owner, lesson, exercise, attempt, [entry])
    return at + 1


def answer_questions(
    log: EventLog, owner: Owner, lesson: Lesson, exercise: Exercise, answers: Mapping[str, Any]
) -> QuizAttempt:
    """The API's way to answer: `answers` (question id -> answer, as JSON) to the open attempt's
    questions, one or all at once, judged in the order asked from the first unanswered one; a
    blank ends them. With no attempt open a fresh one is drawn, so answers to questions outside
    the draw, or answered already, are refused whole (raises HubError or AnswerError): the API
    grades no more than the quiz pages do. Returns the attempt as it now stands."""
    with log.turn():  # the attempt is written, then its event recorded (events.EventLog.turn)
        attempt = latest_attempt(owner, lesson, exercise)
        if attempt is None or attempt.finished:
            attempt = start_attempt(owner, lesson, exercise, attempt.id if attempt else 0)
        _keep(log, owner, lesson, exercise, attempt, _judged_in_order(exercise, attempt, answers))
    return QuizAttempt.get_by_id(attempt.id)


def _judged_in_order(
    exercise: Exercise, attempt: QuizAttempt, answers: Mapping[str, Any]
) -> list[dict[str, Any]]:
    if any(qid not in attempt.questions for qid in answers):
        raise HubError(400, "not_in_quiz", gettext("This question is not part of your quiz."))
    entries: list[dict[str, Any]] = []
    blank_before = False
    for at, qid in enumerate(attempt.questions):
        question = exercise.question(qid)
        assert question is not None  # latest_attempt saw every drawn question in the exercise
        result = grade_question(question, answers.get(qid))
        if not result.answered:
            blank_before = blank_before or at >= attempt.answered
        elif at < attempt.answered:
            raise _already_answered()
        elif blank_before:
            raise HubError(409, "not_this_question", gettext("Answer the questions in order."))
        else:
            entries.append({"given": _given(question, answers[qid]), "correct": result.correct})
    if not entries:
        raise HubError(400, "no_answers", gettext("Answer at least one question first."))
    return entries


def _keep(
    log: EventLog,
    owner: Owner,
    lesson: Lesson,
    exercise: Exercise,
    attempt: QuizAttempt,
    entries: list[dict[str, Any]],
) -> None:
    """Add judged answers after the attempt's last; the last question finishes the attempt and
    records a learner's as one `attempt` event."""
    at, answers = attempt.answered, [*attempt.answers, *entries]
    with log.turn():  # as in answer_questions
        # Only if nobody answered in between (a double click, a replayed form): one answer
        # per question, never two.
        changed = (
            QuizAttempt.update(answers=answers, answered=len(answers))
            .where(QuizAttempt.id == attempt.id, QuizAttempt.answered == at)
            .execute()
        )
        if not changed:
            raise _already_answered()
        if len(answers) == attempt.total and owner.learner_id is not None:
            results = _results(exercise, attempt.questions, answers)
            event, _ = record_attempt(log, owner.learner_id, lesson, exercise, results)
            QuizAttempt.update(event_seq=event.seq).where(QuizAttempt.id == attempt.id).execute()


def _open_attempt(owner: Owner, lesson: Lesson, exercise: Exercise, attempt_id: int) -> QuizAttempt:
    attempt = QuizAttempt.get_or_none(QuizAttempt.id == attempt_id)
    # Someone else's attempt reads as no attempt at all: ids say nothing about others.
    if attempt is None or not attempt.belongs_to(owner, lesson):
        raise _not_open()
    if latest_attempt(owner, lesson, exercise) is None:
        raise _not_open()
    if attempt.finished:
        raise HubError(
            409, "quiz_finished", gettext("This quiz is finished; start it again to try once more.")
        )
    return attempt


def _not_open() -> HubError:
    return HubError(
        404,
        "no_such_attempt",
        gettext("This quiz is not open any more; go back to the quiz to carry on."),
    )


def _already_answered() -> HubError:
    return HubError(409, "already_answered", gettext("You have already answered this question."))


def _position(attempt: QuizAttempt, question_id: str) -> int:
    if question_id not in attempt.questions:
        raise HubError(400, "not_in_quiz", gettext("This question is not part of your quiz."))
    at = attempt.questions.index(question_id)
    if at < attempt.answered:
        raise _already_answered()
    if at > attempt.answered:
        raise HubError(409, "not_this_question", gettext("Answer the questions in order."))
    return at


def _value(question: Question, values: Sequence[str]) -> Any:
    if question.type == "multiple":
        return list(values)
    if len(values) > 1:
        raise HubError(400, "one_answer", gettext("Send one answer to this question."))
    return values[0] if values else None


def _judged(question: Question, value: Any) -> bool:
    try:
        result = grade_question(question, value)
    except AnswerError:
        raise NotAnAnswer(_unreadable(question, value)) from None
    if not result.answered:
        raise NotAnAnswer(gettext("Choose or write an answer first."))
    return result.correct


def _unreadable(question: Question, value: Any) -> str:
    # A choice is refused for not being one of the choices shown, a number for not being one
    # or for its length, typed text only for its length.
    if question.type in ("single", "multiple"):
        return gettext("Choose from the answers shown.")
    if question.type == "numeric" and len(value) <= MAX_ANSWER_CHARS:
        return gettext("Write a number, such as 12, 0.5 or 1/2.")
    return gettext("Write at most %(n)d characters.", n=MAX_ANSWER_CHARS)


def _given(question: Question, value: Any) -> Any:
    """The answer as kept: choice indices as numbers, typed text trimmed (and cut short). A
    form sends strings, the API JSON numbers; both were checked by grading first."""
    if question.type == "single":
        return int(value)
    if question.type == "multiple":
        return sorted(int(item) for item in value)
    return str(value).strip()[:SHOWN_CHARS]


def _results(
    exercise: Exercise, ids: Sequence[str], entries: Sequence[dict[str, Any]]
) -> list[QuestionResult]:
    results = []
    for qid, entry in zip(ids, entries, strict=True):
        question = exercise.question(qid)
        assert question is not None
        results.append(QuestionResult(qid, bool(entry["correct"]), True, question.explanation, ""))
    return results


# --- what a quiz page shows ---------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One question of an attempt: asked (`given` None) or answered, with its judgement."""

    position: int  # from 1
    question: Question
    given: Any = None
    correct: bool = False

    @property
    def answered(self) -> bool:
        return self.given is not None

    @property
    def expected(self) -> str:
        """The right answer, for people: only ever asked for once answered."""
        if not self.answered:
            raise ValueError("the right answer of a question not yet answered")
        return expected_text(self.question)


@dataclass(frozen=True)
class QuizPage:
    """What the quiz shows now: a start (no attempt), a question, or the summary."""

    total: int  # questions in an attempt
    attempt: QuizAttempt | None = None
    step: Step | None = None  # None with an attempt: the summary
    mastered: bool = False
    questions: tuple[Question, ...] = ()  # the attempt's, in the order asked

    @property
    def steps(self) -> list[Step]:
        assert self.attempt is not None
        return [_step(self.attempt, self.questions, at) for at in range(self.total)]

    @property
    def n_correct(self) -> int:
        return sum(1 for entry in self.attempt.answers if entry["correct"]) if self.attempt else 0


def quiz_page(exercise: Exercise, attempt: QuizAttempt | None, asked: int | None) -> QuizPage:
    """The page for `attempt`: question `asked` (from 1) when it is answered (to see how it
    went) or current; else the current question; else, once finished, the summary."""
    if attempt is None:
        return QuizPage(exercise.per_attempt)
    questions = tuple(q for qid in attempt.questions if (q := exercise.question(qid)))
    if asked is not None and 1 <= asked <= attempt.answered:
        step: Step | None = _step(attempt, questions, asked - 1)
    elif attempt.finished:
        step = None
    else:
        step = _step(attempt, questions, attempt.answered)
    return QuizPage(attempt.total, attempt, step, _mastered(attempt), questions)


def _step(attempt: QuizAttempt, questions: Sequence[Question], at: int) -> Step:
    if at >= attempt.answered:
        return Step(at + 1, questions[at])
    entry = attempt.answers[at]
    return Step(at + 1, questions[at], entry["given"], bool(entry["correct"]))


def _mastered(attempt: QuizAttempt) -> bool:
    if attempt.event_seq is None:
        return False
    event = Event.get_or_none(Event.seq == attempt.event_seq)
    return bool(event and (event.fields or {}).get("mastered") is True)


def attempt_json(owner: Owner, lesson: Lesson, exercise: Exercise, attempt: QuizAttempt) -> dict:
    """The attempt for the API: the questions drawn, in the order asked, and how each answered
    one went. A right answer and its explanation appear only once the question is answered."""
    page = quiz_page(exercise, attempt, None)
    results = [
        {
            "question_id": step.question.id,
            "correct": step.correct,
            "answered": step.answered,
            "expected": step.expected if step.answered else None,
            "explanation": step.question.explanation if step.answered else None,
        }
        for step in page.steps
    ]
    finished = 0
    if owner.learner_id is not None:
        finished = len(Event.attempts_of(owner.learner_id, lesson.pack_id, lesson.lesson_id))
    return {
        "attempt": attempt.id,
        "questions": list(attempt.questions),
        "answered": attempt.answered,
        "finished": attempt.finished,
        "score": round(page.n_correct / attempt.total, 4),
        "correct": {r["question_id"]: r["correct"] for r in results if r["answered"]},
        "n_correct": page.n_correct,
        "n_questions": attempt.total,
        "mastered": page.mastered,
        "attempts": finished,
        "seq": attempt.event_seq,
        "results": results,
    }
