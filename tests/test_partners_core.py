"""Finding a partner class through central (issue #18 part 2): the records' checks, and
central applying seek, propose and answer records from real signed bundles of fake hubs,
honest and hostile, on SQLite and PostgreSQL; and the hub's side of the records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.core.db import connected
from hub.learning import partners
from hub.learning.partner_models import IN, PartnerListing, PartnerProposal, PartnerSeek
from hub.people.roster import add_class
from sync.bundle import BundleError, PartSpec
from sync.central import letters as central_letters
from sync.central.db import writing
from sync.central.letter_models import ClassPair
from sync.central.letter_models import PartnerProposal as CentralProposal
from sync.central.letter_models import PartnerSeek as CentralSeek
from sync.central.models import Hub, QuarantineItem
from sync.central.service import Central
from sync.letters import MAX_DIRECTORY, MAX_NOTE, LetterError, check_letters_record
from sync.records import RecordError, roster_record
from tests.central_helpers import FakeHub, uid
from tests.test_central_cli import enrol
from tests.test_central_cli import run as run

pytest_plugins = ["tests.central_fixtures"]


@dataclass
class Two:
    a: FakeHub
    b: FakeHub
    class_a: str  # 4A on hub A
    other_a: str  # 4B on hub A
    class_b: str  # 5B on hub B


def classes(hub: FakeHub, **named: str) -> list[dict[str, Any]]:
    return [roster_record("class", u, 1, hub.hub_id, name=name) for name, u in named.items()]


@pytest.fixture
def two(tmp_path: Path, central: Central) -> Iterator[Two]:
    a = FakeHub(tmp_path / "hub-a", "Mwanga").enrol()
    b = FakeHub(tmp_path / "hub-b", "Faraja").enrol()
    two = Two(a, b, uid(), uid(), uid())
    central.apply(a.bundle(roster=classes(a, **{"4A": two.class_a, "4B": two.other_a})))
    central.apply(b.bundle(roster=classes(b, **{"5B": two.class_b})))
    yield two


def send(central: Central, hub: FakeHub, *records: dict[str, Any]) -> Path:
    path = hub.bundle(parts=[PartSpec("letters", "letters", records=list(records))], letters=2)
    central.apply(path)
    return path


def seek(class_uid: str, hlc: int = 10, active: bool = True, **fields: Any) -> dict[str, Any]:
    record = {"t": "seek", "class_uid": class_uid, "hlc": hlc, "active": active}
    return {**record, "languages": ["sw", "en"], "grade": "Grade 4", "note": "Hello", **fields}


def propose(one: str, other: str, **fields: Any) -> dict[str, Any]:
    return {"t": "propose", "uid": uid(), "hlc": 20, "from_class": one, "to_class": other, **fields}


def kept_aside() -> list[str]:
    return [q.reason for q in QuarantineItem.select().order_by(QuarantineItem.id)]


def reply_to(hub: FakeHub) -> list[dict[str, Any]]:
    records, _, _ = central_letters.reply_records(hub.hub_id, 2)
    return records


def directory_of(hub: FakeHub) -> list[str]:
    [found] = [r for r in reply_to(hub) if r["t"] == "directory"]
    return [entry["class_uid"] for entry in found["entries"]]


def proposal_state(record: dict[str, Any]) -> str:
    return str(CentralProposal.get_by_id(record["uid"]).state)


# --- the records' checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        seek(uid(), note="x" * (MAX_NOTE + 1)),
        seek(uid(), grade="g" * 61),
        seek(uid(), languages=["sw"] * 6),
        seek(uid(), languages=["<script>"]),
        {**seek(uid()), "active": "yes"},
        seek("not-a-uid"),
        propose(uid(), uid(), note="x" * (MAX_NOTE + 1)),
        propose(uid(), uid(), hlc=-1),
        {"t": "answer", "uid": uid(), "accept": "yes"},
        {"t": "directory", "entries": [{"class_uid": uid()}] * (MAX_DIRECTORY + 1)},
        {
            "t": "directory",
            "entries": [{"class_uid": uid(), "class": "x" * 201, "hub": "", "region": ""}],
        },
        {"t": "proposal", "uid": uid(), "from_class": uid(), "to_class": uid(), "state": "won"},
    ],
)
def test_malformed_records_are_refused_in_one_sentence(record: dict[str, Any]) -> None:
    with pytest.raises(LetterError) as refused:
        check_letters_record(record)
    assert "\n" not in str(refused.value) and str(refused.value).endswith(".")


def test_an_oversized_note_refuses_the_whole_bundle(central: Central, two: Two) -> None:
    with pytest.raises((BundleError, RecordError)):
        send(central, two.a, seek(two.class_a, note="x" * (MAX_NOTE + 1)))
    assert CentralSeek.select().count() == 0


# --- central applies them ---------------------------------------------------------------------


def test_a_class_looking_is_listed_to_other_hubs_only(central: Central, two: Two) -> None:
    send(central, two.a, seek(two.class_a))
    assert directory_of(two.b) == [two.class_a]
    assert [r for r in reply_to(two.a) if r["t"] == "directory"] == []  # nothing else looks
    [entry] = next(r for r in reply_to(two.b) if r["t"] == "directory")["entries"]
    assert (entry["class"], entry["hub"], entry["languages"]) == ("4A", "Mwanga", ["sw", "en"])
    assert entry["grade"] == "Grade 4" and entry["note"] == "Hello"
    send(central, two.a, seek(two.class_a, hlc=11, active=False))
    assert directory_of(two.b) == []  # withdrawn: the hub hears an empty directory


def test_the_directory_is_bounded_and_newest_first(central: Central, two: Two) -> None:
    many = [uid() for _ in range(MAX_DIRECTORY + 3)]
    central.apply(two.a.bundle(roster=classes(two.a, **{f"c{n}": u for n, u in enumerate(many)})))
    for n, class_uid in enumerate(many):
        send(central, two.a, seek(class_uid))
        CentralSeek.update(received=1000 + n).where(CentralSeek.class_uid == class_uid).execute()
    assert directory_of(two.b) == list(reversed(many))[:MAX_DIRECTORY]


def test_a_replayed_or_older_seek_changes_nothing(central: Central, two: Two) -> None:
    path = send(central, two.a, seek(two.class_a, hlc=10, note="first"))
    send(central, two.a, seek(two.class_a, hlc=12, active=False))
    central.apply(path)  # the same bundle again
    send(central, two.a, seek(two.class_a, hlc=11, note="older"))
    kept = CentralSeek.get_by_id(two.class_a)
    assert (kept.active, kept.hlc) == (0, 12) and kept_aside() == []


def test_a_hub_listing_a_class_it_does_not_hold(central: Central, two: Two) -> None:
    send(central, two.b, seek(two.class_a))  # B speaks for A's 4A
    assert CentralSeek.select().count() == 0
    assert kept_aside() == ["the hub does not hold the class"]


def test_a_proposal_goes_to_the_listed_class_s_hub_and_an_accept_pairs(
    central: Central, two: Two
) -> None:
    send(central, two.a, seek(two.class_a))
    offer = propose(two.class_b, two.class_a, note="We like football")
    send(central, two.b, offer)
    assert proposal_state(offer) == "proposed"
    [to_a] = [r for r in reply_to(two.a) if r["t"] == "proposal"]
    assert (to_a["from_name"], to_a["from_hub"], to_a["note"]) == (
        "5B",
        "Faraja",
        "We like football",
    )
    [to_b] = [r for r in reply_to(two.b) if r["t"] == "proposal"]
    assert to_b["state"] == "proposed" and to_b["to_name"] == "4A"
    answer = {"t": "answer", "uid": offer["uid"], "accept": True}
    path = send(central, two.a, answer)
    assert proposal_state(offer) == "paired"
    pairing = ClassPair.between(two.class_a, two.class_b)
    assert pairing is not None and {pairing.hub_a, pairing.hub_b} == {two.a.hub_id, two.b.hub_id}
    for hub in (two.a, two.b):  # both hubs hear the pairing as staff pairing sends it
        assert [r["state"] for r in reply_to(hub) if r["t"] == "pair"] == ["active"]
    central.apply(path)  # a replay
    send(central, two.a, {**answer, "accept": False})  # and a change of mind: too late
    assert proposal_state(offer) == "paired" and ClassPair.select().count() == 1
    assert kept_aside() == []


def test_a_declined_proposal_pairs_nothing(central: Central, two: Two) -> None:
    send(central, two.a, seek(two.class_a))
    offer = propose(two.class_b, two.class_a)
    send(central, two.b, offer)
    send(central, two.a, {"t": "answer", "uid": offer["uid"], "accept": False})
    assert proposal_state(offer) == "declined" and ClassPair.select().count() == 0
    [to_b] = [r for r in reply_to(two.b) if r["t"] == "proposal"]
    assert to_b["state"] == "declined"


def test_a_hub_proposing_for_a_class_it_does_not_hold(central: Central, two: Two) -> None:
    send(central, two.b, seek(two.class_b))
    offer = propose(two.class_a, two.class_b)
    send(central, two.b, offer)  # B proposes as A's 4A, to itself in effect
    assert proposal_state(offer) == "refused"
    assert kept_aside() == ["the hub does not hold the proposing class"]
    assert [r for r in reply_to(two.a) if r["t"] == "proposal"] == []


def test_a_proposal_to_a_class_not_looking(central: Central, two: Two) -> None:
    offer = propose(two.class_b, two.class_a)
    send(central, two.b, offer)
    assert proposal_state(offer) == "refused"
    assert kept_aside() == ["the class proposed to is not looking for a partner"]
    assert [r for r in reply_to(two.a) if r["t"] == "proposal"] == []
    [back] = [r for r in reply_to(two.b) if r["t"] == "proposal"]
    assert back["state"] == "refused"  # the proposing coach reads why in words


@pytest.mark.parametrize("to_itself", [True, False])
def test_a_class_proposing_to_itself_or_its_own_hub(
    central: Central, two: Two, to_itself: bool
) -> None:
    send(central, two.a, seek(two.class_a))
    offer = propose(two.class_a if to_itself else two.other_a, two.class_a)
    send(central, two.a, offer)
    assert proposal_state(offer) == "refused" and ClassPair.select().count() == 0
    assert kept_aside() == ["a class cannot be partner to a class of its own hub"]


def test_a_proposal_to_a_class_already_its_partner(central: Central, two: Two) -> None:
    with writing():
        central_letters.pair(f"4A@{two.a.hub_id}", f"5B@{two.b.hub_id}")
    send(central, two.a, seek(two.class_a))
    offer = propose(two.class_b, two.class_a)
    send(central, two.b, offer)
    assert proposal_state(offer) == "refused"
    assert kept_aside() == ["the classes are already partners"]


def test_a_second_open_proposal_between_the_same_classes(central: Central, two: Two) -> None:
    send(central, two.a, seek(two.class_a))
    first, second = propose(two.class_b, two.class_a), propose(two.class_b, two.class_a)
    send(central, two.b, first, second)
    assert (proposal_state(first), proposal_state(second)) == ("proposed", "refused")


def test_a_replayed_proposal_keeps_the_first(central: Central, two: Two) -> None:
    send(central, two.a, seek(two.class_a))
    offer = propose(two.class_b, two.class_a, note="first")
    path = send(central, two.b, offer)
    central.apply(path)
    send(central, two.b, {**offer, "note": "changed", "from_class": two.class_a})
    kept = CentralProposal.get_by_id(offer["uid"])
    assert (kept.note, kept.from_class, kept.state) == ("first", two.class_b, "proposed")
    assert CentralProposal.select().count() == 1 and kept_aside() == []


def test_a_hub_answering_a_proposal_not_to_its_class(
    central: Central, two: Two, tmp_path: Path
) -> None:
    c = FakeHub(tmp_path / "hub-c", "Upendo").enrol()
    send(central, two.a, seek(two.class_a))
    offer = propose(two.class_b, two.class_a)
    send(central, two.b, offer)
    send(central, c, {"t": "answer", "uid": offer["uid"], "accept": True})  # a stranger
    send(central, two.b, {"t": "answer", "uid": offer["uid"], "accept": True})  # the proposer
    send(central, two.a, {"t": "answer", "uid": uid(), "accept": True})  # no such proposal
    assert proposal_state(offer) == "proposed" and ClassPair.select().count() == 0
    assert kept_aside() == ["not a proposal to a class of the hub"] * 3


def test_records_only_central_writes_are_kept_aside(central: Central, two: Two) -> None:
    forged = {"t": "directory", "entries": []}
    send(central, two.a, forged)
    assert kept_aside() == ["a record only central writes"]


def test_an_older_hub_hears_no_directory(central: Central, two: Two) -> None:
    send(central, two.a, seek(two.class_a))
    central.apply(two.b.bundle(letters=1))
    hub = Hub.by_id(two.b.hub_id)
    assert hub is not None and hub.reads_letters == 1
    records, _, _ = central_letters.reply_records(two.b.hub_id, 1)
    assert [r for r in records if r["t"] in ("directory", "proposal")] == []


# --- the hub's side --------------------------------------------------------------------------


@pytest.fixture
def hub_db(app: Any) -> Iterator[None]:
    with app.test_request_context(), connected():
        yield


def listing(class_uid: str) -> dict[str, Any]:
    entry = {"class_uid": class_uid, "class": "5B", "hub": "Faraja", "region": "Coast"}
    return {**entry, "languages": ["sw"], "grade": "Grade 5", "note": "Hi"}


def test_the_hub_sends_a_seek_once_and_again_when_it_changes(hub_db: None) -> None:
    group = add_class("4A")
    partners.seek(group, "sw, en", "Grade 4", "We like maths")
    sent = partners.outgoing()
    assert [r["t"] for r in sent.records] == ["seek"] and sent.records[0]["languages"] == [
        "sw",
        "en",
    ]
    partners.bundled(sent)
    assert partners.outgoing().records == []
    partners.withdraw(group.uid)
    [again] = partners.outgoing().records
    assert again["active"] is False and again["hlc"] > sent.records[0]["hlc"]


@pytest.mark.parametrize(
    ("languages", "grade", "note"),
    [("", "g", "n"), ("sw en fr pt ar es", "g", "n"), ("<b>", "g", "n"), ("sw", "g" * 61, "")],
)
def test_a_coach_s_bad_seek_is_one_sentence(
    hub_db: None, languages: str, grade: str, note: str
) -> None:
    with pytest.raises(LetterError) as refused:
        partners.seek(add_class("4A"), languages, grade, note)
    assert "\n" not in str(refused.value)
    assert PartnerSeek.select().count() == 0


def test_a_proposal_needs_a_listed_class_and_only_once(hub_db: None) -> None:
    group = add_class("5B")
    other = uid()
    with pytest.raises(LetterError):
        partners.propose(group, other)  # not in the directory
    partners.take_directory({"t": "directory", "entries": [listing(other)]})
    with pytest.raises(LetterError):
        partners.propose(group, other, "x" * (MAX_NOTE + 1))
    made = partners.propose(group, other, "Hello")
    assert partners.status_words(made) == "goes with the next sync"
    with pytest.raises(LetterError):
        partners.propose(group, other)
    sent = partners.outgoing()
    assert [r["t"] for r in sent.records] == ["propose"]
    partners.bundled(sent)
    assert partners.status_words(PartnerProposal.get_by_id(made.uid)) == (
        "proposed, waiting for the other coach"
    )


def test_the_directory_is_replaced_and_never_lists_the_hub_s_own_class(hub_db: None) -> None:
    own = add_class("4A")
    first, second = uid(), uid()
    partners.take_directory({"t": "directory", "entries": [listing(first), listing(own.uid)]})
    assert [e.class_uid for e in PartnerListing.ordered()] == [first]
    partners.take_directory({"t": "directory", "entries": [listing(second)]})
    assert [e.class_uid for e in PartnerListing.ordered()] == [second]


def test_an_incoming_proposal_is_answered_once_and_never_moves_back(hub_db: None) -> None:
    group = add_class("4A")
    partners.seek(group, "sw", "", "")
    record = {
        "t": "proposal",
        "uid": uid(),
        "from_class": uid(),
        "from_name": "5B",
        "from_hub": "Faraja",
        "region": "Coast",
        "to_class": group.uid,
        "to_name": "4A",
        "to_hub": "Mwanga",
        "note": "Hello",
        "state": "proposed",
    }
    partners.take_proposal(record)
    partners.take_proposal({**record, "to_class": uid(), "uid": uid()})  # not this hub's
    [incoming] = PartnerProposal.select()
    assert incoming.direction == IN and partners.status_words(incoming) == "waiting for your answer"
    partners.answer(incoming, accept=True)
    with pytest.raises(LetterError):
        partners.answer(PartnerProposal.get_by_id(incoming.uid), accept=False)
    sent = partners.outgoing()
    assert {"t": "answer", "uid": record["uid"], "accept": True} in sent.records
    assert PartnerSeek.get_by_id(group.uid).active == 0  # a class that accepts stops looking
    partners.take_proposal({**record, "state": "paired"})
    partners.take_proposal({**record, "state": "proposed"})  # an older reply
    assert partners.status_words(PartnerProposal.get_by_id(record["uid"])) == "paired"


# --- central's command line ------------------------------------------------------------------


def test_staff_list_pair_and_end_with_the_command_line(tmp_path: Path, run: Any) -> None:
    """`learnhub central pair` still pairs; `pairs` lists what coaches and staff agreed."""
    stick = tmp_path / "stick" / "learnhub-sync"
    a, b = enrol(tmp_path, run, "Mwanga"), enrol(tmp_path, run, "Faraja")
    class_a, class_b = uid(), uid()
    a.bundle(roster=classes(a, **{"4A": class_a, "4C": uid()}), out=stick)
    b.bundle(roster=classes(b, **{"5B": class_b}), out=stick)
    offer = propose(class_b, class_a)
    answer = {"t": "answer", "uid": offer["uid"], "accept": True}
    # One stick each, in turn: a folder's bundles of two hubs go in no set order.
    for n, (hub, record) in enumerate(((a, seek(class_a)), (b, offer), (a, answer))):
        folder = stick if n == 0 else tmp_path / f"later-{n}" / "learnhub-sync"
        hub.bundle(parts=[PartSpec("letters", "letters", records=[record])], out=folder, letters=2)
        assert run("import", str(folder.parent)).exit_code == 0
    made = run("pair", f"4C@{a.hub_id}", f"5B@{b.hub_id}")
    assert made.exit_code == 0, made.output
    listed = json.loads(run("pairs", "--json").output)
    assert {frozenset((p["one"], p["other"])) for p in listed} == {
        frozenset(("4A@Mwanga", "5B@Faraja")),
        frozenset(("4C@Mwanga", "5B@Faraja")),
    }
    assert run("unpair", listed[0]["uid"]).exit_code == 0
    assert "ended" in run("pairs").output
    refused = run("pair", f"4A@{a.hub_id}", f"4C@{a.hub_id}")
    assert refused.exit_code == 1 and "two different hubs" in refused.output


# --- withdrawing a proposal ------------------------------------------------------------------


def withdraw(record: dict[str, Any]) -> dict[str, Any]:
    return {"t": "withdraw", "uid": record["uid"]}


def proposed_to_a(central: Central, two: Two) -> dict[str, Any]:
    """B's 5B proposes to A's 4A, which looks; the proposal as B sent it."""
    send(central, two.a, seek(two.class_a))
    offer = propose(two.class_b, two.class_a)
    send(central, two.b, offer)
    return offer


def states_told(hub: FakeHub) -> list[str]:
    return [r["state"] for r in reply_to(hub) if r["t"] == "proposal"]


@pytest.mark.parametrize("record", [{"t": "withdraw"}, {"t": "withdraw", "uid": "x" * 32}])
def test_a_malformed_withdrawal_is_refused(record: dict[str, Any]) -> None:
    with pytest.raises(LetterError):
        check_letters_record(record)


def test_a_withdrawn_proposal_closes_and_both_hubs_hear_it(central: Central, two: Two) -> None:
    offer = proposed_to_a(central, two)
    path = send(central, two.b, withdraw(offer))
    assert proposal_state(offer) == "withdrawn"
    assert states_told(two.a) == states_told(two.b) == ["withdrawn"]
    central.apply(path)  # a replay
    send(central, two.b, withdraw(offer))  # said twice
    send(central, two.a, {"t": "answer", "uid": offer["uid"], "accept": True})  # too late
    assert proposal_state(offer) == "withdrawn" and ClassPair.select().count() == 0
    assert kept_aside() == []
    again = propose(two.class_b, two.class_a)  # the coach changes their mind once more
    send(central, two.b, again)
    assert proposal_state(again) == "proposed"


def test_a_withdrawal_and_a_new_proposal_in_one_bundle(central: Central, two: Two) -> None:
    offer = proposed_to_a(central, two)
    again = propose(two.class_b, two.class_a, note="Second thoughts")
    send(central, two.b, withdraw(offer), again)
    assert (proposal_state(offer), proposal_state(again)) == ("withdrawn", "proposed")


@pytest.mark.parametrize("accept", [True, False])
def test_a_decided_proposal_is_not_withdrawn(central: Central, two: Two, accept: bool) -> None:
    offer = proposed_to_a(central, two)
    send(central, two.a, {"t": "answer", "uid": offer["uid"], "accept": accept})
    send(central, two.b, withdraw(offer))  # crossed with the answer: the answer stands
    assert proposal_state(offer) == ("paired" if accept else "declined")
    assert ClassPair.select().count() == (1 if accept else 0) and kept_aside() == []


def test_a_refused_proposal_stays_refused(central: Central, two: Two) -> None:
    offer = propose(two.class_b, two.class_a)  # 4A is not looking
    send(central, two.b, offer)
    send(central, two.b, withdraw(offer))
    assert proposal_state(offer) == "refused"
    assert kept_aside() == ["the class proposed to is not looking for a partner"]


def test_only_the_proposing_hub_withdraws(central: Central, two: Two, tmp_path: Path) -> None:
    c = FakeHub(tmp_path / "hub-c", "Upendo").enrol()
    offer = proposed_to_a(central, two)
    send(central, two.a, withdraw(offer))  # the class proposed to: it declines, never withdraws
    send(central, c, withdraw(offer))  # a stranger
    send(central, two.b, {"t": "withdraw", "uid": uid()})  # no such proposal
    assert proposal_state(offer) == "proposed"
    assert kept_aside() == ["not a proposal from a class of the hub"] * 3
    send(central, two.a, {"t": "answer", "uid": offer["uid"], "accept": True})
    assert proposal_state(offer) == "paired"


def test_the_hub_withdraws_a_proposal_that_left(hub_db: None) -> None:
    group, listed = add_class("5B"), uid()
    partners.take_directory({"t": "directory", "entries": [listing(listed)]})
    made = partners.propose(group, listed, "Hello")
    sent = partners.outgoing()  # the bundle is being written when the coach withdraws
    partners.withdraw_proposal(PartnerProposal.get_by_id(made.uid))
    partners.bundled(sent)
    kept = PartnerProposal.get_by_id(made.uid)
    assert partners.status_words(kept) == "withdrawn, central hears it with the next sync"
    assert not partners.may_withdraw(kept)
    with pytest.raises(LetterError):
        partners.withdraw_proposal(kept)
    again = partners.propose(group, listed, "Once more")  # a fresh proposal may follow
    following = partners.outgoing()
    assert [(r["t"], r["uid"]) for r in following.records] == [
        ("withdraw", made.uid),
        ("propose", again.uid),
    ]
    partners.bundled(following)
    assert partners.outgoing().records == []  # each went once
    assert partners.status_words(PartnerProposal.get_by_id(made.uid)) == "withdrawn"
    partners.take_proposal({**central_view(made, group.uid), "state": "withdrawn"})
    assert partners.status_words(PartnerProposal.get_by_id(made.uid)) == "withdrawn"


def test_a_proposal_withdrawn_before_it_left_never_travels(hub_db: None) -> None:
    group, listed = add_class("5B"), uid()
    partners.take_directory({"t": "directory", "entries": [listing(listed)]})
    made = partners.propose(group, listed)
    partners.withdraw_proposal(made)
    assert partners.outgoing().records == []
    assert partners.status_words(PartnerProposal.get_by_id(made.uid)) == "withdrawn"


def test_an_answered_proposal_comes_too_late_to_withdraw(hub_db: None) -> None:
    group, listed = add_class("5B"), uid()
    partners.take_directory({"t": "directory", "entries": [listing(listed)]})
    offer = partners.propose(group, listed)
    partners.bundled(partners.outgoing())
    partners.take_proposal({**central_view(offer, group.uid), "state": "paired"})
    with pytest.raises(LetterError) as refused:
        partners.withdraw_proposal(PartnerProposal.get_by_id(offer.uid))
    assert "no longer open" in str(refused.value)
    assert partners.outgoing().records == []


def test_the_other_coach_s_withdrawal_closes_an_incoming_proposal(hub_db: None) -> None:
    group = add_class("4A")
    record = {
        "t": "proposal",
        "uid": uid(),
        "from_class": uid(),
        "from_name": "5B",
        "from_hub": "Faraja",
        "to_class": group.uid,
        "state": "proposed",
    }
    partners.take_proposal(record)
    partners.take_proposal({**record, "state": "withdrawn"})
    incoming = PartnerProposal.get_by_id(record["uid"])
    assert partners.status_words(incoming) == "withdrawn by the other coach"
    assert not partners.waiting_for_answer(incoming) and not partners.may_withdraw(incoming)
    with pytest.raises(LetterError):
        partners.answer(incoming, accept=True)
    with pytest.raises(LetterError):
        partners.withdraw_proposal(incoming)  # not this coach's proposal to take back


def central_view(proposal: PartnerProposal, class_uid: str) -> dict[str, Any]:
    """A proposal record central sends back to the proposing hub."""
    return {
        "t": "proposal",
        "uid": proposal.uid,
        "from_class": class_uid,
        "to_class": proposal.partner_class_uid,
        "state": "proposed",
    }
