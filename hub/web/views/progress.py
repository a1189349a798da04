"""The learner's progress: events in, derived progress out, quizzes graded on the hub."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from content.exercise import AnswerError, Exercise
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.learning.book_place import MAX_PLACE, is_book_place
from hub.learning.events import EVENT_TYPES, Progress
from hub.learning.quiz_attempts import (
    Owner,
    answer_questions,
    attempt_json,
    latest_attempt,
    start_attempt,
)
from hub.library import lessons as lesson_service
from hub.library.models import Lesson
from hub.people.auth import LEARNER, check_role, json_body
from sync.progress import MAX_TIME_SPENT

bp = Blueprint("progress", __name__, url_prefix="/api")

# "attempt" events come only from the grading endpoint, never from a client's say-so.
CLIENT_TYPES = tuple(t for t in EVENT_TYPES if t != "attempt")
MAX_ID = 64  # the pack format's longest pack or lesson id


@bp.post("/progress")
def report() -> ResponseReturnValue:
    who = check_role(LEARNER)
    body = json_body()
    lesson = _lesson(body.get("pack_id"), body.get("lesson_id"))
    kind = body.get("type", "progress")
    if kind not in CLIENT_TYPES:
        raise HubError(
            400,
            "bad_type",
            gettext("type must be one of %(types)s.", types=", ".join(CLIENT_TYPES)),
        )
    fields: dict[str, float | str] = {
        "progress": _number(body, "progress", 0.0, 1.0),
        "time_spent": _number(body, "time_spent", 0.0, MAX_TIME_SPENT),
    }
    if isinstance(body.get("position"), int | float):
        fields["position"] = _number(body, "position", 0.0, 1e7)
    elif isinstance(body.get("position"), str):  # a place in a book (an EPUB CFI)
        fields["place"] = _place(body["position"])
    event = events().record(who.id, lesson.pack_id, lesson.lesson_id, kind, fields)
    row = Progress.get(learner=who.id, pack_id=lesson.pack_id, lesson_id=lesson.lesson_id)
    return jsonify({"seq": event.seq, "hlc": event.hlc, "progress": progress_json(row)}), 201


@bp.get("/progress/me")
def mine() -> ResponseReturnValue:
    who = check_role(LEARNER)
    return jsonify({"progress": [progress_json(row) for row in Progress.of_learner(who.id)]})


@bp.get("/lessons/<pack_id>/<lesson_id>/attempts")
def current_attempt(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    """The learner's latest attempt (the questions drawn, how those answered went), or null."""
    owner, lesson, exercise = _quiz(pack_id, lesson_id)
    attempt = latest_attempt(owner, lesson, exercise)
    shown = attempt and attempt_json(owner, lesson, exercise, attempt)
    return jsonify({"attempt": shown})


@bp.post("/lessons/<pack_id>/<lesson_id>/attempts/new")
def new_attempt(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    """A fresh draw once the last attempt is finished; `after` is the attempt last seen."""
    owner, lesson, exercise = _quiz(pack_id, lesson_id)
    after = json_body().get("after", 0)
    if isinstance(after, bool) or not isinstance(after, int):
        raise HubError(400, "bad_request", gettext("%(name)s must be a number.", name="after"))
    attempt = start_attempt(owner, lesson, exercise, after)
    return jsonify({"attempt": attempt_json(owner, lesson, exercise, attempt)}), 201


@bp.post("/lessons/<pack_id>/<lesson_id>/attempts")
def attempt(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    """Answers to the open attempt's drawn questions, one or all at once, in order."""
    owner, lesson, exercise = _quiz(pack_id, lesson_id)
    answers = json_body().get("answers")
    if not isinstance(answers, dict):
        raise HubError(400, "bad_answers", gettext('Send {"answers": {question_id: answer}}.'))
    try:
        attempt = answer_questions(events(), owner, lesson, exercise, answers)
    except AnswerError as err:
        raise HubError(400, "bad_answer", str(err)) from None
    return jsonify(attempt_json(owner, lesson, exercise, attempt)), 201


def _quiz(pack_id: str, lesson_id: str) -> tuple[Owner, Lesson, Exercise]:
    who = check_role(LEARNER)
    lesson = _lesson(pack_id, lesson_id)
    exercise = lesson_service.exercise_of(lesson) if lesson.kind == "exercise" else None
    if exercise is None:
        raise HubError(404, "not_an_exercise", gettext("This lesson has no questions to answer."))
    return Owner(learner_id=who.id), lesson, exercise


def events() -> Any:
    return current_app.extensions["events"]


def progress_json(row: Progress) -> dict[str, Any]:
    return {
        "pack_id": row.pack_id,
        "lesson_id": row.lesson_id,
        "status": row.status,
        "progress": round(row.progress, 4),
        "completed": bool(row.completed),
        "mastered": bool(row.mastered),
        "best_score": row.best_score,
        "attempts": row.attempts,
        "time_spent": round(row.time_spent, 1),
        "last_activity": row.last_activity,
    }


def _lesson(pack_id: Any, lesson_id: Any) -> Lesson:
    if not isinstance(pack_id, str) or not isinstance(lesson_id, str):
        raise HubError(400, "bad_request", gettext("Send pack_id and lesson_id as strings."))
    if len(pack_id) > MAX_ID or len(lesson_id) > MAX_ID:  # and never echo 10 KB back
        raise HubError(400, "bad_request", gettext("Ids have at most %(n)d characters.", n=MAX_ID))
    view = lesson_service.lesson_view(pack_id, lesson_id)
    if view is None:
        raise HubError(
            404,
            "lesson_not_found",
            gettext("No lesson %(pack)s/%(lesson)s is installed.", pack=pack_id, lesson=lesson_id),
        )
    return view.lesson


def _place(value: str) -> str:
    if not is_book_place(value):
        raise HubError(
            400,
            "bad_request",
            gettext(
                "position must be a number, or a place in a book (epubcfi(...)) of at most "
                "%(most)d characters.",
                most=MAX_PLACE,
            ),
        )
    return value


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float:
    value = body.get(name, 0)
    if value is None:
        return low
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HubError(400, "bad_request", gettext("%(name)s must be a number.", name=name))
    if isinstance(value, float) and not math.isfinite(value):  # a huge int stays an int
        raise HubError(400, "bad_request", gettext("%(name)s must be a number.", name=name))
    if not low <= value <= high:
        raise HubError(
            400,
            "bad_request",
            gettext(
                "%(name)s must be between %(low)s and %(high)s.",
                name=name,
                low=f"{low:g}",
                high=f"{high:g}",
            ),
        )
    return float(value)
