"""The coach's letters page (/coach/letters): letters waiting for approval, the partner
classes, and finding a partner class. Shown as is, or again after a refused partner form
with its error beside that form and what the coach typed kept (views letters and partners)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue

from hub.learning import letters, partners
from hub.learning.letter_models import IN, ClassPartner, Letter
from hub.learning.partner_models import PartnerListing, PartnerProposal, PartnerSeek
from hub.people.models import ClassGroup, Learner
from sync.letters import MAX_GRADE, MAX_NOTE


@dataclass
class Refused:
    """A partner form the hub refused: which (`seek` a class, `propose` to a listed class,
    `proposal` answered or withdrawn), for what uid, why, and what the coach typed."""

    form: str
    key: str
    error: str
    typed: dict[str, str] = field(default_factory=dict)
    placed: bool = False  # the page shows that form, so the error stands beside it

    def at(self, form: str, key: str) -> bool:
        return self.form == form and self.key == key


def render(refused: Refused | None = None, status: int = 200) -> ResponseReturnValue:
    waiting = [_for_coach(letter) for letter in Letter.waiting_for_coach()]
    pairs = list(ClassPartner.select().order_by(ClassPartner.partner_class))
    classes = {g.uid: g for g in ClassGroup.ordered()}
    finding = _finding()
    if refused is not None:
        refused.placed = refused.key in _shown(refused.form, finding)
    page = render_template(
        "letters/coach.html",
        waiting=[item for item in waiting if item is not None],
        pairs=[(p, classes[p.class_uid]) for p in pairs if p.class_uid in classes],
        max_grade=MAX_GRADE,
        max_note=MAX_NOTE,
        refused=refused,
        **finding,
    )
    return page, status


def _for_coach(letter: Letter) -> dict[str, Any] | None:
    group = ClassGroup.get_or_none(ClassGroup.uid == letter.class_uid)
    pair = ClassPartner.get_or_none(
        ClassPartner.class_uid == letter.class_uid,
        ClassPartner.partner_class_uid == letter.partner_class_uid,
    )
    if group is None or pair is None:
        return None
    authors = Learner.select().where(Learner.uid.in_(letter.author_uids()))
    return {
        "letter": letter,
        "group": group,
        "pair": pair,
        "incoming": letter.direction == IN,
        "authors": [a.display_name for a in authors],
        "warnings": letters.personal_details(letter.text),
    }


def _finding() -> dict[str, Any]:
    """What the page shows about finding partners."""
    groups = ClassGroup.ordered()
    names = {group.uid: group.name for group in groups}
    seeks = {seek.class_uid: seek for seek in PartnerSeek.select()}
    return {
        "finding": [(group, seeks.get(group.uid)) for group in groups],
        "directory": PartnerListing.ordered(),
        "proposals": [(p, names.get(p.class_uid, "?")) for p in PartnerProposal.newest()],
        "proposal_words": partners.status_words,
        "waiting_for_answer": partners.waiting_for_answer,
        "may_withdraw": partners.may_withdraw,
        "free_classes": _free_classes(groups),
    }


def _shown(form: str, finding: dict[str, Any]) -> set[str]:
    """The uids whose form of this kind the page shows."""
    if form == "seek":
        return {group.uid for group, _ in finding["finding"]}
    if form == "propose":
        free = finding["free_classes"]
        return {entry.class_uid for entry in finding["directory"] if free(entry.class_uid)}
    return {proposal.uid for proposal, _ in finding["proposals"]}


def _free_classes(groups: list[ClassGroup]) -> Callable[[str], list[ClassGroup]]:
    """The classes of this hub that may propose to a listed class: not its partners yet."""
    paired: set[tuple[str, str]] = {
        (pair.class_uid, pair.partner_class_uid)
        for pair in ClassPartner.select().where(ClassPartner.state == "active")
    }
    return lambda listed: [group for group in groups if (group.uid, listed) not in paired]
