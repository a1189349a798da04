"""/coach/shared: lessons shared between schools through central (issue #18 part 1).
Coaches and operators offer the hub's own packs and pick packs from the catalog the last
sync brought; each choice travels in the next bundle. The work is in hubsync.shared_packs."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.hubsync import shared_packs
from hub.hubsync.models import HubState
from hub.people.auth import require

bp = Blueprint("shared_catalog", __name__)
ROLES = ("coach", "operator")


@bp.get("/coach/shared")
@require(*ROLES)
def index() -> ResponseReturnValue:
    return render_template(
        "shared/index.html",
        own=shared_packs.own_packs(),
        catalog=shared_packs.catalog(),
        last_sync=HubState.get_state().last_sync,
    )


@bp.post("/coach/shared/<pack_id>/share")
@require(*ROLES)
def share(pack_id: str) -> ResponseReturnValue:
    if request.form.get("withdraw"):
        shared_packs.withdraw(pack_id)
        flash(_("The pack leaves the shared catalog with the next sync."))
    else:
        shared_packs.share(current_app.config["LEARNHUB"], pack_id)
        flash(_("The pack goes to central for review with the next sync."))
    return redirect(url_for("shared_catalog.index"))


@bp.post("/coach/shared/<pack_id>/pick")
@require(*ROLES)
def pick(pack_id: str) -> ResponseReturnValue:
    wanted = not request.form.get("drop")
    shared_packs.pick(pack_id, wanted)
    if wanted:
        flash(_("The pack comes with the next sync."))
    return redirect(url_for("shared_catalog.index") + "#catalog")
