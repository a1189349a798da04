"""H5P activities: the player's frame, the files of the package, and the results it reports.

The player and the activity run in a frame with an opaque origin (CSP `sandbox allow-scripts`,
never `allow-same-origin`): they cannot read the hub's cookies, call its API or touch the
lesson page. Their only way out is postMessage to the lesson page, which checks what it gets
and posts the result here itself (docs/security.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue

from content.errors import PackError
from content.h5p import is_servable
from content.importer import media_type
from content.zip_members import Member, ZipIndex
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.learning.h5p_results import H5PResult, ResultError, record_result
from hub.library.h5p_packages import package_index
from hub.library.models import Lesson, PackFile
from hub.people.auth import LEARNER, check_role, json_body
from hub.web.response_headers import ARTICLE_CSP, runs_script
from hub.web.sendfile import REVALIDATE, send_path, send_pieces

bp = Blueprint("h5p", __name__)

# The player's page: its scripts (the vendored player, the activity's libraries, their inline
# set-up) run, but in an opaque origin; it may fetch only from the hub, and send nothing but
# postMessage to the page that frames it.
PLAYER_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'self' data: blob:; "
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; form-action 'none'; frame-src 'self' blob: data:; "
    "frame-ancestors 'self'; base-uri 'none'"
)
# What the player's cross-origin requests may carry: only what reading a file needs.
PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD",
    "Access-Control-Allow-Headers": "X-Requested-With, Range",
    "Access-Control-Max-Age": "86400",
}


def _lesson(pack_id: str, lesson_id: str) -> tuple[Lesson, PackFile]:
    lesson = Lesson.find(pack_id, lesson_id)
    archive = PackFile.find(pack_id, lesson.file_path) if lesson and lesson.kind == "h5p" else None
    if lesson is None or archive is None:
        raise HubError(404, "lesson_not_found", gettext("There is no such lesson in this library."))
    return lesson, archive


@bp.route("/h5p/<pack_id>/<lesson_id>/player", methods=["GET", "HEAD"])
def player(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    lesson, archive = _lesson(pack_id, lesson_id)
    page = render_template("h5p_player.html", lesson=lesson, archive=archive)
    return Response(
        page,
        mimetype="text/html",
        headers={"Content-Security-Policy": PLAYER_CSP, "Cache-Control": REVALIDATE},
    )


@bp.route("/h5p/<pack_id>/<lesson_id>/files/<sha>/<path:path>", methods=["GET", "HEAD", "OPTIONS"])
def package_file(pack_id: str, lesson_id: str, sha: str, path: str) -> ResponseReturnValue:
    """A file inside the package. The URL names the package's sha256, so a file never
    changes under its URL. The player's frame is an opaque origin, so its requests are
    cross-origin: `Access-Control-Allow-Origin: *` (never with credentials) lets it read files
    any visitor may read, and OPTIONS answers the preflight of its XMLHttpRequests (SoundJS
    adds an X-Requested-With header, which needs one)."""
    if request.method == "OPTIONS":
        return Response(status=204, headers=PREFLIGHT)
    _, archive = _lesson(pack_id, lesson_id)
    member = _member(archive, sha, path)
    kind = media_type(path)
    headers = {"Access-Control-Allow-Origin": "*"}
    if runs_script(kind):
        headers["Content-Security-Policy"] = ARTICLE_CSP
    etag = hashlib.sha256(f"{archive.sha256}/{path}".encode()).hexdigest()[:32]
    index = member.index
    if member.entry.stored:
        span = (_data_offset(index, member.entry), member.entry.size)
        return send_path(
            index.path, etag=etag, media_type=kind, immutable=True, headers=headers, span=span
        )
    return send_pieces(
        partial(index.chunks, member.entry),
        member.entry.size,
        etag=etag,
        media_type=kind,
        immutable=True,
        headers=headers,
    )


@dataclass(frozen=True)
class _Found:
    index: ZipIndex
    entry: Member


def _member(archive: PackFile, sha: str, path: str) -> _Found:
    if sha != archive.sha256 or not is_servable(path):
        raise _no_file()
    blob = current_app.extensions["library"].store.path(archive.sha256)
    kept = current_app.config["LEARNHUB"].h5p_packages_kept
    try:
        index = package_index(archive.sha256, blob, kept)
    except PackError:
        raise _no_file() from None
    entry = index.member(path)
    if entry is None:
        raise _no_file()
    return _Found(index, entry)


def _data_offset(index: ZipIndex, entry: Member) -> int:
    try:
        return index.data_offset(entry)
    except (PackError, OSError):
        raise _no_file() from None


def _no_file() -> HubError:
    return HubError(404, "file_not_found", gettext("This file is not in the library."))


@bp.post("/api/lessons/<pack_id>/<lesson_id>/h5p-result")
def result(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    """The lesson page's report of what the activity said: {"score", "max", "success"}."""
    who = check_role(LEARNER)
    lesson, _ = _lesson(pack_id, lesson_id)
    try:
        outcome = H5PResult.parse(json_body())
    except ResultError as err:
        raise HubError(
            400, "bad_result", gettext("%(name)s is out of range.", name=str(err))
        ) from None
    record_result(
        current_app.extensions["events"], who.id, lesson.pack_id, lesson.lesson_id, outcome
    )
    return {"recorded": True}, 201
