"""/admin/own-packs: teachers' own packs (issue 16). Operators, and coaches when the operator
allows it (`coaches_make_packs`), make a pack from uploaded files and quizzes, set titles,
order and topics, publish it, and export any pack as a .zip; operators also upload a pack
.zip or ZIM file to import. Every form works without JavaScript; with it, uploads.js sends
files in resumable pieces (hub/library/draft_uploads.py) and shows their progress.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from content.errors import PackError
from hub.core.errors import HubError
from hub.core.settings import Config
from hub.library.draft_uploads import MAX_CHUNK, DraftUpload, Uploads
from hub.library.drafts import LICENSES, Details, DraftPack, Drafts
from hub.library.models import Pack
from hub.library.pack_export import pack_zip, zip_pieces
from hub.library.packs import Outcome
from hub.library.quiz_form import (
    QuizForm,
    QuizFormError,
    from_exercise,
    from_fields,
    preview_pages,
    to_exercise,
)
from hub.people.auth import Identity, check_role
from hub.web.csrf import larger_form

PREFIX = "/admin/own-packs"
bp = Blueprint("authoring", __name__, url_prefix=PREFIX)
FORM_SLACK = 64 * 1024  # the multipart wrapping around the files of a plain form


def body_routes(config: Config) -> dict[str, int]:
    """The server's body limit here: a file sent whole by a plain form, or one piece."""
    return {PREFIX: max(config.form_upload_bytes, MAX_CHUNK) + FORM_SLACK}


def _config() -> Config:
    return current_app.config["LEARNHUB"]


def _drafts() -> Drafts:
    found = current_app.extensions.get("drafts")
    if found is None:
        found = current_app.extensions["drafts"] = Drafts(
            _config(), current_app.extensions["library"]
        )
    return found


def _uploads() -> Uploads:
    found = current_app.extensions.get("draft_uploads")
    if found is None:
        found = current_app.extensions["draft_uploads"] = Uploads(_drafts())
    return found


def _maker() -> Identity:
    who = check_role("operator", "coach")
    if who.role == "coach" and not _config().coaches_make_packs:
        raise HubError(
            403,
            "coaches_not_allowed",
            _("The operator has not allowed coaches to make packs on this hub."),
        )
    return who


def _operator() -> Identity:
    return check_role("operator")


def _draft(draft_id: int) -> DraftPack:
    """The draft, if this person may change it (its maker, or an operator); else 404."""
    who = _maker()
    draft = DraftPack.get_or_none(DraftPack.id == draft_id)
    if draft is None or (who.role != "operator" and draft.owner_id != who.id):
        raise HubError(404, "no_such_draft", _("There is no such pack being made."))
    return draft


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
    return _index_page()


def _index_page(error: str | None = None, status: int = 200, **extra: Any) -> ResponseReturnValue:
    who = _maker()
    _uploads().sweep()
    drafts = DraftPack.of(None if who.role == "operator" else who.id)
    page = render_template(
        "authoring/index.html",
        drafts=drafts,
        licenses=LICENSES,
        who=who,
        form=request.form,
        packs=Pack.ordered() if who.role == "operator" else [],
        default_language=_config().default_language,
        error=error,
        **extra,
    )
    return page, status


@bp.post("/")
def create() -> ResponseReturnValue:
    who = _maker()
    try:
        draft = _drafts().create(who.id, _details())
    except HubError as err:
        return _index_page(err.description, err.code)
    flash(_("Made the pack %(title)s. Now add its files.", title=draft.title))
    return redirect(url_for("authoring.draft", draft_id=draft.id), 303)


# --- one draft ---------------------------------------------------------------------------


@bp.get("/<int:draft_id>")
def draft(draft_id: int) -> ResponseReturnValue:
    return _draft_page(_draft(draft_id))


def _draft_page(
    found: DraftPack, error: str | None = None, status: int = 200, problems: list[str] | None = None
) -> ResponseReturnValue:
    page = render_template(
        "authoring/draft.html",
        draft=found,
        view=_drafts().view(found),
        licenses=LICENSES,
        published=Pack.by_id(found.pack_id),
        form_limit=_config().form_upload_bytes,
        chunk=MAX_CHUNK // 2,
        error=error,
        problems=problems or [],
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.post("/<int:draft_id>")
def save_details(draft_id: int) -> ResponseReturnValue:
    found = _draft(draft_id)
    try:
        _drafts().update(found, _details())
    except HubError as err:
        return _draft_page(found, err.description, err.code)
    flash(_("Saved."))
    return redirect(url_for("authoring.draft", draft_id=draft_id), 303)


@bp.post("/<int:draft_id>/lessons")
def save_lessons(draft_id: int) -> ResponseReturnValue:
    found = _draft(draft_id)
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
        _drafts().save_lessons(found, rows)
    except HubError as err:
        return _draft_page(found, err.description, err.code)
    flash(_("Saved the lessons."))
    return redirect(url_for("authoring.draft", draft_id=draft_id), 303)


@bp.post("/<int:draft_id>/files/remove")
def remove_file(draft_id: int) -> ResponseReturnValue:
    found = _draft(draft_id)
    _drafts().remove_file(found, request.form.get("file", ""))
    flash(_("Removed the file."))
    return redirect(url_for("authoring.draft", draft_id=draft_id), 303)


@bp.post("/<int:draft_id>/publish")
def publish(draft_id: int) -> ResponseReturnValue:
    found = _draft(draft_id)
    try:
        result = _drafts().publish(found)
    except HubError as err:
        return _draft_page(found, err.description, err.code)
    if result.action == "unchanged":
        flash(_("Nothing changed since version %(version)s was published.", version=result.version))
    else:
        flash(_("Published version %(version)s: learners see it now.", version=result.version))
    return redirect(url_for("authoring.draft", draft_id=draft_id), 303)


@bp.post("/<int:draft_id>/delete")
def delete(draft_id: int) -> ResponseReturnValue:
    found = _draft(draft_id)
    if request.form.get("confirm") != "1":
        return _draft_page(found, _("Tick the box to confirm, then delete."), 400)
    _drafts().delete(found)
    flash(_("Deleted the draft. A published pack stays in the library."))
    return redirect(url_for("authoring.index"), 303)


# --- uploads: a plain form, or pieces from uploads.js ---------------------------------------


def _form_limit() -> int:
    return current_app.config["LEARNHUB"].form_upload_bytes + FORM_SLACK


_FORM_TOO_LARGE = lazy_gettext(
    "These files are too large to send with a plain form. Send fewer at a time, or use a "
    "browser with JavaScript on, which sends large files in pieces."
)


@bp.post("/<int:draft_id>/files")
@larger_form(_form_limit, _FORM_TOO_LARGE)
def upload_files(draft_id: int) -> ResponseReturnValue:
    found = _draft(draft_id)
    files = [f for f in request.files.getlist("files") if f.filename]
    if not files:
        return _draft_page(found, _("Choose one or more files first."), 400)
    uploads = _uploads()
    try:
        for sent in files:
            uploads.save_whole(found.owner_id, found, sent.filename or "", sent.stream)
    except HubError as err:
        return _draft_page(found, err.description, err.code)
    flash(_("Added %(num)d file(s).", num=len(files)))
    return redirect(url_for("authoring.draft", draft_id=draft_id), 303)


@bp.post("/<int:draft_id>/uploads")
def start_upload(draft_id: int) -> ResponseReturnValue:
    found = _draft(draft_id)
    form = request.form
    upload = _uploads().start(found.owner_id, found, form.get("name", ""), form.get("size", ""))
    return _upload_json(upload), 201


@bp.route("/<int:draft_id>/uploads/<upload_id>", methods=["GET", "PUT"])
def upload_piece(draft_id: int, upload_id: str) -> ResponseReturnValue:
    found = _draft(draft_id)
    upload = _uploads().of(found.owner_id, upload_id)
    if upload.draft_id != found.id:
        raise HubError(404, "unknown_upload", _("No such upload; start it again."))
    if request.method == "GET":
        return _upload_json(upload)
    received = _append(upload)
    if received < upload.size:
        return jsonify({"received": received, "size": upload.size, "done": False})
    _uploads().finish(upload)
    return jsonify({"received": received, "size": upload.size, "done": True})


def _append(upload: DraftUpload) -> int:
    request.max_content_length = MAX_CHUNK  # a piece over it: 413 before it is read
    return _uploads().append(
        upload, request.headers.get("Content-Range"), request.content_length, request.stream
    )


def _upload_json(upload: DraftUpload) -> Response:
    received = _uploads().received(upload)
    return jsonify(
        {"upload_id": upload.upload_id, "received": received, "size": upload.size, "done": False}
    )


# --- a pack .zip or ZIM file to import (operators) ------------------------------------------


@bp.post("/import")
@larger_form(_form_limit, _FORM_TOO_LARGE)
def import_file() -> ResponseReturnValue:
    who = _operator()
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _index_page(_("Choose a pack .zip or a .zim file first."), 400)
    try:
        outcomes = _uploads().import_sent(who.id, sent.filename, sent.stream)
    except HubError as err:
        return _index_page(err.description, err.code)
    return _imported(outcomes)


@bp.post("/import/uploads")
def start_import_upload() -> ResponseReturnValue:
    who = _operator()
    upload = _uploads().start(
        who.id, None, request.form.get("name", ""), request.form.get("size", "")
    )
    return _upload_json(upload), 201


@bp.route("/import/uploads/<upload_id>", methods=["GET", "PUT"])
def import_piece(upload_id: str) -> ResponseReturnValue:
    who = _operator()
    upload = _uploads().of(who.id, upload_id)
    if upload.draft_id is not None:
        raise HubError(404, "unknown_upload", _("No such upload; start it again."))
    if request.method == "GET":
        return _upload_json(upload)
    received = _append(upload)
    if received < upload.size:
        return jsonify({"received": received, "size": upload.size, "done": False})
    outcomes = _uploads().import_whole(upload)
    refused = [o.error for o in outcomes if o.error]
    body = {"received": received, "size": upload.size, "done": True, "refused": refused}
    body["messages"] = [_outcome_text(o) for o in outcomes]
    return jsonify(body)


def _imported(outcomes: list[Outcome]) -> ResponseReturnValue:
    refused = [o for o in outcomes if o.error]
    if refused:
        problems = [p for o in refused for p in (o.problems or (o.error or "",))]
        return _index_page(_("The file was not imported; nothing changed."), 400, problems=problems)
    for outcome in outcomes:
        flash(_outcome_text(outcome))
    return redirect(url_for("authoring.index"), 303)


def _outcome_text(outcome: Outcome) -> str:
    if outcome.error:
        return _("Refused: %(why)s", why=outcome.error)
    if outcome.zim is not None:
        return _("Imported the ZIM file %(name)s.", name=outcome.zim.name)
    result = outcome.result
    assert result is not None
    if result.action == "unchanged":
        return _(
            "%(pack)s %(version)s is already installed.",
            pack=result.pack_id,
            version=result.version,
        )
    return _("Imported %(pack)s %(version)s.", pack=result.pack_id, version=result.version)


# --- export ------------------------------------------------------------------------------------


@bp.get("/export/<pack_id>.zip")
def export(pack_id: str) -> ResponseReturnValue:
    """Any pack for an operator; a coach, the packs of their own drafts."""
    who = _maker()
    if who.role != "operator":
        mine = DraftPack.get_or_none(DraftPack.pack_id == pack_id, DraftPack.owner_id == who.id)
        if mine is None:
            raise HubError(404, "pack_not_found", _("There is no such pack in this library."))
    try:
        packed = pack_zip(_drafts().library.store, pack_id)
    except PackError as err:
        raise HubError(404, "pack_not_found", str(err)) from None
    disposition = f'attachment; filename="{packed.file_name}"'
    return Response(
        zip_pieces(packed),
        mimetype="application/zip",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


# --- the quiz editor -------------------------------------------------------------------------


@bp.route("/<int:draft_id>/quiz", methods=["GET", "POST"])
def quiz(draft_id: int) -> ResponseReturnValue:
    found = _draft(draft_id)
    old = request.values.get("file") or None
    if request.method == "GET":
        form = (
            from_exercise(_title_of(found, old), _drafts().read_quiz(found, old))
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
    name = _drafts().save_quiz(found, form.title, raw, old)
    flash(_("Saved the quiz %(title)s.", title=form.title.strip()))
    return redirect(url_for("authoring.quiz", draft_id=found.id, file=name), 303)


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
    return page, status, {"Cache-Control": "no-store"}
