"""/admin/own-packs uploads: files into a draft, and a file to import (operators): a pack or
zipped Kolibri export (.zip), a ZIM, an H5P activity or an EPUB book. A plain form sends files
whole; with JavaScript, uploads.js sends them in resumable pieces (hub/library/draft_uploads.py)
and shows their progress. An import runs as a job (hub/core/jobs.py): the upload ends on the
job's page, which follows it."""

from __future__ import annotations

from flask import Blueprint, Response, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.core.errors import HubError
from hub.library.draft_uploads import MAX_CHUNK, DraftUpload, Finished
from hub.people.auth import check_role
from hub.web.csrf import larger_form
from hub.web.views.authoring_common import (
    FORM_TOO_LARGE,
    PREFIX,
    draft_of,
    draft_page,
    form_limit,
    index_page,
    jobs,
    uploads,
)

bp = Blueprint("authoring_uploads", __name__, url_prefix=PREFIX)


@bp.post("/<int:draft_id>/files")
@larger_form(form_limit, FORM_TOO_LARGE)
def upload_files(draft_id: int) -> ResponseReturnValue:
    found = draft_of(draft_id)
    files = [f for f in request.files.getlist("files") if f.filename]
    if not files:
        return draft_page(found, _("Choose one or more files first."), 400)
    try:
        for sent in files:
            uploads().save_whole(found.owner_id, found, sent.filename or "", sent.stream)
    except HubError as err:
        return draft_page(found, err.description, err.code)
    flash(_("Added %(num)d file(s).", num=len(files)))
    return redirect(url_for("authoring.draft", draft_id=draft_id), 303)


@bp.post("/<int:draft_id>/uploads")
def start_upload(draft_id: int) -> ResponseReturnValue:
    found = draft_of(draft_id)
    form = request.form
    upload = uploads().start(found.owner_id, found, form.get("name", ""), form.get("size", ""))
    return _upload_json(upload), 201


@bp.route("/<int:draft_id>/uploads/<upload_id>", methods=["GET", "PUT", "POST"])
def upload_piece(draft_id: int, upload_id: str) -> ResponseReturnValue:
    """GET: where the upload stands; PUT: one more piece; POST: finish a whole upload (after
    an answer lost at the last piece). A finished upload answers done to all three."""
    found = draft_of(draft_id)
    done = uploads().finished(found.owner_id, upload_id)
    if done is not None and done.draft_id == found.id:
        return _done_json(done)
    upload = uploads().of(found.owner_id, upload_id)
    if upload.draft_id != found.id:
        raise HubError(404, "unknown_upload", _("No such upload; start it again."))
    if request.method == "GET":
        return _upload_json(upload)
    if request.method == "PUT":
        received = _append(upload)
        if received < upload.size:
            return jsonify({"received": received, "size": upload.size, "done": False})
    uploads().finish(upload)
    return _done_json(uploads().finished(found.owner_id, upload_id))


def _append(upload: DraftUpload) -> int:
    request.max_content_length = MAX_CHUNK  # a piece over it: 413 before it is read
    return uploads().append(
        upload, request.headers.get("Content-Range"), request.content_length, request.stream
    )


def _upload_json(upload: DraftUpload) -> Response:
    received = uploads().received(upload)
    return jsonify(
        {"upload_id": upload.upload_id, "received": received, "size": upload.size, "done": False}
    )


def _done_json(done: Finished | None) -> Response:
    assert done is not None  # just finished, under the same lock
    body: dict[str, object] = {"received": done.size, "size": done.size, "done": True}
    if done.job_id is not None:
        body["job"] = url_for("jobs.job_page", job_id=done.job_id)
    return jsonify(body)


# --- a pack .zip or ZIM file to import (operators) ------------------------------------------


@bp.post("/import")
@larger_form(form_limit, FORM_TOO_LARGE)
def import_file() -> ResponseReturnValue:
    who = check_role("operator")
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return index_page(
            _(
                "Choose a file first: a pack or a zipped Kolibri export (.zip), a Kiwix "
                "library (.zim), an H5P activity (.h5p) or a book (.epub)."
            ),
            400,
        )
    try:
        job = uploads().import_sent(who.id, sent.filename, sent.stream, jobs())
    except HubError as err:
        return index_page(err.description, err.code)
    return redirect(url_for("jobs.job_page", job_id=job.id), 303)


@bp.post("/import/uploads")
def start_import_upload() -> ResponseReturnValue:
    who = check_role("operator")
    jobs().check_room()  # refused before gigabytes are sent, not after
    form = request.form
    upload = uploads().start(who.id, None, form.get("name", ""), form.get("size", ""))
    return _upload_json(upload), 201


@bp.route("/import/uploads/<upload_id>", methods=["GET", "PUT", "POST"])
def import_piece(upload_id: str) -> ResponseReturnValue:
    """As upload_piece; the finish queues the import, and the answer names its job."""
    who = check_role("operator")
    done = uploads().finished(who.id, upload_id)
    if done is not None and done.draft_id is None:
        return _done_json(done)
    upload = uploads().of(who.id, upload_id)
    if upload.draft_id is not None:
        raise HubError(404, "unknown_upload", _("No such upload; start it again."))
    if request.method == "GET":
        return _upload_json(upload)
    if request.method == "PUT":
        received = _append(upload)
        if received < upload.size:
            return jsonify({"received": received, "size": upload.size, "done": False})
    return _done_json(uploads().import_whole(upload, jobs()))
