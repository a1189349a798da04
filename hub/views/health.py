"""`GET /healthz`: cheap, for systemd, load balancers and the test suite."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from hub import __version__
from hub.models import Pack

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok", "version": __version__, "packs": Pack.select().count()})
