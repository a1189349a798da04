"""Pages for people: the library, a pack, a lesson. Server-rendered; no JavaScript needed."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, session
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.learning.learner_home import learner_home, next_assigned
from hub.learning.lesson_state import my_lesson, pack_marks
from hub.library import lessons as lesson_service
from hub.library.cache import page_parts, small_enough
from hub.library.listing import group_by_language, library_listing, subjects_of
from hub.library.models import Lesson, ZimArchive
from hub.library.responses import pack_or_404
from hub.library.thumbnails import lesson_thumbnails, pack_covers
from hub.people.auth import LEARNER, current_learner, current_user
from hub.web.i18n import reader_languages, ui_locale
from hub.web.views.quiz import quiz_context
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
    zims = ZimArchive.ordered()
    return render_template(
        "home.html",
        groups=group_by_language(shown, reader_languages()),
        zims=[z for z in zims if not language or z.language == language] if not subject else [],
        languages=sorted({p.language for p in packs} | {z.language for z in zims if z.language}),
        subjects=subjects_of(packs),
        language=language,
        subject=subject,
        counts=counts,
        covers=pack_covers(shown),
        mine=learner_home(learner) if (learner := current_learner()) else None,
    )


@bp.get("/packs/<pack_id>")
@same_for_visitors
def pack(pack_id: str) -> ResponseReturnValue:
    found = pack_or_404(pack_id)
    # Ticks, stars and topic bars for a signed-in learner only: a visitor's page is kept.
    learner = current_user()
    marks = pack_marks(learner.id, pack_id) if learner and learner.role == LEARNER else None
    return render_template(
        "pack.html",
        pack=found,
        tree=found.topic_tree(),
        loose=found.loose_lessons(),
        marks=marks,
        cover=pack_covers([found])[found.id],
        thumbnails=lesson_thumbnails(pack_id),
    )


@bp.get("/lessons/<pack_id>/<lesson_id>")
@same_for_visitors
def lesson(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    # A visitor without cookies gets the whole answer kept (hub/web/kept_responses.py): the
    # lesson's view would be a second copy, and sizing it costs a tenth of the page.
    view = lesson_service.lesson_view(pack_id, lesson_id, keep=bool(request.cookies))
    if view is None:
        raise HubError(404, "lesson_not_found", gettext("There is no such lesson in this library."))
    found = view.lesson
    learner = current_user()
    tracking = learner is not None and learner.role == LEARNER
    context = dict(view.__dict__, tracking=tracking, main=None)
    if learner is not None and tracking:
        # Done, and where to resume: for this learner only, never in a visitor's kept page.
        context["mine"] = my_lesson(learner.id, pack_id, lesson_id, found.kind)
        context["onward"] = _onward(view)
        # Counted here so a view counts even with JavaScript off.
        current_app.extensions["events"].record(learner.id, pack_id, lesson_id, "viewed")
    if found.kind == "exercise":
        context.update(quiz_context(found))
    elif session:
        context["main"] = _main_part(view, tracking)
    # else a visitor: lesson.html renders the main part inline, and same_for_visitors keeps the
    # whole page; keeping its main part as well would hold the same lesson twice.
    return render_template("lesson.html", **context)


def _onward(view: lesson_service.LessonView) -> Lesson | None:
    """The one big button after finishing: the next lesson set for the learner's class, else
    the next in the topic (the pack's page when there is none)."""
    learner = current_learner()
    key = (view.lesson.pack_id, view.lesson.lesson_id)
    return (next_assigned(learner, key) if learner else None) or view.next


def _main_part(view: lesson_service.LessonView, tracking: bool) -> Markup:
    """The lesson's main part, rendered once per language: the same for every reader."""
    lesson = view.lesson
    key = (lesson.pack_id, lesson.lesson_id, ui_locale(), tracking, request.script_root)
    return page_parts.get(
        key,
        lambda: Markup(render_template("lesson/_main.html", **view.__dict__, tracking=tracking)),
        keep=small_enough,
    )
