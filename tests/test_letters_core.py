"""Letters at central from hostile or mistaken hubs (fake hubs writing real signed bundles, on
SQLite and PostgreSQL), the hub's own checks (statuses from a reply, reports of declined
letters), and the personal-details warnings."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.core.db import connected
from hub.learning import letters
from hub.learning.letter_models import IN, OUT, Letter
from sync.bundle import BundleError, PartSpec
from sync.central import letters as central_letters
from sync.central.db import writing
from sync.central.letter_models import Letter as CentralLetter
from sync.central.models import QuarantineItem
from sync.central.roster import member_uid
from sync.central.service import Central
from sync.letters import MAX_PHOTO_BYTES
from sync.records import RecordError, roster_record
from tests.central_helpers import FakeHub, uid

pytest_plugins = ["tests.central_fixtures"]
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(500)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@dataclass
class Pair:
    a: FakeHub
    b: FakeHub
    class_a: str
    class_b: str
    author: str  # a learner of class_a


def roster_of(hub: FakeHub, class_uid: str, name: str, learner: str) -> list[dict[str, Any]]:
    return [
        roster_record("learner", learner, 1, hub.hub_id, display_name=f"Learner of {name}"),
        roster_record("class", class_uid, 1, hub.hub_id, name=name),
        roster_record(
            "member",
            member_uid(class_uid, learner),
            1,
            hub.hub_id,
            class_uid=class_uid,
            learner_uid=learner,
        ),
    ]


@pytest.fixture
def paired(tmp_path: Path, central: Central) -> Iterator[Pair]:
    """Hub A's 4A and hub B's 5B at central, paired."""
    a = FakeHub(tmp_path / "hub-a", "Mwanga").enrol()
    b = FakeHub(tmp_path / "hub-b", "Faraja").enrol()
    pair = Pair(a, b, uid(), uid(), uid())
    central.apply(a.bundle(roster=roster_of(a, pair.class_a, "4A", pair.author)))
    central.apply(b.bundle(roster=roster_of(b, pair.class_b, "5B", uid())))
    with writing():
        central_letters.pair(f"4A@{a.hub_id}", f"5B@{b.hub_id}")
    yield pair


def letter(pair: Pair, data: bytes = JPEG, **fields: Any) -> tuple[dict[str, Any], bytes]:
    record = {
        "t": "letter",
        "uid": uid(),
        "hlc": 1,
        "from_class": pair.class_a,
        "to_class": pair.class_b,
        "language": "sw",
        "text": "Habari!",
        "authors": [pair.author],
        "attachments": [
            {"sha256": hashlib.sha256(data).hexdigest(), "type": "image/jpeg", "size": len(data)}
        ],
        **fields,
    }
    return record, data


def send(central: Central, hub: FakeHub, records: list[dict[str, Any]], *blobs: bytes) -> Path:
    parts = [PartSpec("letters", "letters", records=records)]
    parts += [PartSpec(hashlib.sha256(b).hexdigest(), "blob", data=b) for b in dict.fromkeys(blobs)]
    path = hub.bundle(parts=parts, letters=1)
    central.apply(path)
    return path


def kept_aside(kind: str = "letter") -> list[str]:
    return [q.reason for q in QuarantineItem.select().where(QuarantineItem.kind == kind)]


def state_of(letter_uid: str) -> str:
    return str(CentralLetter.get_by_id(letter_uid).state)


def test_a_letter_from_the_class_s_hub_goes_on(central: Central, paired: Pair) -> None:
    record, data = letter(paired)
    send(central, paired.a, [record], data)
    assert state_of(record["uid"]) == "at_central" and kept_aside() == []


def test_a_hub_sending_for_a_class_it_does_not_hold(central: Central, paired: Pair) -> None:
    record, data = letter(paired)
    send(central, paired.b, [record], data)  # B writes as A's 4A
    assert state_of(record["uid"]) == "refused"
    assert kept_aside() == ["the hub does not hold the writing class"]


def test_a_forged_author(central: Central, paired: Pair) -> None:
    record, data = letter(paired, authors=[uid()])
    send(central, paired.a, [record], data)
    assert state_of(record["uid"]) == "refused"
    assert kept_aside() == ["an author is not a learner of the class"]


def test_a_letter_without_an_author(central: Central, paired: Pair) -> None:
    record, data = letter(paired, authors=[])
    send(central, paired.a, [record], data)
    assert state_of(record["uid"]) == "refused"
    assert kept_aside() == ["a letter names no author"]


def test_an_attachment_that_is_not_what_it_claims(central: Central, paired: Pair) -> None:
    record, data = letter(paired, data=SVG)
    send(central, paired.a, [record], data)
    assert state_of(record["uid"]) == "refused"
    assert CentralLetter.get_by_id(record["uid"]).files() == []  # nothing of it kept
    assert kept_aside() == ["an attachment is not the photo or recording it claims to be"]


def test_an_attachment_bigger_than_it_says(central: Central, paired: Pair) -> None:
    record, _ = letter(paired)
    bigger = JPEG + bytes(10)
    record["attachments"][0]["sha256"] = hashlib.sha256(bigger).hexdigest()
    send(central, paired.a, [record], bigger)
    assert kept_aside() == ["an attachment is missing from the bundle or has another size"]


def test_an_attachment_over_the_cap_refuses_the_bundle(central: Central, paired: Pair) -> None:
    big = JPEG + bytes(MAX_PHOTO_BYTES)
    record, _ = letter(paired, data=big)
    with pytest.raises((BundleError, RecordError)):
        send(central, paired.a, [record], big)
    assert CentralLetter.select().count() == 0


def test_a_forged_status(central: Central, paired: Pair) -> None:
    record, data = letter(paired)
    send(central, paired.a, [record], data)
    # The writers' hub may not say its own letter was read: only the partner's hub can.
    send(central, paired.a, [{"t": "status", "uid": record["uid"], "state": "read"}])
    assert state_of(record["uid"]) == "at_central"
    assert kept_aside("letter_status") == ["not its letter"]
    send(central, paired.b, [{"t": "status", "uid": record["uid"], "state": "read"}])
    send(central, paired.b, [{"t": "status", "uid": record["uid"], "state": "delivered"}])
    assert state_of(record["uid"]) == "read"  # never back


def test_a_replay_changes_nothing(central: Central, paired: Pair) -> None:
    record, data = letter(paired)
    path = send(central, paired.a, [record], data)
    central.apply(path)  # the same bundle again
    changed = {**record, "text": "Something else", "to_class": paired.class_a}
    send(central, paired.a, [changed], data)  # the same uid in a new bundle
    kept = CentralLetter.get_by_id(record["uid"])
    assert (kept.text, kept.to_class, kept.state) == ("Habari!", paired.class_b, "at_central")
    assert CentralLetter.select().count() == 1 and kept_aside() == []


# --- the hub's side --------------------------------------------------------------------------


@pytest.fixture
def hub_db(app: Any) -> Iterator[None]:
    with connected():
        yield


def a_letter(direction: str, state: str) -> Letter:
    return Letter.create(
        uid=uid(),
        direction=direction,
        class_uid=uid(),
        partner_class_uid=uid(),
        language="sw",
        text="Habari",
        hlc=1,
        state=state,
    )


def test_a_status_never_moves_a_letter_back_or_sideways(hub_db: None) -> None:
    read = a_letter(OUT, "read")
    waiting = a_letter(OUT, "waiting")
    for record in (
        {"t": "status", "uid": read.uid, "state": "delivered"},
        {"t": "status", "uid": waiting.uid, "state": "refused"},
    ):
        letters._take_status(record)
    assert Letter.get_by_id(read.id).state == "read"
    assert Letter.get_by_id(waiting.id).state == "waiting"  # never sent: central cannot refuse it


def test_a_declined_letter_is_still_reported_delivered(hub_db: None, data_dir: Path) -> None:
    declined = a_letter(IN, "declined")
    out = letters.outgoing(letters.store_of(data_dir))
    assert out.reports == {declined.id: "delivered"}  # else central sends it again forever


# --- personal details ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Call me on ٠٧١٢ ٣٤٥ ٦٧٨", "phone"),  # Arabic-Indic digits
        ("Piga ۰۷۱۲۳۴۵۶۷۸ tafadhali", "phone"),  # Persian digits
        ("My number is +255 712-345-678", "phone"),
        ("Write to amina.k@example.co.tz", "e-mail"),
        ("We live at 12 Uhuru Street", "street"),
        ("Nyumba yetu iko Mtaa 7", "street"),
        ("Tunaishi rua das Flores 45", "street"),
        ("P.O. Box 1234, Arusha", "street"),
    ],
)
def test_personal_details_are_found(app: Any, text: str, found: str) -> None:
    with app.test_request_context():
        warnings = letters.personal_details(text)
    assert any(found in w for w in warnings), warnings


@pytest.mark.parametrize(
    "text",
    [
        "We are 32 learners in 4A and 12 of us like football.",
        "Our school has 1200 books; 2026 is a good year.",
        "Habari za asubuhi! Tunapenda hisabati.",
    ],
)
def test_ordinary_letters_have_no_warning(app: Any, text: str) -> None:
    with app.test_request_context():
        assert letters.personal_details(text) == []
