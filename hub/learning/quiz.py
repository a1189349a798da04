"""A graded quiz attempt, recorded as one `attempt` event, with mastery judged over history.

Both ways of answering (the quiz pages, one question at a time, and the JSON API, one or all
of an attempt's questions at once) go through quiz_attempts.py, which records a finished
attempt here: one event format for sync and central.
"""

from __future__ import annotations

from collections.abc import Sequence

from content.exercise import Exercise, QuestionResult, mastery_reached
from hub.learning.events import Event, EventLog
from hub.library.models import Lesson


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
