"""Finding a partner class from the coach's letters page (/coach/letters): a class looks for a
partner (or stops), the coach proposes to a class of another hub (or withdraws the proposal),
or answers a proposal. The work is in hub.learning.partners; everything goes with the next
sync. A refused form comes back on the page (400) with its error and what the coach typed.
Forms work without JavaScript."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.core.errors import HubError
from hub.learning import partners
from hub.learning.partner_models import PartnerProposal
from hub.people.auth import require
from hub.people.models import ClassGroup
from hub.web.views import coach_letters
from hub.web.views.coach_letters import Refused
from sync.letters import LetterError

bp = Blueprint("partners", __name__)
COACHES = ("coach", "operator")
BACK = "letters.coach"


def _class(uid: str) -> ClassGroup:
    group = ClassGroup.get_or_none(ClassGroup.uid == uid)
    if group is None:
        raise HubError(404, "class_not_found", _("There is no such class on this hub."))
    return group


def _proposal(uid: str) -> PartnerProposal:
    proposal = PartnerProposal.get_or_none(PartnerProposal.uid == uid)
    if proposal is None:
        raise HubError(404, "proposal_not_found", _("There is no such proposal on this hub."))
    return proposal


def _typed(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in names}


def _refused(form: str, key: str, err: LetterError, typed: dict[str, str]) -> ResponseReturnValue:
    return coach_letters.render(Refused(form, key, str(err), typed), 400)


def _back(anchor: str) -> ResponseReturnValue:
    return redirect(url_for(BACK, _anchor=anchor), 303)


@bp.post("/coach/partners/seek")
@require(*COACHES)
def seek() -> ResponseReturnValue:
    group = _class(request.form.get("class_uid", ""))
    typed = _typed("languages", "grade", "note")
    try:
        partners.seek(group, typed["languages"], typed["grade"], typed["note"])
    except LetterError as err:
        return _refused("seek", group.uid, err, typed)
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
    typed = _typed("class_uid", "note")
    listed = request.form.get("listed", "")
    try:
        made = partners.propose(group, listed, typed["note"])
    except LetterError as err:
        return _refused("propose", listed, err, typed)
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
    proposal = _proposal(uid)
    accept = request.form.get("decision") == "accept"
    try:
        partners.answer(proposal, accept)
    except LetterError as err:
        return _refused("proposal", proposal.uid, err, {})
    if accept:
        flash(_("Accepted: the classes become partners after the next sync."))
    else:
        flash(_("Declined: the other coach reads so after the next sync."))
    return _back("proposals")


@bp.post("/coach/partners/proposals/<uid>/withdraw")
@require(*COACHES)
def withdraw_proposal(uid: str) -> ResponseReturnValue:
    proposal = _proposal(uid)
    try:
        partners.withdraw_proposal(proposal)
    except LetterError as err:
        return _refused("proposal", proposal.uid, err, {})
    flash(_("The proposal to %(partner)s is withdrawn.", partner=proposal.partner_class))
    return _back("proposals")
