"""/admin/neighbours: the other hubs on the network, the packs they share, and copies from them.

The list comes from the advertiser's cache when `learnhub serve` runs one, else from a short
browse. A copy runs as a job (hub/core/jobs.py; it may move gigabytes); its page follows it,
refreshing itself without JavaScript until it is done.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from content.errors import PackError
from content.manifest import version_key
from hub.core.bounded_http import Bounds
from hub.core.errors import HubError
from hub.core.jobs import Job, JobRunner
from hub.library.models import Pack, ZimArchive
from hub.neighbours.copy_jobs import start_copy
from hub.neighbours.discovery import Advertiser, DiscoveryError, Neighbour, browse
from hub.neighbours.errors import NeighbourError
from hub.neighbours.neighbour_hub import NeighbourHub
from hub.neighbours.share_claims import Offer, ZimOffer
from hub.people.auth import require
from hub.web import job_text

bp = Blueprint("neighbours", __name__, url_prefix="/admin/neighbours")

BROWSE_SECONDS = 2.0
OFFERS_TIMEOUT_SECONDS = 5.0
MAX_PACKS_PER_COPY = 200


@bp.get("/")
@require("operator")
def index() -> ResponseReturnValue:
    neighbours, problem = _neighbours()
    return render_template(
        "neighbours/index.html",
        section="neighbours",
        neighbours=neighbours,
        error=problem,
        advertiser=_advertiser(),
        job=_last_copy(),
    )


@bp.get("/packs")
@require("operator")
def packs() -> ResponseReturnValue:
    given = request.args.get("url", "")
    try:
        bounds = Bounds.of(current_app.config["LEARNHUB"])
        neighbour = NeighbourHub(given, bounds, timeout=OFFERS_TIMEOUT_SECONDS)
        offers = neighbour.offers()
    except PackError as err:
        flash(str(err))
        return redirect(url_for(".index"))
    return render_template(
        "neighbours/packs.html",
        section="neighbours",
        url=neighbour.url,
        name=request.args.get("name", "")[:120],
        offers=[(offer, _compare(offer)) for offer in offers],
        zims=[(zim, _compare_zim(zim)) for zim in _zims(neighbour)],
    )


@bp.post("/copy")
@require("operator")
def copy() -> ResponseReturnValue:
    url = request.form.get("url", "")
    pack_ids = request.form.getlist("pack")[:MAX_PACKS_PER_COPY]
    if not pack_ids:
        flash(_("Choose at least one pack to copy."))
        return redirect(url_for(".packs", url=url))
    try:
        start_copy(_jobs(), current_app.extensions["library"], url, pack_ids)
    except PackError as err:
        flash(str(err))
        return redirect(url_for(".index"))
    except HubError as err:  # the hub is busy with other long work
        flash(str(err.description))
    return redirect(url_for(".copy_status"))


@bp.get("/copy")
@require("operator")
def copy_status() -> ResponseReturnValue:
    page = render_template(
        "neighbours/copy.html", section="neighbours", job=_last_copy(), text=job_text
    )
    return page, 200, {"Cache-Control": "no-store"}


def _advertiser() -> Advertiser | None:
    return current_app.extensions.get("advertiser")


def _neighbours() -> tuple[list[Neighbour], str | None]:
    advertiser = _advertiser()
    if advertiser is not None:
        return advertiser.neighbours(), None
    try:
        own = current_app.extensions["keys"].hub_id
        return browse(BROWSE_SECONDS, own_hub_id=own), None
    except DiscoveryError as err:
        return [], str(err)


def _zims(neighbour: NeighbourHub) -> list[ZimOffer]:
    """Its ZIMs, or none from a hub that offers none (an older one): its packs still show."""
    try:
        return neighbour.zims()
    except NeighbourError:
        return []


def _compare_zim(offer: ZimOffer) -> str:
    """The offered edition against the installed one of the same name, as for packs."""
    same = ZimArchive.get_or_none(ZimArchive.uuid == offer.uuid)
    installed = same or ZimArchive.by_name(offer.name)
    if installed is None:
        return "new"
    if same is not None or offer.date == installed.date:
        return "same"
    return "newer" if offer.date > installed.date else "older"


def _compare(offer: Offer) -> str:
    """How the offered version compares with the installed one: new, newer, same or older."""
    installed = Pack.by_id(offer.id)
    if installed is None:
        return "new"
    theirs, ours = version_key(offer.version), version_key(installed.version)
    if theirs == ours:
        return "same"
    return "newer" if theirs > ours else "older"


def _jobs() -> JobRunner:
    return current_app.extensions["jobs"]


def _last_copy() -> Job | None:
    copies = _jobs().recent("copy")
    return copies[0] if copies else None
