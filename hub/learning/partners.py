"""Finding a partner class, on the hub: a coach says a class looks for a partner (languages,
an age/grade line, a note: nothing about its learners), sees the classes of other hubs that
look (central's directory as of the last sync), proposes one of their own classes to one
(and may withdraw the proposal while it is open), and accepts or declines proposals to
theirs. Everything travels through central in the bundles' letters part; central makes the
pairing when a proposal is accepted.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from hub.core.translate import gettext
from hub.learning.letter_models import ClassPartner
from hub.learning.partner_models import (
    ACCEPT,
    DECLINE,
    DECLINED,
    FINAL,
    IN,
    NEW,
    OUT,
    PAIRED,
    PROPOSAL_SENT,
    PROPOSED,
    REFUSED,
    WITHDRAW,
    WITHDRAWAL_SENT,
    WITHDRAWN,
    PartnerListing,
    PartnerProposal,
    PartnerSeek,
)
from hub.people.models import ClassGroup
from sync.hlc import HybridClock
from sync.letters import LANGUAGE, MAX_GRADE, MAX_LANGUAGES, MAX_NOTE, LetterError


def _tick() -> int:
    last = max(PartnerProposal.last_hlc(), _last_seek_hlc())
    return HybridClock(last=last).tick()


def _last_seek_hlc() -> int:
    query = PartnerSeek.select(PartnerSeek.hlc).order_by(PartnerSeek.hlc.desc()).limit(1)
    return int(query.scalar() or 0)


# --- what a coach does ---------------------------------------------------------------------


def parse_languages(text: str) -> list[str]:
    """The class's languages from a line such as `sw, en`; a one-line error otherwise."""
    found = list(dict.fromkeys(part for part in re.split(r"[\s,;]+", text.strip()) if part))
    if not found or len(found) > MAX_LANGUAGES:
        raise LetterError(
            gettext("Give one to %(n)s language codes, such as sw, en.", n=MAX_LANGUAGES)
        )
    for code in found:
        if not LANGUAGE.fullmatch(code):
            raise LetterError(
                gettext("%(code)s is not a language code such as sw or en.", code=code[:20])
            )
    return found


def _check_lines(grade: str, note: str) -> None:
    if len(grade) > MAX_GRADE:
        raise LetterError(
            gettext("The age or grade line can be at most %(n)s characters.", n=MAX_GRADE)
        )
    if len(note) > MAX_NOTE:
        raise LetterError(gettext("The note can be at most %(n)s characters.", n=MAX_NOTE))


def seek(group: ClassGroup, languages: str, grade: str, note: str) -> PartnerSeek:
    """The class looks for a partner class; its listing goes with the next sync."""
    codes = parse_languages(languages)
    grade, note = grade.strip(), note.strip()
    _check_lines(grade, note)
    fields = {
        "languages": json.dumps(codes),
        "grade": grade,
        "note": note,
        "hlc": _tick(),
        "active": 1,
    }
    PartnerSeek.insert(class_uid=group.uid, **fields).on_conflict(
        conflict_target=[PartnerSeek.class_uid], update=fields
    ).execute()
    return PartnerSeek.get_by_id(group.uid)


def withdraw(class_uid: str) -> None:
    """The class no longer looks (its listing leaves the directory after the next sync)."""
    PartnerSeek.update(active=0, hlc=_tick()).where(
        PartnerSeek.class_uid == class_uid, PartnerSeek.active == 1
    ).execute()


def propose(group: ClassGroup, listed_class_uid: str, note: str = "") -> PartnerProposal:
    """This hub's class proposes to a class in the directory; it goes with the next sync."""
    listing = PartnerListing.get_or_none(PartnerListing.class_uid == listed_class_uid)
    if listing is None:
        raise LetterError(gettext("That class is no longer looking for a partner."))
    if ClassPartner.active(group.uid, listed_class_uid) is not None:
        raise LetterError(gettext("These classes are already partners."))
    if PartnerProposal.open_to(group.uid, listed_class_uid) is not None:
        raise LetterError(gettext("This class has already proposed to that class."))
    note = note.strip()
    _check_lines("", note)
    return PartnerProposal.create(
        uid=uuid.uuid4().hex,
        direction=OUT,
        class_uid=group.uid,
        partner_class_uid=listing.class_uid,
        partner_class=listing.class_name,
        partner_hub=listing.hub_name,
        region=listing.region,
        languages=listing.languages,
        grade=listing.grade,
        note=note,
        hlc=_tick(),
        state=NEW,
    )


def answer(proposal: PartnerProposal, accept: bool) -> None:
    """This coach's answer to a proposal to their class; it goes with the next sync. A class
    that accepts stops looking."""
    if proposal.direction != IN or proposal.state != PROPOSED or proposal.answer:
        raise LetterError(gettext("This proposal was already answered."))
    PartnerProposal.update(answer=ACCEPT if accept else DECLINE, sent=0).where(
        PartnerProposal.uid == proposal.uid
    ).execute()
    if accept:
        withdraw(proposal.class_uid)


def withdraw_proposal(proposal: PartnerProposal) -> None:
    """This coach takes back a proposal of their class while it is open. One that never left
    the hub stays here; else the withdrawal goes with the next sync, and whichever word
    reaches central first (it, or the other coach's answer) decides."""
    if not may_withdraw(proposal):
        raise LetterError(gettext("This proposal is no longer open: it cannot be withdrawn."))
    PartnerProposal.update(answer=WITHDRAW).where(
        PartnerProposal.uid == proposal.uid, PartnerProposal.answer == ""
    ).execute()


def may_withdraw(proposal: PartnerProposal) -> bool:
    return proposal.direction == OUT and proposal.state in (NEW, PROPOSED) and not proposal.answer


def status_words(proposal: PartnerProposal) -> str:
    """Where a proposal stands, in words for the coach."""
    if proposal.state == PAIRED:
        return gettext("paired")
    if proposal.state == DECLINED or proposal.answer == DECLINE:
        return gettext("declined")
    if proposal.state == REFUSED:
        return gettext("refused by central")
    if proposal.state == WITHDRAWN:
        if proposal.direction == IN:
            return gettext("withdrawn by the other coach")
        return gettext("withdrawn")
    if proposal.answer == WITHDRAW:
        if proposal.sent == PROPOSAL_SENT:
            return gettext("withdrawn, central hears it with the next sync")
        return gettext("withdrawn")
    if proposal.direction == IN:
        if proposal.answer == ACCEPT:
            return gettext("accepted, the pairing comes with the next sync")
        return gettext("waiting for your answer")
    if proposal.state == NEW and not proposal.sent:
        return gettext("goes with the next sync")
    return gettext("proposed, waiting for the other coach")


def waiting_for_answer(proposal: PartnerProposal) -> bool:
    return proposal.direction == IN and proposal.state == PROPOSED and not proposal.answer


# --- into a bundle -------------------------------------------------------------------------


@dataclass
class Sent:
    """What a bundle carries, to note once it is written."""

    records: list[dict[str, Any]] = field(default_factory=list)
    seeks: dict[str, int] = field(default_factory=dict)  # class uid -> hlc sent
    proposals: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    withdrawals: list[str] = field(default_factory=list)


def outgoing() -> Sent:
    sent = Sent()
    for row in PartnerSeek.unsent():
        sent.records.append(_seek_record(row))
        sent.seeks[row.class_uid] = row.hlc
    proposing: list[dict[str, Any]] = []  # after the withdrawals: one may replace another
    for proposal in PartnerProposal.select().where(PartnerProposal.sent < WITHDRAWAL_SENT):
        withdrawn = proposal.answer == WITHDRAW
        if proposal.direction == IN:
            if proposal.answer and not proposal.sent:
                accept = proposal.answer == ACCEPT
                sent.records.append({"t": "answer", "uid": proposal.uid, "accept": accept})
                sent.answers.append(proposal.uid)
        elif not proposal.sent and proposal.state == NEW and not withdrawn:
            proposing.append(_propose_record(proposal))
            sent.proposals.append(proposal.uid)
        elif proposal.sent == PROPOSAL_SENT and withdrawn and proposal.state not in FINAL:
            # Withdrawn after it left (one withdrawn before never travels at all).
            sent.records.append({"t": "withdraw", "uid": proposal.uid})
            sent.withdrawals.append(proposal.uid)
    sent.records += proposing
    return sent


def _seek_record(row: PartnerSeek) -> dict[str, Any]:
    return {
        "t": "seek",
        "class_uid": row.class_uid,
        "hlc": row.hlc,
        "active": bool(row.active),
        "languages": row.language_list(),
        "grade": row.grade,
        "note": row.note,
    }


def _propose_record(proposal: PartnerProposal) -> dict[str, Any]:
    return {
        "t": "propose",
        "uid": proposal.uid,
        "hlc": proposal.hlc,
        "from_class": proposal.class_uid,
        "to_class": proposal.partner_class_uid,
        "note": proposal.note,
    }


def bundled(sent: Sent) -> None:
    """The bundle holding `sent` is written (inside the caller's transaction)."""
    for class_uid, hlc in sent.seeks.items():
        PartnerSeek.update(sent_hlc=hlc).where(PartnerSeek.class_uid == class_uid).execute()
    # Only what was read: a withdrawal made while the bundle was written goes in the next one.
    uids = sent.proposals + sent.answers
    if uids:
        PartnerProposal.update(sent=PROPOSAL_SENT).where(
            PartnerProposal.uid.in_(uids), PartnerProposal.sent == 0
        ).execute()
    if sent.withdrawals:
        PartnerProposal.update(sent=WITHDRAWAL_SENT).where(
            PartnerProposal.uid.in_(sent.withdrawals)
        ).execute()


# --- from a reply --------------------------------------------------------------------------


def take_directory(record: dict[str, Any]) -> None:
    """Central's directory replaces the one kept (inside the caller's transaction)."""
    PartnerListing.delete().execute()
    for position, entry in enumerate(record["entries"]):
        if ClassGroup.get_or_none(ClassGroup.uid == entry["class_uid"]) is not None:
            continue  # one of this hub's own classes: never a partner for another of them
        PartnerListing.insert(
            class_uid=entry["class_uid"],
            position=position,
            class_name=entry["class"],
            hub_name=entry["hub"],
            region=entry["region"],
            languages=json.dumps(entry.get("languages", [])),
            grade=entry.get("grade", ""),
            note=entry.get("note", ""),
        ).on_conflict_ignore().execute()


def take_proposal(record: dict[str, Any]) -> None:
    """A proposal from or to one of this hub's classes, as central has it."""
    ours = ClassGroup.get_or_none(ClassGroup.uid == record["from_class"])
    direction = OUT if ours is not None else IN
    if ours is None and ClassGroup.get_or_none(ClassGroup.uid == record["to_class"]) is None:
        return  # about no class of this hub
    kept = PartnerProposal.get_or_none(PartnerProposal.uid == record["uid"])
    if kept is None:
        PartnerProposal.create(uid=record["uid"], hlc=_tick(), **_fields(record, direction))
    elif _moves_on(kept.state, record["state"]):
        PartnerProposal.update(state=record["state"]).where(
            PartnerProposal.uid == kept.uid
        ).execute()


def _moves_on(kept: str, said: str) -> bool:
    """Central's word moves a proposal on, never back: new -> proposed -> a final state."""
    return kept not in FINAL and said != kept and (said in FINAL or kept == NEW)


def _fields(record: dict[str, Any], direction: str) -> dict[str, Any]:
    out = direction == OUT
    return {
        "direction": direction,
        "class_uid": record["from_class"] if out else record["to_class"],
        "partner_class_uid": record["to_class"] if out else record["from_class"],
        "partner_class": record.get("to_name" if out else "from_name", ""),
        "partner_hub": record.get("to_hub" if out else "from_hub", ""),
        "region": "" if out else record.get("region", ""),
        "languages": json.dumps(record.get("languages", [])),
        "grade": record.get("grade", ""),
        "note": record.get("note", ""),
        "state": record["state"],
        "sent": 1 if out else 0,
    }
