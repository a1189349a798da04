"""Letters between partner classes, on the hub: learners write, their coach approves, the
letter travels in a bundle via central, the partner hub's coach approves it again, and only
then its class reads it. Only paired classes (central decides), no free chat.

Attachments (a few photos, one recording) are checked by their first bytes and size, and
kept under <data>/letters/ named by sha256. Statuses of a letter written here: waiting,
approved, sent (in a bundle), at_central (central's receipt lists that bundle), delivered,
read (the partner hub says so, through central).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from content.blobstore import BlobStore
from content.durable import write_bytes
from hub.core.translate import gettext
from hub.learning import partners
from hub.learning.letter_caps import PROTOCOL, LetterCaps, size_words
from hub.learning.letter_models import (
    APPROVED,
    DECLINED,
    IN,
    OUT,
    OUT_ORDER,
    SENT,
    SHOWN,
    WAITING,
    ClassPartner,
    Letter,
)
from hub.people.models import ClassGroup, Learner
from sync.bundle import Bundle, PartSpec
from sync.hlc import HybridClock
from sync.letters import (
    AUDIO_TYPES,
    MAX_TEXT,
    PHOTO_TYPES,
    UID,
    check_attachments,
    sniff,
)
from sync.letters import LetterError as LetterError  # raised here, caught by the views

LETTERS_PER_BUNDLE = 50
READ = "read"


def store_of(data_dir: Path) -> BlobStore:
    return BlobStore(data_dir / "letters")


# --- personal details ----------------------------------------------------------------------

_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]{2,}")
# Seven or more digits (any script's), maybe with spaces, dots, dashes or brackets between.
_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
# A number, then up to three words (a street's name: "12 Uhuru Street"), then a street word;
# or a street word, then up to three words, then a number ("Rua das Flores, 45").
_STREET = re.compile(
    r"\d+[\s,]+(?:[^\W\d]+\s+){0,3}(street|st\.?|road|rd\.?|avenue|ave\.?|lane|rua|avenida|"
    r"calle|rue|barabara|mtaa|شارع|plot|p\.?\s?o\.?\s?box)\b|\b(street|road|rua|avenida|calle|"
    r"rue|barabara|mtaa|شارع|p\.?\s?o\.?\s?box)\s+(?:[^\W\d]+,?\s+){0,3}\S*\d",
    re.IGNORECASE,
)


def personal_details(text: str) -> list[str]:
    """What in `text` looks like a phone number, an e-mail or a street address, as warnings
    for the learner while writing and for the coach before approving."""
    plain = "".join(_ascii_digit(c) for c in text)
    found = []
    if _EMAIL.search(plain):
        found.append(gettext("It looks like an e-mail address."))
    if any(sum(c.isdigit() for c in m.group()) >= 7 for m in _PHONE.finditer(plain)):
        found.append(gettext("It looks like a phone number."))
    if _STREET.search(plain):
        found.append(gettext("It looks like a street address."))
    return found


def _ascii_digit(char: str) -> str:
    """Any script's digit (Arabic-Indic, Devanagari...) as 0-9, so one pattern finds them."""
    value = unicodedata.digit(char, None) if not char.isascii() else None
    return str(value) if value is not None else char


# --- writing and approving -----------------------------------------------------------------


def keep_attachment(store: BlobStore, data: bytes, caps: LetterCaps = PROTOCOL) -> dict[str, Any]:
    """Check one photo or recording (type by its bytes, size by this hub's cap) and keep it."""
    media_type = sniff(data[:16])
    if media_type is None:
        raise LetterError(gettext("Only JPEG, PNG or WebP photos and recordings can be sent."))
    if len(data) > caps.largest(media_type):
        raise LetterError(
            gettext(
                "That file is too large to send: at most %(size)s.",
                size=size_words(caps.largest(media_type)),
            )
        )
    sha = hashlib.sha256(data).hexdigest()
    if not store.has(sha):
        path = store.path(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, data)  # whole or not at all, and flushed: a photo survives a power cut
    return {"sha256": sha, "type": media_type, "size": len(data)}


def compose(
    store: BlobStore,
    learner: Learner,
    group: ClassGroup,
    partner_class_uid: str,
    text: str,
    language: str,
    files: list[bytes],
    uid: str | None = None,
    caps: LetterCaps = PROTOCOL,
) -> Letter:
    """A letter from a learner of `group` to its partner class, waiting for the coach.
    `uid`, when given, is the writing form's own id: the same form sent twice (a double tap,
    a replay) makes one letter."""
    if uid is not None and (not UID.fullmatch(uid) or Letter.get_or_none(Letter.uid == uid)):
        raise LetterError(gettext("This letter was already sent to your teacher."))
    if group not in learner.classes():
        raise LetterError(gettext("You can write only for your own class."))
    if ClassPartner.active(group.uid, partner_class_uid) is None:
        raise LetterError(gettext("Your class can write only to its partner class."))
    text = text.strip()
    if not text and not files:
        raise LetterError(gettext("Write something first."))
    if len(text) > MAX_TEXT:
        raise LetterError(gettext("A letter can be at most %(n)s characters.", n=MAX_TEXT))
    attachments = check_attachments([keep_attachment(store, d, caps) for d in files if d])
    return Letter.create(
        uid=uid or uuid.uuid4().hex,
        direction=OUT,
        class_uid=group.uid,
        partner_class_uid=partner_class_uid,
        language=language or "en",
        text=text,
        attachments=json.dumps(attachments),
        authors=json.dumps([learner.uid]),
        hlc=HybridClock(last=Letter.last_hlc()).tick(),
        state=WAITING,
    )


def decide(letter: Letter, approve: bool) -> None:
    """The coach's word on a waiting letter: written here, it may go; from the partner
    class, the class may see it."""
    if letter.state != WAITING:
        raise LetterError(gettext("This letter was already decided."))
    shown = APPROVED if letter.direction == OUT else SHOWN
    Letter.update(state=shown if approve else DECLINED).where(Letter.id == letter.id).execute()


def mark_read(letter: Letter) -> None:
    """A learner of the class opened an approved letter from the partner class."""
    if letter.direction == IN and letter.state == SHOWN:
        Letter.update(state=READ).where(Letter.id == letter.id).execute()


def visible_to_class(letter: Letter) -> bool:
    """What the class's learners see: everything they wrote, and from the partner only what
    their coach approved."""
    return letter.direction == OUT or letter.state in (SHOWN, READ)


def conversation(class_uid: str, partner_class_uid: str) -> list[Letter]:
    """The letters a class sees between it and its partner, oldest first."""
    return [
        letter
        for letter in Letter.of_class(class_uid, partner_class_uid)
        if visible_to_class(letter)
    ]


def attachment_of(store: BlobStore, letter: Letter, sha256: str) -> tuple[Path, str] | None:
    """Where one of the letter's attachments is kept and its media type, if the kept bytes
    still show the type recorded: a file is never served as a type the hub did not sniff."""
    item = next((item for item in letter.files() if item["sha256"] == sha256), None)
    if item is None or not store.has(sha256):
        return None
    path = store.path(sha256)
    with path.open("rb") as kept:
        if sniff(kept.read(16)) != item["type"]:
            return None
    return path, str(item["type"])


def status_label(letter: Letter) -> str:
    labels = {
        WAITING: gettext("waiting for your teacher"),
        APPROVED: gettext("approved, goes with the next sync"),
        SENT: gettext("sent"),
        "at_central": gettext("at central"),
        "delivered": gettext("delivered"),
        READ: gettext("read by the partner class"),
        DECLINED: gettext("not approved"),
        "refused": gettext("refused by central"),
        SHOWN: gettext("approved"),
    }
    return labels.get(letter.state, letter.state)


def is_photo(item: dict[str, Any]) -> bool:
    return item.get("type") in PHOTO_TYPES


def is_audio(item: dict[str, Any]) -> bool:
    return item.get("type") in AUDIO_TYPES


# --- into a bundle -------------------------------------------------------------------------


@dataclass
class Outgoing:
    parts: list[PartSpec]
    letters: list[int]  # ids of outgoing letters the bundle carries
    reports: dict[int, str]  # incoming letter id -> the state the bundle reports
    partners: partners.Sent = field(default_factory=partners.Sent)

    def __bool__(self) -> bool:
        return bool(self.parts)


def outgoing(store: BlobStore) -> Outgoing:
    """Approved letters not yet bundled, and what changed about letters from partners."""
    letters = list(
        Letter.select()
        .where(Letter.direction == OUT, Letter.state == APPROVED)
        .order_by(Letter.hlc)
        .limit(LETTERS_PER_BUNDLE)
    )
    records: list[dict[str, Any]] = [_letter_record(letter) for letter in letters]
    reports = {}
    # A letter the coach declined was delivered all the same: until central hears so, it
    # sends the letter again in every reply.
    for letter in Letter.select().where(Letter.direction == IN):
        state = READ if letter.state == READ else "delivered"
        if letter.reported != state:
            records.append({"t": "status", "uid": letter.uid, "state": state})
            reports[letter.id] = state
    finding = partners.outgoing()
    records += finding.records
    shas = dict.fromkeys(item["sha256"] for letter in letters for item in letter.files())
    parts = [PartSpec(sha, "blob", file=store.path(sha)) for sha in shas]
    if not records:
        return Outgoing([], [], {})
    letters_part = PartSpec("letters", "letters", records=records)
    return Outgoing([letters_part, *parts], [letter.id for letter in letters], reports, finding)


def _letter_record(letter: Letter) -> dict[str, Any]:
    return {
        "t": "letter",
        "uid": letter.uid,
        "hlc": letter.hlc,
        "from_class": letter.class_uid,
        "to_class": letter.partner_class_uid,
        "language": letter.language,
        "text": letter.text,
        "authors": json.loads(letter.authors),
        "attachments": letter.files(),
    }


def bundled(out: Outgoing, bundle_id: str) -> None:
    """The bundle holding `out` is written (inside the caller's transaction)."""
    if out.letters:
        Letter.update(state=SENT, sent_bundle=bundle_id).where(Letter.id.in_(out.letters)).execute()
    for letter_id, state in out.reports.items():
        Letter.update(reported=state).where(Letter.id == letter_id).execute()
    partners.bundled(out.partners)


def at_central(applied: set[str]) -> None:
    """Central's receipt lists these bundles as applied: the letters in them are there."""
    Letter.update(state="at_central").where(
        Letter.direction == OUT, Letter.state == SENT, Letter.sent_bundle.in_(list(applied))
    ).execute()


# --- from a reply --------------------------------------------------------------------------


def apply_reply(bundle: Bundle, store: BlobStore) -> int:
    """Pairings, letters for this hub's classes and statuses of its own letters (inside the
    caller's transaction); how many new letters arrived. Records this hub has no use for
    (a class it does not hold, an unpaired class, a letter it did not write) are skipped."""
    blobs = {entry["name"]: entry for entry in bundle.parts_of_type("blob")}
    new = 0
    for entry in bundle.parts_of_type("letters"):
        for record in bundle.records(entry["name"]):
            if record["t"] == "pair":
                _take_pair(record)
            elif record["t"] == "letter":
                new += _take_letter(bundle, blobs, record, store)
            elif record["t"] == "status":
                _take_status(record)
            elif record["t"] == "directory":
                partners.take_directory(record)
            elif record["t"] == "proposal":
                partners.take_proposal(record)
    return new


def _take_pair(record: dict[str, Any]) -> None:
    if ClassGroup.get_or_none(ClassGroup.uid == record["class_uid"]) is None:
        return
    fields = {k: record[k] for k in ("class_uid", "partner_class_uid", "partner_class")}
    fields.update(partner_hub=record["partner_hub"], state=record["state"])
    ClassPartner.insert(uid=record["uid"], **fields).on_conflict(
        conflict_target=[ClassPartner.uid], update=fields
    ).execute()


def _take_letter(
    bundle: Bundle, blobs: dict[str, Any], record: dict[str, Any], store: BlobStore
) -> int:
    if Letter.get_or_none(Letter.uid == record["uid"]) is not None:
        return 0
    if ClassPartner.active(record["to_class"], record["from_class"]) is None:
        return 0  # not a class of this hub, or not (any more) its partner
    for item in record["attachments"]:
        entry = blobs.get(item["sha256"])
        if entry is None or entry["size"] != item["size"]:
            return 0
        if sniff(bundle.blob(item["sha256"])[:16]) != item["type"]:
            return 0
    for item in record["attachments"]:
        if not store.has(item["sha256"]):
            target = store.path(item["sha256"])
            target.parent.mkdir(parents=True, exist_ok=True)
            bundle.save_blob(item["sha256"], target)
    Letter.create(
        uid=record["uid"],
        direction=IN,
        class_uid=record["to_class"],
        partner_class_uid=record["from_class"],
        language=record["language"],
        text=record["text"],
        attachments=json.dumps(record["attachments"]),
        from_name=record.get("from_name", ""),
        hlc=record["hlc"],
        state=WAITING,
    )
    return 1


def _take_status(record: dict[str, Any]) -> None:
    letter = Letter.get_or_none(Letter.uid == record["uid"], Letter.direction == OUT)
    if letter is None:
        return
    now = OUT_ORDER.index(letter.state) if letter.state in OUT_ORDER else len(OUT_ORDER)
    if record["state"] == "refused" and letter.state in (SENT, "at_central"):
        Letter.update(state="refused").where(Letter.id == letter.id).execute()
    elif record["state"] in OUT_ORDER and OUT_ORDER.index(record["state"]) > now:
        Letter.update(state=record["state"]).where(Letter.id == letter.id).execute()
