"""/admin/own-packs: teachers' own packs (issue 16). Operators, and coaches when the operator
allows it (`coaches_make_packs`), make a pack from uploaded files and quizzes, set titles,
order and topics, publish it (a job: hub/core/jobs.py, followed on its own page), and export
any pack as a .zip. Uploads (and the import of a pack
.zip or ZIM file) are in authoring_uploads, the quiz editor in authoring_quiz; what they share
in authoring_common. Every form works without JavaScript.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from content.errors import PackError
from hub.core.errors import HubError
from hub.core.jobs import Job
from hub.library.drafts import Details, DraftPack
from hub.library.library_jobs import publish_work
from hub.library.pack_export import pack_zip, zip_pieces
from hub.web import job_text
from hub.web.views.authoring_common import (
    NO_STORE,
    PREFIX,
    draft_of,
    draft_page,
    drafts,
    index_page,
    jobs,
    maker,
    publish_key,
)

bp = Blueprint("authoring", __name__, url_prefix=PREFIX)


def _details() -> Details:
    form = request.form
    return Details(
        form.get("title", ""),
        form.get("language", ""),
        form.get("license", ""),
        form.get("author", ""),
        form.get("subject", ""),
        form.get("description", ""),
    )


# --- the list of drafts, and new ones ----------------------------------------------------


@bp.get("/")
def index() -> ResponseReturnValue:
    return index_page()


@bp.post("/")
def create() -> ResponseReturnValue:
    who = maker()
    try:
        made = drafts().create(who.id, _details())
    except HubError as err:
        return index_page(err.description, err.code)
    flash(_("Made the pack %(title)s. Now add its files.", title=made.title))
    return redirect(url_for("authoring.draft", draft_id=made.id), 303)


# --- one draft ---------------------------------------------------------------------------


@bp.get("/<int:draft_id>")
def draft(draft_id: int) -> ResponseReturnValue:
    return draft_page(draft_of(draft_id))


@bp.post("/<int:draft_id>")
def save_details(draft_id: int) -> ResponseReturnValue:
    found = draft_of(draft_id)
    try:
        drafts().update(found, _details())
    except HubError as err:
        return draft_page(found, err.description, err.code)
    flash(_("Saved."))
    return redirect(url_for("authoring.draft", draft_id=draft_id), 303)


@bp.post("/<int:draft_id>/lessons")
def save_lessons(draft_id: int) -> ResponseReturnValue:
    found = draft_of(draft_id)
    form = request.form
    rows = [
        {"file": name, "title": title, "position": position, "topic": topic}
        for name, title, position, topic in zip(
            form.getlist("file"),
            form.getlist("title"),
            form.getlist("position"),
            form.getlist("topic"),
            strict=False,
        )
    ]
    try:
        drafts().save_lessons(found, rows)
    except HubError as err:
        return draft_page(found, err.description, err.code)
    flash(_("Saved the lessons."))
    return redirect(url_for("authoring.draft", draft_id=draft_id), 303)


@bp.post("/<int:draft_id>/files/remove")
def remove_file(draft_id: int) -> ResponseReturnValue:
    found = draft_of(draft_id)
    drafts().remove_file(found, request.form.get("file", ""))
    flash(_("Removed the file."))
    return redirect(url_for("authoring.draft", draft_id=draft_id), 303)


@bp.post("/<int:draft_id>/publish")
def publish(draft_id: int) -> ResponseReturnValue:
    """Publishing a big pack takes minutes: it runs as a job, and its page follows it."""
    found = draft_of(draft_id)
    if not drafts().file_names(found):
        return draft_page(
            found, _("Add a file or a quiz first: a pack needs at least one lesson."), 400
        )
    work = publish_work(drafts(), found.id)
    try:
        job = jobs().submit("publish", found.title, work, maker().id, publish_key(found))
    except HubError as err:
        return draft_page(found, err.description, err.code)
    return redirect(url_for("authoring.publishing", draft_id=draft_id, job_id=job.id), 303)


@bp.get("/<int:draft_id>/publishing/<int:job_id>")
def publishing(draft_id: int, job_id: int) -> ResponseReturnValue:
    found = draft_of(draft_id)
    job = _publish_job(found, job_id)
    page = render_template("authoring/publishing.html", draft=found, job=job, text=job_text)
    return page, 200, NO_STORE


@bp.get("/<int:draft_id>/publishing/<int:job_id>.json")
def publishing_json(draft_id: int, job_id: int) -> ResponseReturnValue:
    found = draft_of(draft_id)
    job = _publish_job(found, job_id)
    url = url_for("authoring.publishing", draft_id=draft_id, job_id=job_id)
    return jsonify(job_text.as_json(job, url)), 200, NO_STORE


def _publish_job(found: DraftPack, job_id: int) -> Job:
    job = jobs().get(job_id)
    if job is None or job.kind != "publish" or job.about != publish_key(found):
        raise HubError(404, "no_such_job", _("That work finished long ago; its outcome is gone."))
    return job


@bp.post("/<int:draft_id>/delete")
def delete(draft_id: int) -> ResponseReturnValue:
    found = draft_of(draft_id)
    if request.form.get("confirm") != "1":
        return draft_page(found, _("Tick the box to confirm, then delete."), 400)
    drafts().delete(found)
    flash(_("Deleted the draft. A published pack stays in the library."))
    return redirect(url_for("authoring.index"), 303)


# --- export ------------------------------------------------------------------------------------


@bp.get("/export/<pack_id>.zip")
def export(pack_id: str) -> ResponseReturnValue:
    """Any pack for an operator; a coach, the packs of their own drafts."""
    who = maker()
    if who.role != "operator":
        mine = DraftPack.get_or_none(DraftPack.pack_id == pack_id, DraftPack.owner_id == who.id)
        if mine is None:
            raise HubError(404, "pack_not_found", _("There is no such pack in this library."))
    try:
        packed = pack_zip(drafts().library.store, pack_id)
    except PackError as err:
        raise HubError(404, "pack_not_found", str(err)) from None
    disposition = f'attachment; filename="{packed.file_name}"'
    return Response(
        zip_pieces(packed),
        mimetype="application/zip",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )
