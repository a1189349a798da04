"""/shared: central staff review the packs teachers share (issue #18 part 1): accept one
into the catalog, or decline it with a reason its school reads after the next sync."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from hub.central.auth import current_staff, staff_only
from hub.core.errors import HubError
from sync.central import shared_packs
from sync.central.models import Hub

bp = Blueprint("central_shared", __name__)


@bp.get("/shared")
@staff_only
def index() -> ResponseReturnValue:
    offers = shared_packs.offers()
    hubs = {hub.hub_id: hub for hub in Hub.select()}
    usage = {o.pack_id: shared_packs.usage_of(o) for o in offers if o.accepted_version}
    return render_template("shared.html", offers=offers, hubs=hubs, usage=usage)


@bp.post("/shared/<hub_id>/<pack_id>/<action>")
@staff_only
def review(hub_id: str, pack_id: str, action: str) -> ResponseReturnValue:
    """Accept or decline one hub's pending offer; anything else is no action of this page."""
    if action not in ("accept", "decline"):
        raise HubError(404, "not_found", gettext("There is no such action."))
    staff = current_staff()
    who = staff.username if staff else "?"
    if action == "accept":
        central = current_app.extensions["central"]
        version = shared_packs.accept(central.library, pack_id, who, hub_id)
        flash(
            gettext("%(pack)s %(version)s is in the shared catalog.", pack=pack_id, version=version)
        )
    else:
        shared_packs.decline(pack_id, request.form.get("reason", ""), who, hub_id)
        flash(gettext("%(pack)s was declined; its school reads why.", pack=pack_id))
    return redirect(url_for("central_shared.index"))
