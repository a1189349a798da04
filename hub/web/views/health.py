"""`GET /healthz`: cheap, for systemd, load balancers and the test suite."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from hub import __version__
from hub.library.cache import stats
from hub.library.models import Pack

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    # The caches' sizes let monitoring and the bench see memory is within `cache_bytes`.
    caches = {
        entry["name"]: {"bytes": entry["bytes"], "budget": entry["budget"]} for entry in stats()
    }
    body = {"status": "ok", "version": __version__, "packs": Pack.select().count()}
    return jsonify(body | {"caches": caches})
