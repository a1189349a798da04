"""Pages for people: the library, a pack, a lesson. Server-rendered; no JavaScript needed."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, session
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from content.exercise import AnswerError, Exercise, Grade, grade
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.learning.learner_home import learner_home
from hub.learning.quiz import grade_attempt
from hub.library import lessons as lesson_service
from hub.library.cache import page_parts, small_enough
from hub.library.listing import group_by_language, library_listing, subjects_of
from hub.library.models import Lesson
from hub.library.responses import pack_or_404
from hub.people.auth import LEARNER, current_learner, current_user
from hub.web.i18n import reader_languages, ui_locale
from hub.web.visitor_pages import same_for_visitors

bp = Blueprint("pages", __name__)


@bp.get("/")
@same_for_visitors
def home() -> ResponseReturnValue:
    packs, counts = library_listing()
    language = request.args.get("lang", "")
    subject = request.args.get("subject", "")
    shown = [
        p
        for p in packs
        if (not language or p.language == language) and (not subject or subject in p.subjects)
    ]
    return render_template(
        "home.html",
        groups=group_by_language(shown, reader_languages()),
        languages=sorted({p.language for p in packs}),
        subjects=subjects_of(packs),
        language=language,
        subject=subject,
        counts=counts,
        mine=learner_home(learner) if (learner := current_learner()) else None,
    )


@bp.get("/packs/<pack_id>")
@same_for_visitors
def pack(pack_id: str) -> ResponseReturnValue:
    found = pack_or_404(pack_id)
    return render_template(
        "pack.html", pack=found, tree=found.topic_tree(), loose=found.loose_lessons()
    )


@bp.route("/lessons/<pack_id>/<lesson_id>", methods=["GET", "POST"])
@same_for_visitors
def lesson(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    view = lesson_service.lesson_view(pack_id, lesson_id)
    if view is None:
        raise HubError(404, "lesson_not_found", gettext("There is no such lesson in this library."))
    found = view.lesson
    learner = current_user()
    tracking = learner is not None and learner.role == LEARNER
    context = dict(view.__dict__, tracking=tracking, main=None)
    if learner is not None and tracking and request.method == "GET":
        # Counted here so a view counts even with JavaScript off.
        current_app.extensions["events"].record(learner.id, pack_id, lesson_id, "viewed")
    if found.kind == "exercise":
        context.update(_exercise_context(found))
    elif request.method == "POST":
        raise HubError(405, "method_not_allowed", gettext("This lesson has nothing to submit."))
    elif session:
        context["main"] = _main_part(view, tracking)
    # else a visitor: lesson.html renders the main part inline, and same_for_visitors keeps the
    # whole page; keeping its main part as well would hold the same lesson twice.
    status = 400 if context.get("answer_error") else 200
    return render_template("lesson.html", **context), status


def _main_part(view: lesson_service.LessonView, tracking: bool) -> Markup:
    """The lesson's main part, rendered once per language: the same for every reader."""
    lesson = view.lesson
    key = (lesson.pack_id, lesson.lesson_id, ui_locale(), tracking, request.script_root)
    return page_parts.get(
        key,
        lambda: Markup(render_template("lesson/_main.html", **view.__dict__, tracking=tracking)),
        keep=small_enough,
    )


def _exercise_context(lesson: Lesson) -> dict:
    exercise = lesson_service.exercise_of(lesson)
    if exercise is None:
        raise HubError(
            404, "lesson_not_found", gettext("This exercise is missing from the library.")
        )
    context = {"exercise": exercise, "answers": {}, "grade": None, "answer_error": None}
    if request.method == "POST":
        answers = _form_answers(exercise)
        context["answers"] = answers
        try:
            context["grade"] = _grade(lesson, exercise, answers)
        except AnswerError as err:
            context["answer_error"] = str(err)
    return context


def _grade(lesson: Lesson, exercise: Exercise, answers: dict) -> Grade:
    """Signed-in learners' answers are recorded like the API's; visitors just see the grade."""
    who = current_user()
    if who is None or who.role != LEARNER:
        return grade(exercise, answers)
    log = current_app.extensions["events"]
    return grade_attempt(log, who.id, lesson, exercise, answers).grade


def _form_answers(exercise: Exercise) -> dict:
    answers: dict[str, str | list[str]] = {}
    for question in exercise.questions:
        key = f"q-{question.id}"
        if question.type == "multiple":
            values = request.form.getlist(key)
            if values:
                answers[question.id] = values
        elif request.form.get(key, "").strip():
            answers[question.id] = request.form[key]
    return answers
