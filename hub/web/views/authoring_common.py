"""What the own-packs pages share (hub/web/views/authoring*.py): who may make packs, the
draft asked for, the services kept on the app, and the two pages errors fall back to."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from hub.core.errors import HubError
from hub.core.jobs import Job, JobRunner
from hub.core.settings import Config
from hub.library.draft_uploads import MAX_CHUNK, Uploads
from hub.library.drafts import LICENSES, DraftPack, Drafts
from hub.library.models import Pack
from hub.people.auth import Identity, check_role
from hub.web import job_text

PREFIX = "/admin/own-packs"
FORM_SLACK = 64 * 1024  # the multipart wrapping around the files of a plain form
NO_STORE = {"Cache-Control": "no-store"}

FORM_TOO_LARGE = lazy_gettext(
    "These files are too large to send with a plain form. Send fewer at a time, or use a "
    "browser with JavaScript on, which sends large files in pieces."
)


def body_routes(config: Config) -> dict[str, int]:
    """The server's body limit here: a file sent whole by a plain form, or one piece."""
    return {PREFIX: max(config.form_upload_bytes, MAX_CHUNK) + FORM_SLACK}


def form_limit() -> int:
    return config().form_upload_bytes + FORM_SLACK


def config() -> Config:
    return current_app.config["LEARNHUB"]


def jobs() -> JobRunner:
    return current_app.extensions["jobs"]


def drafts() -> Drafts:
    found = current_app.extensions.get("drafts")
    if found is None:
        found = current_app.extensions["drafts"] = Drafts(
            config(), current_app.extensions["library"]
        )
    return found


def uploads() -> Uploads:
    found = current_app.extensions.get("draft_uploads")
    if found is None:
        found = current_app.extensions["draft_uploads"] = Uploads(drafts())
    return found


def maker() -> Identity:
    who = check_role("operator", "coach")
    if who.role == "coach" and not config().coaches_make_packs:
        raise HubError(
            403,
            "coaches_not_allowed",
            _("The operator has not allowed coaches to make packs on this hub."),
        )
    return who


def draft_of(draft_id: int) -> DraftPack:
    """The draft, if this person may change it (its maker, or an operator); else 404."""
    who = maker()
    found = DraftPack.get_or_none(DraftPack.id == draft_id)
    if found is None or (who.role != "operator" and found.owner_id != who.id):
        raise HubError(404, "no_such_draft", _("There is no such pack being made."))
    return found


def index_page(error: str | None = None, status: int = 200, **extra: Any) -> ResponseReturnValue:
    who = maker()
    uploads().sweep()
    page = render_template(
        "authoring/index.html",
        drafts=DraftPack.of(None if who.role == "operator" else who.id),
        licenses=LICENSES,
        who=who,
        form=request.form,
        packs=Pack.ordered() if who.role == "operator" else [],
        default_language=config().default_language,
        error=error,
        **extra,
    )
    return page, status


def publish_key(found: DraftPack) -> str:
    """What a publish job is about: the draft page finds its last one by it."""
    return f"draft-{found.id}"


def last_publish(found: DraftPack) -> Job | None:
    key = publish_key(found)
    return next((job for job in jobs().recent("publish") if job.about == key), None)


def draft_page(
    found: DraftPack, error: str | None = None, status: int = 200, problems: list[str] | None = None
) -> ResponseReturnValue:
    page = render_template(
        "authoring/draft.html",
        draft=found,
        publishing=last_publish(found),
        text=job_text,
        view=drafts().view(found),
        licenses=LICENSES,
        published=Pack.by_id(found.pack_id),
        form_limit=config().form_upload_bytes,
        chunk=MAX_CHUNK // 2,
        error=error,
        problems=problems or [],
    )
    return page, status, NO_STORE
