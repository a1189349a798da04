"""A quiz attempt: graded on the hub, recorded as one event, mastery judged over history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from content.exercise import Exercise, Grade, grade, mastery_reached
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
            "results": [
                {
                    "question_id": r.question_id,
                    "correct": r.correct,
                    "answered": r.answered,
                    "expected": r.expected,
                    "explanation": r.explanation,
                }
                for r in self.grade.results
            ],
        }


def answer_history(learner_id: int, lesson: Lesson) -> list[bool]:
    """Right/wrong of every answered question in earlier attempts, oldest first."""
    history: list[bool] = []
    for event in Event.attempts_of(learner_id, lesson.pack_id, lesson.lesson_id):
        history.extend(bool(ok) for ok in (event.fields or {}).get("answered", []))
    return history


def grade_attempt(
    log: EventLog,
    learner_id: int,
    lesson: Lesson,
    exercise: Exercise,
    answers: Mapping[str, Any],
) -> AttemptResult:
    """Grade `answers` (raises AnswerError), record the attempt, and judge mastery."""
    result = grade(exercise, answers)
    answered = [r.correct for r in result.results if r.answered]
    history = answer_history(learner_id, lesson) + answered
    mastered = mastery_reached(history, exercise)
    event = log.record(
        learner_id,
        lesson.pack_id,
        lesson.lesson_id,
        "attempt",
        {
            "score": result.score,
            "correct": result.correct,
            "answered": answered,
            "mastered": mastered,
        },
    )
    attempts = len(Event.attempts_of(learner_id, lesson.pack_id, lesson.lesson_id))
    return AttemptResult(result, mastered, attempts, event.seq)
