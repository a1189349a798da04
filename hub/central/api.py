"""The sync API hubs call: join, resumable uploads of bundles, and fetching replies.

Hubs authenticate by signing, not by cookie: every sync call is a request signed by an
approved hub (sync.request_auth), an upload belongs to the hub that opened it, and nothing is
applied before the bundle's own signature and hashes are verified against that hub's key. A
join is signed by the key it asks to enrol, and limited per address.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from hub import __version__
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.people.auth import json_body
from hub.web.sendfile import send_path
from sync.bundle import peek
from sync.central.hubs import approved_sender, public_key_of, request_join
from sync.central.models import APPROVED, REVOKED, Hub, Reply
from sync.central.service import Central
from sync.central.uploads import UploadStore
from sync.identity import parse_identity
from sync.request_auth import HUB_HEADER, SIGNATURE_HEADER, is_signed_by

bp = Blueprint("central_api", __name__)


def _central() -> Central:
    return current_app.extensions["central"]


def _uploads() -> UploadStore:
    return current_app.extensions["uploads"]


def _signed(public_key: bytes, hub_id: str, body: bytes) -> bool:
    return is_signed_by(
        public_key,
        hub_id,
        request.headers.get(SIGNATURE_HEADER, ""),
        request.method,
        request.path,
        body,
    )


def _signing_hub(covered: bool = True) -> str:
    """The approved hub that signed this request (401 unsigned or badly signed, 403 for a
    hub that is unknown, waiting or revoked). `covered`: the signature covers the body."""
    hub_id = request.headers.get(HUB_HEADER, "")
    if not hub_id or not request.headers.get(SIGNATURE_HEADER):
        raise _unsigned()
    hub = approved_sender(hub_id)
    body = request.get_data(cache=True) if covered else b""
    if not _signed(public_key_of(hub), hub_id, body):
        raise _unsigned()
    return hub_id


def _unsigned() -> HubError:
    return HubError(
        401,
        "unsigned",
        gettext(
            "Sync calls must be signed by an enrolled hub (headers %(hub)s and %(signature)s).",
            hub=HUB_HEADER,
            signature=SIGNATURE_HEADER,
        ),
    )


def _upload_of_signer(upload_id: str, covered: bool = True) -> str:
    """The signing hub, if the upload is its own; else the upload is unknown to it (404)."""
    hub_id = _signing_hub(covered)
    if _uploads().owner(upload_id) != hub_id:
        raise HubError(404, "unknown_upload", gettext("No such upload; start a new one."))
    return hub_id


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
    """A hub asks to be enrolled; staff approve it on /hubs. The request is signed by the
    key it asks to enrol, and each address may ask only a few times an hour."""
    identity = _json_call()
    hub_id, public_key, _ = parse_identity(identity)
    signer = request.headers.get(HUB_HEADER, "")
    if signer != hub_id or not _signed(public_key, hub_id, request.get_data(cache=True)):
        raise _unsigned()
    if not current_app.extensions["join_limit"].allow(request.remote_addr or "-"):
        raise HubError(
            429,
            "too_many_joins",
            gettext("Too many requests to join from this address; try again in an hour."),
        )
    hub = request_join(identity, max_waiting=current_app.extensions["hubs_waiting"])
    if hub.status == REVOKED:
        raise HubError(403, "revoked_hub", gettext("This hub was revoked by central staff."))
    body = {"status": hub.status, "hub_id": hub.hub_id, "central": _central().identity()}
    return jsonify(body), 200 if hub.status == APPROVED else 202


@bp.post("/api/sync/uploads")
def create_upload() -> ResponseReturnValue:
    hub_id = _signing_hub()  # refused here, before the bytes travel
    body = _json_call()
    if body.get("hub_id", hub_id) != hub_id:
        raise HubError(403, "wrong_hub", gettext("The upload is signed by another hub."))
    return jsonify(_uploads().create(body.get("size"), body.get("sha256"), hub_id)), 201


@bp.get("/api/sync/uploads/<upload_id>")
def upload_status(upload_id: str) -> ResponseReturnValue:
    _upload_of_signer(upload_id)
    return jsonify(_uploads().status(upload_id))


@bp.put("/api/sync/uploads/<upload_id>")
def upload_chunk(upload_id: str) -> ResponseReturnValue:
    _upload_of_signer(upload_id, covered=False)  # the sha256 checked on finish covers chunks
    received = _uploads().append(
        upload_id, request.headers.get("Content-Range"), request.get_data(cache=False)
    )
    return jsonify({"received": received})


@bp.post("/api/sync/uploads/<upload_id>/finish")
def finish_upload(upload_id: str) -> ResponseReturnValue:
    """Verify and apply the uploaded bundle; answer the signed receipt and the reply's URL.
    Asked again (the answer was lost on the way), it gives the same answer."""
    hub_id = _upload_of_signer(upload_id)
    uploads = _uploads()
    answer = uploads.answer(upload_id)
    if answer is not None:
        return jsonify(answer)
    path = uploads.complete_file(upload_id)
    central = _central()
    try:
        if peek(path)["sender"] != hub_id:
            raise HubError(403, "wrong_hub", gettext("The bundle comes from another hub."))
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
    """A reply bundle, by the unguessable id its hub was given (Range supported), to that
    hub only."""
    hub_id = _signing_hub()
    found = Reply.get_or_none(Reply.reply_id == reply_id, Reply.hub_id == hub_id)
    path = Path(found.file) if found else None
    replies = _central().replies_dir.resolve()
    if found is None or path is None or not _kept_in(path, replies):
        raise HubError(
            404, "unknown_reply", gettext("No such reply; upload a bundle to get a new one.")
        )
    return send_path(
        path, etag=found.bundle_id, media_type="application/octet-stream", immutable=True
    )


@bp.route("/api/sync/zims/<uuid>", methods=["GET", "HEAD"])
def zim(uuid: str) -> ResponseReturnValue:
    """A ZIM file central assigned to the signing hub (Range supported, so a cut download
    resumes), by the uuid its reply named; any other ZIM is unknown to that hub."""
    hub_id = _signing_hub()
    zims = _central().zims
    path = zims.servable(uuid, hub_id)
    if path is None or not _kept_in(path, zims.folder.resolve()):
        raise HubError(404, "unknown_zim", gettext("No such ZIM for this hub."))
    return send_path(path, etag=uuid, media_type="application/x-zim", immutable=True)


def _kept_in(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder) and path.is_file()
