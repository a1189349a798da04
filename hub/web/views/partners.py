"""Finding a partner class from the coach's letters page (/coach/letters): a class looks for a
partner, the coach proposes to a class of another hub, or answers a proposal. The work is in
hub.learning.partners; everything goes with the next sync. Forms work without JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.core.errors import HubError
from hub.learning import partners
from hub.learning.letter_models import ClassPartner
from hub.learning.partner_models import PartnerListing, PartnerProposal, PartnerSeek
from hub.people.auth import require
from hub.people.models import ClassGroup
from sync.letters import LetterError

bp = Blueprint("partners", __name__)
COACHES = ("coach", "operator")
BACK = "letters.coach"


def page() -> dict[str, Any]:
    """What the coach's letters page shows about finding partners."""
    groups = ClassGroup.ordered()
    names = {group.uid: group.name for group in groups}
    seeks = {seek.class_uid: seek for seek in PartnerSeek.select()}
    return {
        "finding": [(group, seeks.get(group.uid)) for group in groups],
        "directory": PartnerListing.ordered(),
        "proposals": [(p, names.get(p.class_uid, "?")) for p in PartnerProposal.newest()],
        "proposal_words": partners.status_words,
        "waiting_for_answer": partners.waiting_for_answer,
        "free_classes": _free_classes(groups),
    }


def _free_classes(groups: list[ClassGroup]) -> Callable[[str], list[ClassGroup]]:
    """The classes of this hub that may propose to a listed class: not its partners yet."""
    paired: set[tuple[str, str]] = {
        (pair.class_uid, pair.partner_class_uid)
        for pair in ClassPartner.select().where(ClassPartner.state == "active")
    }
    return lambda listed: [group for group in groups if (group.uid, listed) not in paired]


def _class(uid: str) -> ClassGroup:
    group = ClassGroup.get_or_none(ClassGroup.uid == uid)
    if group is None:
        raise HubError(404, "class_not_found", _("There is no such class on this hub."))
    return group


def _refused(err: LetterError) -> HubError:
    return HubError(400, "partner_refused", str(err))


def _back(anchor: str) -> ResponseReturnValue:
    return redirect(url_for(BACK, _anchor=anchor), 303)


@bp.post("/coach/partners/seek")
@require(*COACHES)
def seek() -> ResponseReturnValue:
    group = _class(request.form.get("class_uid", ""))
    form = request.form
    try:
        partners.seek(group, form.get("languages", ""), form.get("grade", ""), form.get("note", ""))
    except LetterError as err:
        raise _refused(err) from None
    flash(
        _(
            "%(class)s is looking for a partner class; other hubs see it after the next sync.",
            **{"class": group.name},
        )
    )
    return _back("find-partner")


@bp.post("/coach/partners/withdraw")
@require(*COACHES)
def withdraw() -> ResponseReturnValue:
    group = _class(request.form.get("class_uid", ""))
    partners.withdraw(group.uid)
    flash(_("%(class)s is no longer looking for a partner class.", **{"class": group.name}))
    return _back("find-partner")


@bp.post("/coach/partners/propose")
@require(*COACHES)
def propose() -> ResponseReturnValue:
    group = _class(request.form.get("class_uid", ""))
    try:
        made = partners.propose(group, request.form.get("listed", ""), request.form.get("note", ""))
    except LetterError as err:
        raise _refused(err) from None
    flash(
        _(
            "The proposal from %(class)s to %(partner)s goes with the next sync.",
            **{"class": group.name, "partner": made.partner_class},
        )
    )
    return _back("proposals")


@bp.post("/coach/partners/proposals/<uid>")
@require(*COACHES)
def answer(uid: str) -> ResponseReturnValue:
    proposal = PartnerProposal.get_or_none(PartnerProposal.uid == uid)
    if proposal is None:
        raise HubError(404, "proposal_not_found", _("There is no such proposal on this hub."))
    accept = request.form.get("decision") == "accept"
    try:
        partners.answer(proposal, accept)
    except LetterError as err:
        raise _refused(err) from None
    if accept:
        flash(_("Accepted: the classes become partners after the next sync."))
    else:
        flash(_("Declined: the other coach reads so after the next sync."))
    return _back("proposals")
