"""/api/share: what a neighbour hub needs to copy packs from this one, and nothing else.

Only when the operator has turned `share_packs` on (403 otherwise). Only packs and ZIMs
travel: the list of packs, one pack's manifest with its files (path, sha256, size), and blobs
by sha256; the list of ZIMs (name, uuid, size and the MD5 each file ends with, which the
receiver checks), and each ZIM file by its uuid; all with byte ranges so an interrupted copy
resumes. Learner data is never reachable from here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from content.zim import ZimError
from content.zim.format import identity
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.library import zim_pages
from hub.library.models import Pack, PackFile, ZimArchive
from hub.library.responses import pack_json, pack_or_404, zim_json
from hub.web.sendfile import send_path

bp = Blueprint("share", __name__, url_prefix="/api/share")

SHARE_FORMAT = "learnhub-share/1"
# What a hub offers of each pack: enough to choose, without the manifest.
OFFERED_FIELDS = ("id", "version", "title", "description", "language", "size", "lessons")
_SHA = re.compile(r"[0-9a-f]{64}")


@bp.before_request
def sharing_is_on() -> None:
    if not current_app.config["LEARNHUB"].share_packs:
        raise HubError(
            403,
            "sharing_off",
            gettext(
                "This hub does not share its packs; its operator can turn on the share_packs "
                "setting."
            ),
        )


@bp.get("/packs")
def packs() -> ResponseReturnValue:
    counts = Pack.lesson_counts()
    offered = [pack_json(p, counts.get(p.id, 0), OFFERED_FIELDS) for p in Pack.ordered()]
    return jsonify({"format": SHARE_FORMAT, "packs": offered})


@bp.get("/packs/<pack_id>")
def pack(pack_id: str) -> ResponseReturnValue:
    found = pack_or_404(pack_id, named=True, find=Pack.with_manifest)
    files = PackFile.select().where(PackFile.pack == pack_id).order_by(PackFile.path)
    return jsonify(
        {
            "format": SHARE_FORMAT,
            **pack_json(found, fields=("id", "version", "title", "size", "manifest")),
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in files],
        }
    )


@bp.route("/blobs/<sha256>", methods=["GET", "HEAD"])
def blob(sha256: str) -> ResponseReturnValue:
    # Only a blob some pack uses: the store may hold strays from an import in progress.
    if not _SHA.fullmatch(sha256) or PackFile.by_sha(sha256) is None:
        raise HubError(404, "blob_not_found", gettext("No pack on this hub has this file."))
    path = current_app.extensions["library"].store.path(sha256)
    if not path.is_file():
        raise HubError(404, "blob_not_found", gettext("No pack on this hub has this file."))
    return send_path(path, etag=sha256, media_type="application/octet-stream", immutable=True)


@bp.get("/zims")
def zims() -> ResponseReturnValue:
    offered = [offer for found in ZimArchive.ordered() if (offer := _zim_offer(found))]
    return jsonify({"format": SHARE_FORMAT, "zims": offered})


@bp.route("/zims/<the_uuid>", methods=["GET", "HEAD"])
def zim_file(the_uuid: str) -> ResponseReturnValue:
    found = ZimArchive.get_or_none(ZimArchive.uuid == the_uuid[:64])
    path = _zim_path(found) if found is not None else None
    if found is None or path is None or not path.is_file():
        raise HubError(404, "zim_not_found", gettext("This hub has no such ZIM file."))
    return send_path(path, etag=found.uuid, media_type="application/x-zim", immutable=True)


def _zim_path(found: ZimArchive) -> Path:
    return zim_pages.file_of(Path(current_app.config["LEARNHUB"].data_dir), found)


def _zim_offer(found: ZimArchive) -> dict[str, Any] | None:
    """The ZIM as offered: a file that went missing or unreadable is not offered."""
    try:
        checked = identity(_zim_path(found), found.file_name)
    except ZimError:
        return None
    if checked.uuid != found.uuid or checked.size != found.size:
        return None
    return {**zim_json(found), "md5": checked.md5}
