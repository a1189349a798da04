"""Two coaches agree, through central, that their classes become partners (issue #18 part 2).

A hub says one of its classes looks for a partner (`seek`); central lists it in the directory
it sends every other hub. A coach there proposes (`propose`) one of their own classes; central
forwards the proposal to the listed class's hub, whose coach accepts or declines (`answer`);
until then the proposing coach may take it back (`withdraw`). On accept central pairs the
classes as staff pairing does, so `pair` records reach both hubs. Whichever word reaches central
first decides an open proposal; a later one changes nothing.

Central takes a record only from the hub that holds the class it speaks for: a hub can never
list, propose or answer for another hub's class. Everything else is kept aside (quarantine);
a refused proposal goes back to its sender as `refused`, never to the class it named.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from sync.central import ownership, quarantine
from sync.central.letter_models import (
    ACTIVE,
    DECLINED,
    PAIRED,
    PROPOSED,
    REFUSED,
    WITHDRAWN,
    ClassPair,
    PartnerProposal,
    PartnerSeek,
)
from sync.central.models import Hub, Roster, now_ms
from sync.letters import MAX_DIRECTORY, MAX_NAME

PROPOSALS_PER_REPLY = 50  # open ones, and as many of the newest decided
FROM_HUBS = ("seek", "propose", "answer", "withdraw")  # the records a hub sends about partners


def pair_classes(class_a: str, hub_a: str, class_b: str, hub_b: str) -> ClassPair:
    """The active pairing of two classes, made now if there is none (inside the caller's
    write transaction): staff on the page or the command line, or two coaches agreeing."""
    existing = ClassPair.between(class_a, class_b)
    if existing is not None:
        return existing
    return ClassPair.create(
        uid=secrets.token_hex(16),
        class_a=class_a,
        hub_a=hub_a,
        class_b=class_b,
        hub_b=hub_b,
        state=ACTIVE,
        created=now_ms(),
    )


def holds(hub_id: str, class_uid: str) -> Roster | None:
    """The class, if the hub holds it (made it, or central sends it there) and it lives."""
    group = Roster.find("class", class_uid)
    if group is None or group.deleted or not ownership.may_change(group, hub_id):
        return None
    return group


# --- from a hub's bundle -------------------------------------------------------------------


def take(bundle_id: str, hub_id: str, record: dict[str, Any]) -> int:
    """One seek, propose, answer or withdraw record (inside the apply's transaction); 1 if
    kept aside."""
    kind = record["t"]
    reason = _TAKERS[kind](hub_id, record)
    if reason is None:
        return 0
    key = record.get("uid") or record.get("class_uid") or ""
    quarantine.hold(hub_id, bundle_id, f"partner_{kind}", key, reason, record)
    return 1


def _take_seek(hub_id: str, record: dict[str, Any]) -> str | None:
    if holds(hub_id, record["class_uid"]) is None:
        return "the hub does not hold the class"
    kept = PartnerSeek.get_or_none(PartnerSeek.class_uid == record["class_uid"])
    if kept is not None and kept.hlc >= record["hlc"]:
        return None  # a replay or an older word: the latest stands
    fields = {
        "hub_id": hub_id,
        "languages": json.dumps(record.get("languages", [])),
        "grade": record.get("grade", ""),
        "note": record.get("note", ""),
        "hlc": record["hlc"],
        "active": int(record["active"]),
        "received": now_ms(),
    }
    if kept is None:
        PartnerSeek.create(class_uid=record["class_uid"], **fields)
    else:
        PartnerSeek.update(**fields).where(PartnerSeek.class_uid == kept.class_uid).execute()
    return None


def _take_propose(hub_id: str, record: dict[str, Any]) -> str | None:
    if PartnerProposal.get_or_none(PartnerProposal.uid == record["uid"]) is not None:
        return None  # a replay: the first one stands
    reason = _proposal_problem(hub_id, record)
    seek = PartnerSeek.looking(record["to_class"])
    PartnerProposal.create(
        uid=record["uid"],
        from_hub=hub_id,
        from_class=record["from_class"],
        to_hub=seek.hub_id if seek is not None and reason is None else "",
        to_class=record["to_class"],
        note=record.get("note", ""),
        hlc=record["hlc"],
        state=PROPOSED if reason is None else REFUSED,
        received=now_ms(),
        decided=None if reason is None else now_ms(),
    )
    return reason


def _proposal_problem(hub_id: str, record: dict[str, Any]) -> str | None:
    one, other = record["from_class"], record["to_class"]
    if holds(hub_id, one) is None:
        return "the hub does not hold the proposing class"
    seek = PartnerSeek.looking(other)
    if seek is None or holds(seek.hub_id, other) is None:
        return "the class proposed to is not looking for a partner"
    if one == other or seek.hub_id == hub_id or holds(hub_id, other) is not None:
        return "a class cannot be partner to a class of its own hub"
    if ClassPair.between(one, other) is not None:
        return "the classes are already partners"
    if PartnerProposal.open_between(one, other) is not None:
        return "a proposal between the classes is already open"
    return None


def _take_answer(hub_id: str, record: dict[str, Any]) -> str | None:
    proposal = PartnerProposal.get_or_none(PartnerProposal.uid == record["uid"])
    if proposal is None or proposal.to_hub != hub_id or holds(hub_id, proposal.to_class) is None:
        return "not a proposal to a class of the hub"
    if proposal.state != PROPOSED:
        return None  # a replay, or answered already: the first answer stands
    state, pair_uid = DECLINED, ""
    if record["accept"]:
        if holds(proposal.from_hub, proposal.from_class) is None:
            state = REFUSED  # the proposing class is gone meanwhile
        else:
            made = pair_classes(proposal.from_class, proposal.from_hub, proposal.to_class, hub_id)
            state, pair_uid = PAIRED, made.uid
    PartnerProposal.update(state=state, pair_uid=pair_uid, decided=now_ms()).where(
        PartnerProposal.uid == proposal.uid
    ).execute()
    return None


def _take_withdraw(hub_id: str, record: dict[str, Any]) -> str | None:
    proposal = PartnerProposal.get_or_none(PartnerProposal.uid == record["uid"])
    if (
        proposal is None
        or proposal.from_hub != hub_id
        or holds(hub_id, proposal.from_class) is None
    ):
        return "not a proposal from a class of the hub"
    if proposal.state != PROPOSED:
        return None  # a replay, or the other coach answered first: that answer stands
    PartnerProposal.update(state=WITHDRAWN, decided=now_ms()).where(
        (PartnerProposal.uid == proposal.uid) & (PartnerProposal.state == PROPOSED)
    ).execute()
    return None


_TAKERS = {
    "seek": _take_seek,
    "propose": _take_propose,
    "answer": _take_answer,
    "withdraw": _take_withdraw,
}


# --- into a reply --------------------------------------------------------------------------


def reply_records(hub_id: str) -> list[dict[str, Any]]:
    """The directory as this hub sees it (when any class anywhere else ever looked: else it
    has nothing to replace), and the proposals from or to its classes."""
    records: list[dict[str, Any]] = []
    others = PartnerSeek.select().where(PartnerSeek.hub_id != hub_id)
    if others.exists():
        entries = [_entry(seek) for seek in PartnerSeek.open_elsewhere(hub_id, MAX_DIRECTORY)]
        records.append({"t": "directory", "entries": entries})
    records += [_proposal(p) for p in PartnerProposal.of_hub(hub_id, PROPOSALS_PER_REPLY)]
    return records


def _entry(seek: PartnerSeek) -> dict[str, Any]:
    hub = Hub.by_id(seek.hub_id)
    return {
        "class_uid": seek.class_uid,
        "class": _name_of(seek.class_uid),
        "hub": _short(hub.name if hub else ""),
        "region": _short(hub.region if hub else ""),
        "languages": seek.language_list(),
        "grade": seek.grade,
        "note": seek.note,
    }


def _proposal(proposal: PartnerProposal) -> dict[str, Any]:
    sender = Hub.by_id(proposal.from_hub)
    seek = PartnerSeek.get_or_none(PartnerSeek.class_uid == proposal.from_class)
    receiver = Hub.by_id(proposal.to_hub)
    return {
        "t": "proposal",
        "uid": proposal.uid,
        "from_class": proposal.from_class,
        "from_name": _name_of(proposal.from_class),
        "from_hub": _short(sender.name if sender else ""),
        "region": _short(sender.region if sender else ""),
        "to_class": proposal.to_class,
        "to_name": _name_of(proposal.to_class),
        "to_hub": _short(receiver.name if receiver else ""),
        "languages": seek.language_list() if seek else [],
        "grade": seek.grade if seek else "",
        "note": proposal.note,
        "state": proposal.state,
    }


def _name_of(class_uid: str) -> str:
    group = Roster.find("class", class_uid)
    return _short(group.name if group else "")


def _short(text: str) -> str:
    return text[:MAX_NAME]
