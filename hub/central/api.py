"""The sync API hubs call: join, resumable uploads of bundles, and fetching replies.

Hubs authenticate by signing their bundles, not by cookie: anyone may upload, nothing is
applied before the bundle's signature and hashes are verified against an approved hub's key.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from hub import __version__
from hub.auth import json_body
from hub.errors import HubError
from hub.sendfile import send_path
from hub.translate import gettext
from sync.central.hubs import approved_sender, request_join
from sync.central.models import APPROVED, REVOKED, Hub, Reply
from sync.central.service import Central
from sync.central.uploads import UploadStore

bp = Blueprint("central_api", __name__)


def _central() -> Central:
    return current_app.extensions["central"]


def _uploads() -> UploadStore:
    return current_app.extensions["uploads"]


def _json_call() -> dict:
    if request.mimetype != "application/json":
        raise HubError(415, "json_required", gettext("Send this request as application/json."))
    return json_body()


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    central = _central()
    return jsonify(
        {
            "status": "ok",
            "version": __version__,
            "central_id": central.central_id,
            "hubs": Hub.count_approved(),
        }
    )


@bp.get("/api/sync/identity")
def identity() -> ResponseReturnValue:
    """Central's public key, for a hub to pin."""
    return jsonify(_central().identity())


@bp.post("/api/sync/join")
def join() -> ResponseReturnValue:
    """A hub asks to be enrolled; staff approve it on /hubs."""
    hub = request_join(_json_call())
    if hub.status == REVOKED:
        raise HubError(403, "revoked_hub", gettext("This hub was revoked by central staff."))
    body = {"status": hub.status, "hub_id": hub.hub_id, "central": _central().identity()}
    return jsonify(body), 200 if hub.status == APPROVED else 202


@bp.post("/api/sync/uploads")
def create_upload() -> ResponseReturnValue:
    body = _json_call()
    if isinstance(body.get("hub_id"), str):
        approved_sender(body["hub_id"])  # refuse early, before the bytes travel
    return jsonify(_uploads().create(body.get("size"), body.get("sha256"))), 201


@bp.get("/api/sync/uploads/<upload_id>")
def upload_status(upload_id: str) -> ResponseReturnValue:
    return jsonify(_uploads().status(upload_id))


@bp.put("/api/sync/uploads/<upload_id>")
def upload_chunk(upload_id: str) -> ResponseReturnValue:
    received = _uploads().append(
        upload_id, request.headers.get("Content-Range"), request.get_data(cache=False)
    )
    return jsonify({"received": received})


@bp.post("/api/sync/uploads/<upload_id>/finish")
def finish_upload(upload_id: str) -> ResponseReturnValue:
    """Verify and apply the uploaded bundle; answer the signed receipt and the reply's URL.
    Asked again (the answer was lost on the way), it gives the same answer."""
    uploads = _uploads()
    answer = uploads.answer(upload_id)
    if answer is not None:
        return jsonify(answer)
    path = uploads.complete_file(upload_id)
    central = _central()
    try:
        applied, replies = central.exchange(path)
    except Exception:
        uploads.discard(upload_id)
        raise
    urls = [url_for("central_api.reply", reply_id=r.reply_id) for r in replies]
    answer = {
        "receipt": central.replier.receipt(applied.hub_id, applied.epoch, [applied]),
        "reply_url": urls[0] if urls else None,
        "replies": urls,
        "applied": {
            "accepted": applied.accepted,
            "duplicates": applied.duplicates,
            "quarantined": applied.quarantined,
            "roster": applied.roster_applied,
        },
    }
    uploads.finished(upload_id, answer)
    return jsonify(answer)


@bp.route("/api/sync/replies/<reply_id>", methods=["GET", "HEAD"])
def reply(reply_id: str) -> ResponseReturnValue:
    """A reply bundle, by the unguessable id its hub was given (Range supported)."""
    found = Reply.get_or_none(Reply.reply_id == reply_id)
    path = Path(found.file) if found else None
    replies = _central().replies_dir.resolve()
    if path is None or not path.resolve().is_relative_to(replies) or not path.is_file():
        raise HubError(
            404, "unknown_reply", gettext("No such reply; upload a bundle to get a new one.")
        )
    return send_path(
        path, etag=found.bundle_id, media_type="application/octet-stream", immutable=True
    )
