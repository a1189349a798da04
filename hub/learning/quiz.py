"""A graded quiz attempt, recorded as one `attempt` event, with mastery judged over history.

Two ways lead here: the JSON API grades a whole set of answers at once (`grade_attempt`), and
the quiz pages record an attempt taken one question at a time when its last question is
answered (quiz_attempts.py). Both record the same event, so sync and central see one format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from content.exercise import Exercise, Grade, QuestionResult, grade, mastery_reached
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.learning.events import Event, EventLog
from hub.library.models import Lesson


@dataclass(frozen=True)
class AttemptResult:
    grade: Grade
    mastered: bool
    attempts: int
    seq: int

    def as_json(self) -> dict[str, Any]:
        return {
            "score": round(self.grade.score, 4),
            "correct": self.grade.correct,
            "n_correct": self.grade.n_correct,
            "n_questions": self.grade.n_questions,
            "mastered": self.mastered,
            "attempts": self.attempts,
            "seq": self.seq,
            "results": [_result_json(r) for r in self.grade.results],
        }


def _result_json(result: QuestionResult) -> dict[str, Any]:
    # The right answer of a question left unanswered stays secret: showing it would let a
    # blank attempt collect every answer to copy into the next one.
    shown = result.answered
    return {
        "question_id": result.question_id,
        "correct": result.correct,
        "answered": result.answered,
        "expected": result.expected if shown else None,
        "explanation": result.explanation if shown else None,
    }


def answer_history(learner_id: int, lesson: Lesson) -> list[bool]:
    """Right/wrong of every answered question in earlier attempts, oldest first."""
    history: list[bool] = []
    for event in Event.attempts_of(learner_id, lesson.pack_id, lesson.lesson_id):
        history.extend(bool(ok) for ok in (event.fields or {}).get("answered", []))
    return history


def record_attempt(
    log: EventLog,
    learner_id: int,
    lesson: Lesson,
    exercise: Exercise,
    results: Sequence[QuestionResult],
) -> tuple[Event, bool]:
    """Record one graded attempt (the questions it asked, in order) as an `attempt` event;
    returns the event and whether the learner has now mastered the exercise. Only answered
    questions count towards mastery."""
    answered = [r.correct for r in results if r.answered]
    mastered = mastery_reached(answer_history(learner_id, lesson) + answered, exercise)
    fields = {
        "score": sum(r.correct for r in results) / len(results),
        "correct": {r.question_id: r.correct for r in results},
        "answered": answered,
        "mastered": mastered,
    }
    event = log.record(learner_id, lesson.pack_id, lesson.lesson_id, "attempt", fields)
    return event, mastered


def grade_attempt(
    log: EventLog,
    learner_id: int,
    lesson: Lesson,
    exercise: Exercise,
    answers: Mapping[str, Any],
) -> AttemptResult:
    """Grade `answers` (raises AnswerError), record the attempt, and judge mastery. Answers
    that are all blank are not an attempt: refused, nothing recorded, nothing shown."""
    result = grade(exercise, answers)
    if not any(r.answered for r in result.results):
        raise HubError(400, "no_answers", gettext("Answer at least one question first."))
    event, mastered = record_attempt(log, learner_id, lesson, exercise, result.results)
    attempts = len(Event.attempts_of(learner_id, lesson.pack_id, lesson.lesson_id))
    return AttemptResult(result, mastered, attempts, event.seq)
