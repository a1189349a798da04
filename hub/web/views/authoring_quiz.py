"""/admin/own-packs/<draft>/quiz: the quiz editor. Questions are added, removed, previewed as
learners see them and saved into the draft by plain form posts (hub/library/quiz_form.py), so
it works on a phone without JavaScript."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.core.errors import HubError
from hub.library.drafts import DraftPack
from hub.library.quiz_form import (
    QuizForm,
    QuizFormError,
    from_exercise,
    from_fields,
    preview_pages,
    to_exercise,
)
from hub.web.views.authoring_common import NO_STORE, PREFIX, draft_of, drafts

bp = Blueprint("authoring_quiz", __name__, url_prefix=PREFIX)


@bp.route("/<int:draft_id>/quiz", methods=["GET", "POST"])
def quiz(draft_id: int) -> ResponseReturnValue:
    found = draft_of(draft_id)
    old = request.values.get("file") or None
    if request.method == "GET":
        form = (
            from_exercise(_title_of(found, old), drafts().read_quiz(found, old))
            if old
            else QuizForm()
        )
        if not form.questions:
            form.add("single")
        return _quiz_page(found, form, old)
    form = from_fields(request.form)
    action = request.form.get("action", "")
    try:
        return _quiz_action(found, form, old, action)
    except (QuizFormError, HubError) as err:
        message = err.description if isinstance(err, HubError) else str(err)
        return _quiz_page(found, form, old, error=message, status=400)


def _quiz_action(
    found: DraftPack, form: QuizForm, old: str | None, action: str
) -> ResponseReturnValue:
    if action.startswith("add-"):
        form.add(action.removeprefix("add-"))
        return _quiz_page(found, form, old, focus=len(form.questions) - 1)
    if action.startswith("remove-"):
        index = int(action.removeprefix("remove-")) if action[7:].isdigit() else -1
        if 0 <= index < len(form.questions):
            del form.questions[index]
        return _quiz_page(found, form, old)
    raw, exercise = to_exercise(form)
    if action == "preview":
        return _quiz_page(found, form, old, preview=preview_pages(exercise))
    name = drafts().save_quiz(found, form.title, raw, old)
    flash(_("Saved the quiz %(title)s.", title=form.title.strip()))
    return redirect(url_for("authoring_quiz.quiz", draft_id=found.id, file=name), 303)


def _title_of(found: DraftPack, name: str | None) -> str:
    chosen = found.lessons.get(name or "", {})
    return chosen.get("title") or (name or "").removesuffix(".json")


def _quiz_page(
    found: DraftPack,
    form: QuizForm,
    old: str | None,
    *,
    error: str | None = None,
    status: int = 200,
    preview: Any = None,
    focus: int | None = None,
) -> ResponseReturnValue:
    page = render_template(
        "authoring/quiz.html",
        draft=found,
        form=form,
        old=old,
        preview=preview,
        focus=focus,
        error=error,
    )
    return page, status, NO_STORE
