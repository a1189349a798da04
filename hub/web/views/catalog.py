"""/catalog/v2: the hub's ZIMs as kiwix-serve's OPDS catalog, so the Kiwix apps on the
students' phones find them (a custom catalog at the hub's address) and download the whole
.zim files to read at home. The feeds are written by hub/web/opds.py; which ZIMs a query
selects is hub/library/zim_catalog.py. The download is the file itself, by sendfile, with
Range and If-Range, so a phone that leaves the Wi-Fi resumes where it stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue

from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.library import zim_pages
from hub.library.models import ZimArchive
from hub.library.zim_catalog import CatalogError, parse_query, select
from hub.web.opds import ACQUISITION, ENTRY, ICON_SIZE, NAVIGATION, OPENSEARCH, Feeds
from hub.web.sendfile import REVALIDATE, send_path

bp = Blueprint("catalog", __name__)

ROOT = "/catalog/v2"
MAX_QUERY_CHARS = 2048  # the query string is echoed in the feed


def _feeds() -> Feeds:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Feeds(ROOT, request.host_url, current_app.extensions["keys"].hub_id, now)


def _xml(body: bytes, kind: str) -> Response:
    response = Response(body, mimetype=None, content_type=f"{kind};charset=utf-8")
    response.headers["Cache-Control"] = REVALIDATE
    return response


def _by_uuid(the_uuid: str) -> ZimArchive:
    found = ZimArchive.get_or_none(ZimArchive.uuid == the_uuid[:64])
    if found is None:
        raise HubError(404, "zim_not_found", gettext("There is no such library on this hub."))
    return found


@bp.get(f"{ROOT}/root.xml")
def root() -> ResponseReturnValue:
    return _xml(_feeds().root_feed(), NAVIGATION)


@bp.get(f"{ROOT}/searchdescription.xml")
def search_description() -> ResponseReturnValue:
    return _xml(_feeds().search_description(), OPENSEARCH)


@bp.get(f"{ROOT}/entries")
def entries() -> ResponseReturnValue:
    return _entries(partial=False)


@bp.get(f"{ROOT}/partial_entries")
def partial_entries() -> ResponseReturnValue:
    return _entries(partial=True)


def _entries(partial: bool) -> Response:
    query = request.query_string.decode("utf-8", "replace")
    if len(query) > MAX_QUERY_CHARS:
        raise HubError(400, "bad_query", gettext("This catalog query is too long."))
    try:
        page = select(parse_query(request.args))
    except CatalogError as err:
        raise HubError(400, "bad_query", str(err)) from None
    return _xml(_feeds().entries(page, query, partial), ACQUISITION)


@bp.get(f"{ROOT}/entry/<the_uuid>")
def entry(the_uuid: str) -> ResponseReturnValue:
    return _xml(_feeds().entry(_by_uuid(the_uuid)), ENTRY)


@bp.get(f"{ROOT}/categories")
def categories() -> ResponseReturnValue:
    return _xml(_feeds().categories(ZimArchive.ordered()), NAVIGATION)


@bp.get(f"{ROOT}/languages")
def languages() -> ResponseReturnValue:
    return _xml(_feeds().languages(ZimArchive.ordered()), NAVIGATION)


@bp.get(f"{ROOT}/illustration/<the_uuid>/")
def illustration(the_uuid: str) -> ResponseReturnValue:
    found = _by_uuid(the_uuid)
    if not found.illustration or request.args.get("size", str(ICON_SIZE)) != str(ICON_SIZE):
        raise HubError(404, "no_illustration", gettext("This library has no picture."))
    response = Response(bytes(found.illustration), mimetype="image/png")
    response.headers["Cache-Control"] = REVALIDATE
    response.set_etag(found.uuid)
    return response.make_conditional(request)


@bp.route("/zims/<name>/download/<file_name>", methods=["GET", "HEAD"])
def download(name: str, file_name: str) -> ResponseReturnValue:
    """The whole .zim file. Its name holds the edition, so an address never changes bytes:
    a phone resuming after a newer edition came gets 404, never a splice of two files."""
    found = zim_pages.archive(name)
    path: Path | None = None
    if found is not None and found.file_name == file_name:
        path = zim_pages.file_of(Path(current_app.config["LEARNHUB"].data_dir), found)
    if found is None or path is None or not path.is_file():
        raise HubError(404, "zim_not_found", gettext("There is no such library on this hub."))
    disposition = {"Content-Disposition": f'attachment; filename="{found.file_name}"'}
    return send_path(
        path, etag=found.uuid, media_type="application/x-zim", immutable=True, headers=disposition
    )
