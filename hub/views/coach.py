"""/coach: classes, assignments and reports for coaches."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from hub.auth import require
from hub.people import ClassGroup

bp = Blueprint("coach", __name__, url_prefix="/coach")


@bp.get("/")
@require("coach", "operator")
def index() -> ResponseReturnValue:
    return render_template("coach/index.html", classes=ClassGroup.ordered())
