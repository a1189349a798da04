"""A quiz, one question per page: each answer is a small form, posted and then redirected
(post/redirect/get), so it works the same without JavaScript; quiz.js only saves the reloads.
The hub judges every answer (hub/learning/quiz_attempts.py)."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from content.exercise import Exercise
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.learning.quiz_attempts import (
    NotAnAnswer,
    Owner,
    answer_question,
    latest_attempt,
    quiz_page,
    start_attempt,
)
from hub.library import lessons as lesson_service
from hub.library.models import Lesson
from hub.people.auth import LEARNER, current_user

bp = Blueprint("quiz", __name__)

VISITOR_KEY = "quiz_visitor"  # in a visitor's session: whose attempts they are


def quiz_context(lesson: Lesson, problem: str | None = None) -> dict[str, Any]:
    """What lesson/exercise.html needs: this reader's quiz as it stands, at `?question=N`."""
    exercise = _exercise(lesson)
    attempt = latest_attempt(_owner(), lesson, exercise)
    asked = request.args.get("question", type=int)
    return {"quiz": quiz_page(exercise, attempt, asked), "quiz_problem": problem}


@bp.get("/lessons/<pack_id>/<lesson_id>/quiz")
def page(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    return _page(_exercise_view(pack_id, lesson_id)), 200, _PERSONAL


@bp.post("/lessons/<pack_id>/<lesson_id>/quiz")
def start(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    lesson = _exercise_view(pack_id, lesson_id).lesson
    after = request.form.get("after", 0, type=int)
    start_attempt(_owner(), lesson, _exercise(lesson), after)
    return redirect(url_for("quiz.page", pack_id=pack_id, lesson_id=lesson_id), 303)


@bp.post("/lessons/<pack_id>/<lesson_id>/quiz/<int:attempt_id>")
def answer(pack_id: str, lesson_id: str, attempt_id: int) -> ResponseReturnValue:
    view = _exercise_view(pack_id, lesson_id)
    question_id = request.form.get("question", "")
    values = request.form.getlist("answer")
    events = current_app.extensions["events"]
    lesson, exercise = view.lesson, _exercise(view.lesson)
    try:
        at = answer_question(events, _owner(), lesson, exercise, attempt_id, question_id, values)
    except NotAnAnswer as problem:
        return _page(view, problem.description), 400, _PERSONAL
    target = url_for("quiz.page", pack_id=pack_id, lesson_id=lesson_id, question=at)
    return redirect(target, 303)


# The quiz as it stands now: a page kept by the browser would offer a question already answered.
_PERSONAL = {"Cache-Control": "no-store"}


def _page(view: lesson_service.LessonView, problem: str | None = None) -> str:
    who = current_user()
    tracking = who is not None and who.role == LEARNER
    context = dict(view.__dict__, tracking=tracking, main=None)
    return render_template("lesson.html", **context, **quiz_context(view.lesson, problem))


def _owner() -> Owner:
    """A signed-in learner's attempts are theirs; anyone else's belong to their session."""
    who = current_user()
    if who is not None and who.role == LEARNER:
        return Owner(learner_id=who.id)
    if not isinstance(session.get(VISITOR_KEY), str):
        session[VISITOR_KEY] = secrets.token_urlsafe(16)
    return Owner(visitor=session[VISITOR_KEY])


def _exercise_view(pack_id: str, lesson_id: str) -> lesson_service.LessonView:
    view = lesson_service.lesson_view(pack_id, lesson_id)
    if view is None or view.lesson.kind != "exercise":
        raise HubError(
            404, "lesson_not_found", gettext("There is no such exercise in this library.")
        )
    return view


def _exercise(lesson: Lesson) -> Exercise:
    exercise = lesson_service.exercise_of(lesson)
    if exercise is None:
        raise HubError(
            404, "lesson_not_found", gettext("This exercise is missing from the library.")
        )
    return exercise
