"""Bytes of the library: content-addressed blobs, pack files by path, files inside app zips."""

from __future__ import annotations

import hashlib
import posixpath
import re
from pathlib import Path

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue

from content.blobstore import BlobStore
from content.errors import PackError
from content.importer import media_type
from content.source import open_source
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.library.models import Lesson, PackFile
from hub.web.compress import accepts_gzip, gzip_bytes
from hub.web.kept_responses import mark_shareable
from hub.web.response_headers import ARTICLE_CSP, runs_script
from hub.web.sendfile import REVALIDATE, send_path
from hub.web.views.static import static_url

bp = Blueprint("files", __name__)

_BLOB_NAME = re.compile(r"^([0-9a-f]{64})(\.[A-Za-z0-9]{1,8})?$")

# A reading served by path may run exactly one script: the hub's scroll reporter, named by its
# full URL (a host-source with a path matches that file only). `sandbox` still has no
# allow-same-origin, and no frames, objects or workers of its own where another script
# could hide.
READING_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'self' data:; script-src {reporter}; "
    "style-src 'self' 'unsafe-inline'; connect-src 'none'; form-action 'none'; "
    "frame-src 'self'; object-src 'none'; worker-src 'none'; "
    "frame-ancestors 'self'; base-uri 'none'"
)
REPORTER = "js/article-reporter.js"
READING_MAX = 4 * 1024 * 1024  # larger HTML is served as it is, without the reporter
_HOST = re.compile(r"^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$")
APP_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'self' data: blob:; "
    "script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'none'; "
    "form-action 'none'; frame-ancestors 'self'; base-uri 'none'"
)
APP_FILE_MAX = 32 * 1024 * 1024


def _not_found() -> HubError:
    return HubError(404, "file_not_found", gettext("This file is not in the library."))


def _store() -> BlobStore:
    return current_app.extensions["library"].store


@bp.route("/blobs/<name>", methods=["GET", "HEAD"])
def blob(name: str) -> ResponseReturnValue:
    # The type is the one recorded when the file was imported, never the URL's extension:
    # otherwise any stored SVG or XHTML could be fetched again as unsandboxed XML.
    match = _BLOB_NAME.fullmatch(name)
    pack_file = PackFile.by_sha(match[1], match[2] or "") if match else None
    if pack_file is None:
        raise _not_found()
    path = _store().path(pack_file.sha256)
    if not path.is_file():
        raise _not_found()
    # A blob never changes: the same answer for everyone, kept (as headers and the path) and
    # given by the server's loop next time (hub/web/kept_responses.py).
    return mark_shareable(
        send_path(
            path,
            etag=pack_file.sha256,
            media_type=pack_file.media_type,
            immutable=True,
            headers=_sandbox_headers(pack_file.media_type, ARTICLE_CSP),
        )
    )


@bp.route("/files/<pack_id>/<path:path>", methods=["GET", "HEAD"])
def pack_file(pack_id: str, path: str) -> ResponseReturnValue:
    found = PackFile.find(pack_id, path)
    if found is None:
        raise _not_found()
    blob_path = _store().path(found.sha256)
    if not blob_path.is_file():
        raise _not_found()
    if _is_reading(found):
        return _reading(found, blob_path)
    return send_path(
        blob_path,
        etag=found.sha256,
        media_type=found.media_type,
        headers=_sandbox_headers(found.media_type, ARTICLE_CSP),
    )


@bp.route("/apps/<pack_id>/<lesson_id>/<path:path>", methods=["GET", "HEAD"])
def app_file(pack_id: str, lesson_id: str, path: str) -> ResponseReturnValue:
    lesson = Lesson.find(pack_id, lesson_id)
    if lesson is None or lesson.kind != "app":
        raise _not_found()
    archive = PackFile.find(pack_id, lesson.file_path)
    if archive is None:
        raise _not_found()
    etag = f"{archive.sha256[:32]}-{_path_tag(path)}"
    response = Response(mimetype=media_type(path))
    response.set_etag(etag)
    response.headers.update({"Cache-Control": REVALIDATE, "Content-Security-Policy": APP_CSP})
    if request.if_none_match.contains(etag):
        response.status_code = 304
        return response
    response.set_data(_read_app_file(_store().path(archive.sha256), path))
    return response


def _is_reading(found: PackFile) -> bool:
    return (
        found.media_type.split(";")[0] == "text/html"
        and found.size <= READING_MAX
        and _HOST.match(request.host) is not None
    )


def _reading(found: PackFile, blob_path: Path) -> Response:
    """A pack's HTML page with the scroll reporter appended: the page it is shown in learns
    how far it was read, and the pack's own scripts are still refused by the CSP."""
    script = static_url(REPORTER)
    reporter = f"{request.scheme}://{request.host}{script.split('?')[0]}"
    response = Response(mimetype="text/html")
    response.headers["Cache-Control"] = REVALIDATE
    response.headers["Content-Security-Policy"] = READING_CSP.format(reporter=reporter)
    response.vary.add("Accept-Encoding")
    tag = f'<script src="{script}" defer></script>\n'.encode()
    etag = f"{found.sha256}-{hashlib.sha256(tag).hexdigest()[:8]}"
    gzipped = accepts_gzip(request)
    sent_etag = etag + "-gz" if gzipped else etag
    response.set_etag(sent_etag)
    if request.if_none_match.contains(sent_etag):
        response.status_code = 304
        return response
    body = _with_reporter(blob_path.read_bytes(), tag)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
        body = gzip_bytes(body)
    response.set_data(body)
    return response


def _with_reporter(page: bytes, tag: bytes) -> bytes:
    """Appended at the very end: an HTML parser puts a late <script> into the body, and the
    page's doctype, <head> and encoding declaration are left exactly where they were."""
    if page.startswith((b"\xff\xfe", b"\xfe\xff")):
        return page  # UTF-16: ASCII bytes appended would be garbage
    return page + (b"" if page.endswith(b"\n") else b"\n") + tag


def _read_app_file(zip_path: Path, path: str) -> bytes:
    try:
        with open_source(zip_path) as source:
            if path not in source.paths() or source.size(path) > APP_FILE_MAX:
                raise _not_found()
            return source.read(path)
    except PackError:
        raise _not_found() from None


def _path_tag(path: str) -> str:
    return hashlib.sha256(posixpath.normpath(path).encode()).hexdigest()[:16]


def _sandbox_headers(kind: str, policy: str) -> dict[str, str]:
    """Any file a browser could run script in (HTML, SVG, any XML) is sandboxed, whichever
    URL it is fetched by."""
    if runs_script(kind):
        return {"Content-Security-Policy": policy}
    return {}
