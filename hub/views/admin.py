"""/admin: the operator's pages."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from hub.auth import require
from hub.models import Pack

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@require("operator")
def index() -> ResponseReturnValue:
    return render_template("admin/index.html", packs=Pack.ordered())
