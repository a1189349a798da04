"""Letters between partner classes, at central: pairings, taking letters from the writers'
hub, passing them on to the partner class's hub, and the statuses back.

Central forwards a letter only when its hub holds the writing class, the class is paired
(active) with the one addressed, every author is a learner of the class, and every
attachment came whole in the same bundle within the caps, sniffed as a photo or a recording.
Anything else is kept aside (quarantine) and the writers' hub hears "refused". A letter
goes to the partner hub in every reply until that hub says it has it ("delivered"); each
status goes to the writers' hub until it names a reply carrying it in a later bundle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from content.blobstore import BlobStore
from sync.bundle import Bundle, PartSpec
from sync.central import ownership, partners, quarantine
from sync.central.errors import CentralError
from sync.central.letter_models import ENDED, ClassPair, Letter
from sync.central.models import Hub, Roster, now_ms
from sync.letters import VERSION, largest, sniff, state_rank

# With their photos and recordings (about 22 KB of chunk hashes each at the caps): what one
# reply carries to the partner hub, well inside the manifest's room beside packs.
LETTERS_PER_REPLY = 6
STATUSES_PER_REPLY = 500
# --- pairing -------------------------------------------------------------------------------


def find_class(spec: str) -> tuple[Roster, str]:
    """CLASS@HUB (a class name and a hub id or name) -> the class and its hub's id."""
    name, at, hub_spec = spec.rpartition("@")
    if not at or not name.strip() or not hub_spec.strip():
        raise CentralError(f"{spec} is not CLASS@HUB (a class name, @, a hub id or name).")
    hubs = [h for h in Hub.select() if hub_spec.strip() in (h.hub_id, h.name)]
    if len(hubs) != 1:
        raise CentralError(f"No single enrolled hub is called {hub_spec}.")
    hub_id = hubs[0].hub_id
    found = [
        group
        for group in Roster.named("class", name.strip())
        if ownership.may_change(group, hub_id)
    ]
    if len(found) != 1:
        raise CentralError(f"Hub {hub_id} holds no single class named {name.strip()}.")
    return found[0], hub_id


def pair(one: str, other: str) -> ClassPair:
    """Pair two classes on two different hubs (inside the caller's write transaction)."""
    (group_a, hub_a), (group_b, hub_b) = find_class(one), find_class(other)
    return pair_held(group_a.uid, hub_a, group_b.uid, hub_b)


def pair_held(class_a: str, hub_a: str, class_b: str, hub_b: str) -> ClassPair:
    """Pair two classes each held by the hub named with it (staff on the page pick them)."""
    if hub_a == hub_b:
        raise CentralError("Partner classes must be on two different hubs.")
    for class_uid, hub_id in ((class_a, hub_a), (class_b, hub_b)):
        if partners.holds(hub_id, class_uid) is None:
            raise CentralError(f"Hub {hub_id} holds no class {class_uid}.")
    return partners.pair_classes(class_a, hub_a, class_b, hub_b)


def pairings() -> list[dict[str, Any]]:
    """Every pairing, newest first, with its classes' and hubs' names, for central's staff."""

    def named(class_uid: str, hub_id: str) -> str:
        group, hub = Roster.find("class", class_uid), Hub.by_id(hub_id)
        return f"{group.name if group else class_uid}@{hub.name if hub else hub_id}"

    return [
        {
            "uid": p.uid,
            "state": p.state,
            "created": p.created,
            "one": named(p.class_a, p.hub_a),
            "other": named(p.class_b, p.hub_b),
        }
        for p in ClassPair.ordered()
    ]


def unpair(uid: str) -> None:
    if not ClassPair.update(state=ENDED).where(ClassPair.uid == uid).execute():
        raise CentralError(f"No pairing {uid}.")


# --- from a hub's bundle -------------------------------------------------------------------


def apply_part(bundle: Bundle, hub_id: str, store: BlobStore) -> int:
    """Every letters record in the bundle (inside the apply's transaction); how many were
    kept aside. Attachments go into central's blob store before their rows: content-addressed,
    so a rollback leaves at most an unused file."""
    held = 0
    _note_acked(hub_id, bundle.manifest.get("acked"))
    reads = bundle.manifest.get("letters")
    if isinstance(reads, int) and not isinstance(reads, bool) and 1 <= reads <= VERSION:
        # The version of a reply's letters part the hub reads (2: with the partner directory).
        Hub.update(reads_letters=reads).where(Hub.hub_id == hub_id).execute()
    for entry in bundle.parts_of_type("letters"):
        for record in bundle.records(entry["name"]):
            if record["t"] == "letter":
                held += _take_letter(bundle, hub_id, record, store)
            elif record["t"] == "status":
                held += _take_status(bundle.bundle_id, hub_id, record)
            elif record["t"] in partners.FROM_HUBS:
                held += partners.take(bundle.bundle_id, hub_id, record)
            else:
                reason = "a record only central writes"
                quarantine.hold(hub_id, bundle.bundle_id, "letters", "", reason, record)
                held += 1
    return held


def _take_letter(bundle: Bundle, hub_id: str, record: dict[str, Any], store: BlobStore) -> int:
    if Letter.get_or_none(Letter.uid == record["uid"]) is not None:
        return 0  # a replay, or the same bundle again: nothing new
    pairing = ClassPair.between(record["from_class"], record["to_class"])
    reason = _letter_problem(bundle, hub_id, record, pairing)
    if reason is None:
        reason = _keep_attachments(bundle, record["attachments"], store)
    if reason is not None or pairing is None:
        quarantine.hold(hub_id, bundle.bundle_id, "letter", record["uid"], reason or "", record)
        _insert(record, hub_id, "", "refused")
        return 1
    to_hub = pairing.hub_b if pairing.class_b == record["to_class"] else pairing.hub_a
    _insert(record, hub_id, to_hub, "at_central")
    return 0


def _letter_problem(
    bundle: Bundle, hub_id: str, record: dict[str, Any], pairing: ClassPair | None
) -> str | None:
    group = Roster.find("class", record["from_class"])
    if group is None or group.deleted or not ownership.may_change(group, hub_id):
        return "the hub does not hold the writing class"
    if pairing is None:
        return "the classes are not partners"
    if not record.get("authors"):
        return "a letter names no author"  # children write letters; nobody else may
    for author in record.get("authors", []):
        if not _is_member(record["from_class"], author):
            return "an author is not a learner of the class"
    names = {entry["name"]: entry for entry in bundle.parts_of_type("blob")}
    for item in record["attachments"]:
        entry = names.get(item["sha256"])
        if entry is None or entry["size"] != item["size"]:
            return "an attachment is missing from the bundle or has another size"
        if entry["size"] > largest(item["type"]):
            return "an attachment is over its size cap"
    return None


def _keep_attachments(bundle: Bundle, items: list[dict[str, Any]], store: BlobStore) -> str | None:
    """Store each attachment whose bytes are the type it claims; why not, else None."""
    for item in items:
        # Sizes were checked against the caps first, so this reads at most one cap's bytes.
        if sniff(bundle.blob(item["sha256"])[:16]) != item["type"]:
            return "an attachment is not the photo or recording it claims to be"
    for item in items:
        if not store.has(item["sha256"]):
            target = store.path(item["sha256"])
            target.parent.mkdir(parents=True, exist_ok=True)
            bundle.save_blob(item["sha256"], target)
    return None


def _is_member(class_uid: str, learner_uid: str) -> bool:
    return (
        Roster.select()
        .where(
            Roster.kind == "member",
            Roster.class_uid == class_uid,
            Roster.learner_uid == learner_uid,
            Roster.deleted == 0,
        )
        .exists()
    )


def _insert(record: dict[str, Any], hub_id: str, to_hub: str, state: str) -> None:
    keep = state != "refused"  # a refused letter's text and files are not kept outside quarantine
    Letter.insert(
        uid=record["uid"],
        from_hub=hub_id,
        from_class=record["from_class"],
        to_hub=to_hub,
        to_class=record["to_class"],
        language=record["language"],
        text=record["text"] if keep else "",
        attachments=json.dumps(record["attachments"] if keep else []),
        hlc=record["hlc"],
        received=now_ms(),
        state=state,
    ).on_conflict_ignore().execute()


def _take_status(bundle_id: str, hub_id: str, record: dict[str, Any]) -> int:
    """The partner hub says it has a letter, or its class read it; only that hub may."""
    letter = Letter.get_or_none(Letter.uid == record["uid"])
    if letter is None or letter.to_hub != hub_id or record["state"] not in ("delivered", "read"):
        quarantine.hold(hub_id, bundle_id, "letter_status", record["uid"], "not its letter", record)
        return 1
    if state_rank(record["state"]) > state_rank(letter.state):
        Letter.update(state=record["state"]).where(Letter.uid == letter.uid).execute()
    return 0


def _note_acked(hub_id: str, acked: Any) -> None:
    """The hub applied reply `acked`: the statuses that reply told it are known there."""
    if isinstance(acked, str) and acked:
        Letter.update(acked=Letter.told).where(
            Letter.from_hub == hub_id, Letter.told_reply == acked
        ).execute()


# --- into a reply --------------------------------------------------------------------------


def reply_records(
    hub_id: str, version: int = 1
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """(records, shas of the attachments to send, uids of the statuses told) for a reply to a
    hub that reads this `version` of the letters part."""
    records = [_pair_record(p, hub_id) for p in ClassPair.of_hub(hub_id)]
    if version >= 2:
        records += partners.reply_records(hub_id)
    shas: list[str] = []
    incoming = (
        Letter.select()
        .where(Letter.to_hub == hub_id, Letter.state == "at_central")
        .order_by(Letter.hlc)
        .limit(LETTERS_PER_REPLY)
    )
    for letter in incoming:
        records.append(_letter_record(letter))
        shas += [item["sha256"] for item in letter.files()]
    told = _untold(hub_id)
    records += [{"t": "status", "uid": letter.uid, "state": letter.state} for letter in told]
    return records, list(dict.fromkeys(shas)), [letter.uid for letter in told]


def reply_parts(hub: Hub, store: BlobStore, taken: set[str]) -> tuple[list[PartSpec], list[str]]:
    """The letters part and its blobs (none already among `taken` part names), for a hub that
    reads it (an older one would refuse the part); the uids whose statuses it tells (to
    note against the reply once written)."""
    if not hub.reads_letters:
        return [], []
    records, shas, told = reply_records(hub.hub_id, hub.reads_letters)
    if not records:
        return [], []
    blobs = [PartSpec(sha, "blob", file=store.path(sha)) for sha in shas if sha not in taken]
    return [PartSpec("letters", "letters", records=records), *blobs], told


def note_reply(uids: Iterable[str], reply_bundle_id: str) -> None:
    """The statuses of these letters travel in that reply (inside the caller's transaction)."""
    for uid in uids:
        Letter.update(told=Letter.state, told_reply=reply_bundle_id).where(
            Letter.uid == uid
        ).execute()


def _untold(hub_id: str) -> list[Letter]:
    query = (
        Letter.select()
        .where(Letter.from_hub == hub_id, Letter.state != Letter.acked)
        .order_by(Letter.received)
        .limit(STATUSES_PER_REPLY)
    )
    return [letter for letter in query if letter.state != "at_central"]


def _pair_record(pairing: ClassPair, hub_id: str) -> dict[str, Any]:
    mine_a = pairing.hub_a == hub_id
    own, partner = (pairing.class_a, pairing.class_b)
    if not mine_a:
        own, partner = partner, own
    partner_hub = Hub.by_id(pairing.hub_b if mine_a else pairing.hub_a)
    group = Roster.find("class", partner)
    return {
        "t": "pair",
        "uid": pairing.uid,
        "class_uid": own,
        "partner_class_uid": partner,
        "partner_class": (group.name if group else "")[:200],
        "partner_hub": (partner_hub.name if partner_hub else "")[:200],
        "state": pairing.state,
    }


def _letter_record(letter: Letter) -> dict[str, Any]:
    group = Roster.find("class", letter.from_class)
    hub = Hub.by_id(letter.from_hub)
    return {
        "t": "letter",
        "uid": letter.uid,
        "hlc": letter.hlc,
        "from_class": letter.from_class,
        "to_class": letter.to_class,
        "language": letter.language,
        "text": letter.text,
        "attachments": letter.files(),
        "from_name": (group.name if group else "")[:200],
        "from_hub_name": (hub.name if hub else "")[:200],
    }
