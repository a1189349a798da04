"""Kiwix libraries on the hub: each ZIM's page (its main page inside the hub's bar, a random
article), its entries' bytes, and a learner's visits counted as "viewed".

`/zims/<name>` and `/zims/<name>/read/<entry>` are the hub's own pages; `/zim/<name>/<entry>`
are the ZIM's bytes, as kiwix-serve lays them out, so the relative links inside an article
keep working inside its frame. An entry a browser could run script in is sandboxed like a
pack's app (scripts allowed, opaque origin: no allow-same-origin), so a ZIM's scripts never
run with the hub's origin: no cookie, no API, no page of the hub to reach.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from content.zim import ZimEntry, ZimError, ZimReader
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.library import zim_pages
from hub.library.models import ZimArchive
from hub.people.auth import LEARNER, check_role, current_user, json_body
from hub.people.models import ClassGroup
from hub.web.compress import accepts_gzip, gzip_bytes
from hub.web.kept_responses import mark_shareable
from hub.web.response_headers import runs_script
from hub.web.sendfile import REVALIDATE, requested_span, send_path
from hub.web.views.static import static_url

bp = Blueprint("zim", __name__)
T = TypeVar("T")

# A ZIM's pages carry their own scripts (Wikipedia's, PhET's...). They run, but in an opaque
# origin (`sandbox` without allow-same-origin), may reach nothing outside the hub and connect
# nowhere; the hub's location reporter is the one script of ours among them.
ZIM_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'self' data: blob:; "
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'none'; form-action 'none'; object-src 'none'; worker-src 'none'; "
    "frame-ancestors 'self'; base-uri 'self'"
)
REPORTER = "js/zim-reporter.js"
COACHES = ("coach", "operator")  # who may assign an article (as hub.web.views.coach)
PAGE_MAX = 4 * 1024 * 1024  # larger HTML goes out as it is, without the reporter
_TEXT_MAX = 2 * 1024 * 1024  # compressed entries up to this size are read whole


def _data_dir() -> Path:
    return Path(current_app.config["LEARNHUB"].data_dir)


def _archive_or_404(name: str) -> ZimArchive:
    found = zim_pages.archive(name)
    if found is None:
        raise HubError(404, "zim_not_found", gettext("There is no such library on this hub."))
    return found


def _reader(found: ZimArchive) -> ZimReader:
    reader = zim_pages.reader_for(_data_dir(), found)
    if reader is None:
        raise HubError(
            503, "zim_unreadable", gettext("This library's file cannot be read; ask an operator.")
        )
    return reader


def _missing() -> HubError:
    return HubError(404, "article_not_found", gettext("This article is not in the library."))


def raw_url(name: str, path: str) -> str:
    return f"/zim/{quote(name)}/{quote(path, safe='/')}"


def read_url(name: str, path: str) -> str:
    return f"/zims/{quote(name)}/read/{quote(path, safe='/')}"


@bp.get("/zims/<name>")
def library_item(name: str) -> ResponseReturnValue:
    found = _archive_or_404(name)
    entry = _reader(found).main_entry()
    return _page(found, entry)


@bp.get("/zims/<name>/read/<path:path>")
def article(name: str, path: str) -> ResponseReturnValue:
    found = _archive_or_404(name)
    entry = _reader(found).entry(path)
    if entry is None:
        raise _missing()
    if entry.redirects:
        return redirect(read_url(name, entry.path), 302)
    return _page(found, entry)


@bp.get("/zims/<name>/random")
def random_article(name: str) -> ResponseReturnValue:
    found = _archive_or_404(name)
    entry = _reader(found).random_entry() or _reader(found).main_entry()
    if entry is None:
        raise _missing()
    response = redirect(read_url(name, entry.path), 302)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/zims/<name>/illustration.png")
def illustration(name: str) -> ResponseReturnValue:
    found = _archive_or_404(name)
    if not found.illustration:
        raise HubError(404, "no_illustration", gettext("This library has no picture."))
    response = Response(bytes(found.illustration), mimetype="image/png")
    response.headers["Cache-Control"] = REVALIDATE
    response.set_etag(found.uuid)
    return response.make_conditional(request)


@bp.post("/api/zims/<name>/viewed")
def viewed(name: str) -> ResponseReturnValue:
    """The page's script reports an article reached by a link inside the frame."""
    who = check_role(LEARNER)
    found = _archive_or_404(name)
    path = json_body().get("path")
    if not isinstance(path, str) or len(path) > 4096:
        raise HubError(400, "bad_request", gettext("Send the article's path as a string."))
    entry = _reader(found).entry(path)
    if entry is None or entry.redirects:
        raise _missing()
    _count_view(who.id, found, entry)
    return jsonify({"pack_id": found.pack_id, "lesson_id": zim_pages.article_id(entry.path)}), 201


@bp.route("/zim/<name>/<path:path>", methods=["GET", "HEAD"])
def entry_bytes(name: str, path: str) -> ResponseReturnValue:
    found = _archive_or_404(name)
    reader = _reader(found)
    entry = reader.entry(path)
    if entry is None:
        raise _missing()
    if entry.redirects:
        return redirect(raw_url(name, entry.path), 302)  # as kiwix-serve answers
    etag = zim_pages.entry_etag(found, entry)
    headers = {"Content-Security-Policy": ZIM_CSP} if runs_script(entry.mimetype) else {}
    if _is_page(entry):
        return _kept_for_all(_page_bytes(reader, entry, etag, headers))
    offset = reader.direct_offset(entry)
    if offset is not None:  # stored uncompressed (video, audio, pictures): straight from disk
        return send_path(
            reader.path,
            etag=etag,
            media_type=entry.mimetype,
            headers=headers,
            span=(offset, entry.size),
        )
    return _kept_for_all(_compressed_bytes(reader, entry, etag, headers))


def _kept_for_all(response: Response) -> Response:
    """A whole entry held in memory is the same for every visitor until the file is replaced
    (which changes the library's generation): kept whole, and the server's loop gives it to
    the next visitor asking (hub/web/kept_responses.py). Parts, 304s and streamed entries
    are not: those are the app's each time."""
    if response.status_code == 200 and not response.is_streamed:
        mark_shareable(response)
    return response


def _page(found: ZimArchive, entry: ZimEntry | None) -> ResponseReturnValue:
    who = current_user()
    tracking = who is not None and who.role == LEARNER
    if entry is not None and tracking and who is not None:
        _count_view(who.id, found, entry)  # here, so a visit counts with JavaScript off
    return render_template(
        "zim.html",
        zim=found,
        entry=entry,
        frame_url=raw_url(found.name, entry.path) if entry else None,
        read_base=read_url(found.name, ""),
        raw_base=raw_url(found.name, ""),
        tracking=tracking,
        classes=_classes_to_assign(entry),
    )


def _classes_to_assign(entry: ZimEntry | None) -> list[ClassGroup]:
    """The classes a coach may assign this article to (its "assign" form); none for others,
    and none for an article whose path is too long for progress to name (zim_pages)."""
    who = current_user()
    if who is None or who.role not in COACHES or entry is None:
        return []
    if zim_pages.article_id(entry.path) != entry.path:
        return []
    return ClassGroup.ordered()


def _count_view(learner_id: int, found: ZimArchive, entry: ZimEntry) -> None:
    current_app.extensions["events"].record(
        learner_id,
        found.pack_id,
        zim_pages.article_id(entry.path),
        "viewed",
        {"title": entry.title[:200]},
    )


def _is_page(entry: ZimEntry) -> bool:
    return entry.mimetype.split(";")[0].strip() == "text/html" and entry.size <= PAGE_MAX


def _page_bytes(reader: ZimReader, entry: ZimEntry, etag: str, headers: dict[str, str]) -> Response:
    """An article with the hub's location reporter appended (see static/js/zim-reporter.js)."""
    script = static_url(REPORTER)
    tag = f'\n<script src="{script}" defer></script>\n'.encode()
    response = Response(mimetype=entry.mimetype)
    response.headers.update(headers)
    response.headers["Cache-Control"] = REVALIDATE
    response.vary.add("Accept-Encoding")
    gzipped = accepts_gzip(request)
    sent = f"{etag}-{script.rsplit('=', 1)[-1][:8]}" + ("-gz" if gzipped else "")
    response.set_etag(sent)
    if request.if_none_match.contains(sent):
        response.status_code = 304
        return response
    body = _read(reader, entry)
    if not body.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: ASCII would be garbage
        body += tag
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
        body = gzip_bytes(body)
    response.set_data(body)
    return response


def _compressed_bytes(
    reader: ZimReader, entry: ZimEntry, etag: str, headers: dict[str, str]
) -> Response:
    """An entry inside a compressed cluster: decompressed whole before the answer starts (so a
    file that cannot be read answers 503, not a cut-off body), and sent from memory, ranges
    included."""
    response = Response(mimetype=entry.mimetype)
    response.headers.update(headers)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = REVALIDATE
    response.set_etag(etag)
    if request.if_none_match.contains(etag):
        response.status_code = 304
        return response
    start, length = requested_span(etag, entry.size)
    if length != entry.size or start:
        response.status_code = 206
        response.headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{entry.size}"
    if request.method == "HEAD":
        response.content_length = length
        return response
    chunks = _unreadable_as_503(lambda: reader.chunks(entry, start, length))
    if length <= _TEXT_MAX:
        response.set_data(b"".join(chunks))
        return response
    response.response = chunks
    response.content_length = length
    response.direct_passthrough = True
    return response


def _read(reader: ZimReader, entry: ZimEntry) -> bytes:
    return _unreadable_as_503(lambda: reader.read(entry))


def _unreadable_as_503(read: Callable[[], T]) -> T:
    try:
        return read()
    except ZimError:
        raise HubError(
            503, "zim_unreadable", gettext("This library's file cannot be read; ask an operator.")
        ) from None
