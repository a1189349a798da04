"""What central sends back: signed receipts, roster changes, packs with only missing blobs,
and the replies a USB import writes next to the hubs' bundles. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import copy

import pytest

from sync.bundle import BundleError, peek, read_bundle
from sync.central import roster
from sync.central.db import writing
from sync.central.models import Hub, Roster
from sync.central.roster import member_uid
from sync.identity import parse_identity
from sync.receipts import verify_receipt
from sync.records import roster_record
from tests.central_helpers import FakeHub, uid
from tests.content_helpers import sample_files, sample_manifest, write_pack_dir

pytest_plugins = ["tests.central_fixtures"]


@pytest.fixture
def hub(tmp_path, central):
    return FakeHub(tmp_path / "hub-a", "Hub A").enrol()


def central_key(central):
    _, key, _ = parse_identity(central.identity())
    return key


def reply_of(central, hub, events=None, **extra):
    """Upload-style exchange: apply one bundle, read the reply it gets back."""
    applied, replies = central.exchange(hub.bundle(events or [], **extra))
    assert len(replies) >= 1
    return applied, [read_bundle(r.path, central_key(central)) for r in replies]


def records(bundle, type_):
    return [rec for part in bundle.parts_of_type(type_) for rec in bundle.records(part["name"])]


# ------------------------------------------------------------------------- receipts


def test_the_receipt_is_signed_by_central_and_verifiable(central, hub):
    learner = uid()
    applied, (reply,) = reply_of(central, hub, [hub.event(1, learner), hub.event(2, learner)])
    assert reply.manifest["sender"] == central.central_id
    assert reply.manifest["recipient"] == hub.hub_id
    (receipt,) = records(reply, "receipt")
    assert verify_receipt(central_key(central), receipt)
    assert receipt["hub_id"] == hub.hub_id
    assert receipt["epoch"] == hub.epoch
    assert (receipt["high_water"], receipt["max_seq"]) == (2, 2)
    assert receipt["bundles"][0] == applied.bundle_id
    assert (receipt["accepted"], receipt["duplicates"], receipt["quarantined"]) == (2, 0, 0)


def test_a_changed_receipt_or_another_key_does_not_verify(tmp_path, central, hub):
    _, (reply,) = reply_of(central, hub, [hub.event(1, uid())])
    (receipt,) = records(reply, "receipt")
    forged = dict(receipt, high_water=999)
    assert not verify_receipt(central_key(central), forged)
    assert not verify_receipt(FakeHub(tmp_path / "x").keys.public_key, receipt)
    assert not verify_receipt(central_key(central), dict(receipt, signature="!!"))
    assert not verify_receipt(central_key(central), "not a receipt")


def test_a_reply_does_not_verify_with_another_key(tmp_path, central, hub):
    _, replies = central.exchange(hub.bundle([hub.event(1, uid())]))
    with pytest.raises(BundleError, match="signature"):
        read_bundle(replies[0].path, FakeHub(tmp_path / "other").keys.public_key)


def test_the_receipt_waits_for_a_gap(central, hub):
    learner = uid()
    central.apply(hub.bundle([hub.event(1, learner)]))
    _, (reply,) = reply_of(central, hub, [hub.event(3, learner)])
    (receipt,) = records(reply, "receipt")
    assert (receipt["high_water"], receipt["max_seq"]) == (1, 3)


def test_replies_to_one_hub_are_chained(central, hub):
    _, first = central.exchange(hub.bundle([hub.event(1, uid())]))
    _, second = central.exchange(hub.bundle([hub.event(2, uid())]))
    assert peek(first[0].path)["previous"] is None
    assert peek(second[0].path)["previous"] == first[0].bundle_id


# --------------------------------------------------------------------------- roster


def test_roster_changes_made_at_central_travel_to_their_hub(tmp_path, central, hub):
    other = FakeHub(tmp_path / "hub-b", "Hub B").enrol()
    with writing():
        group = roster.create("class", name="Grade 4")
        amina = roster.create("learner", name="Amina", language="sw")
        roster.create_member(group["uid"], amina["uid"])
        roster.send_to("class", group["uid"], hub.hub_id)
    _, (reply,) = reply_of(central, hub, [hub.event(1, uid())])
    sent = records(reply, "roster")
    assert [r["t"] for r in sent] == ["learner", "class", "member"]
    assert {r["uid"] for r in sent} >= {group["uid"], amina["uid"]}
    member = sent[2]
    assert member["uid"] == member_uid(group["uid"], amina["uid"])
    assert (member["class_uid"], member["learner_uid"]) == (group["uid"], amina["uid"])
    assert all(r["origin"] == "central" for r in sent)
    # Another hub was not given the class.
    _, (elsewhere,) = reply_of(central, other, [other.event(1, uid())])
    assert records(elsewhere, "roster") == []


def test_acknowledged_roster_changes_are_not_sent_again(central, hub):
    with writing():
        learner = roster.create("learner", name="Baraka")
        roster.send_to("learner", learner["uid"], hub.hub_id)
    _, (first,) = reply_of(central, hub, [hub.event(1, uid())])
    assert len(records(first, "roster")) == 1
    # Not acknowledged yet: sent again (LWW makes that harmless at the hub).
    _, (again,) = reply_of(central, hub, [hub.event(2, uid())])
    assert len(records(again, "roster")) == 1
    hub.acked = again.bundle_id
    _, (after_ack,) = reply_of(central, hub, [hub.event(3, uid())])
    assert records(after_ack, "roster") == []
    with writing():
        roster.update("learner", learner["uid"], name="Baraka Juma")
    _, (renamed,) = reply_of(central, hub, [hub.event(4, uid())])
    assert [r["name"] for r in records(renamed, "roster")] == ["Baraka Juma"]


def test_roster_from_hubs_is_last_writer_wins_whatever_the_order(tmp_path, central, hub):
    other = FakeHub(tmp_path / "hub-b", "Hub B").enrol()
    learner = uid()
    with writing():  # central sends the learner to both hubs: both may change it
        roster.send_to("learner", learner, hub.hub_id)
        roster.send_to("learner", learner, other.hub_id)
    old = roster_record("learner", learner, 100, hub.hub_id, name="Old name")
    new = roster_record("learner", learner, 200, other.hub_id, name="New name")
    central.apply(other.bundle(roster=[new]))
    applied = central.apply(hub.bundle(roster=[old]))
    assert applied.roster_applied == 0
    assert Roster.find("learner", learner).name == "New name"


def test_a_roster_tie_is_broken_by_origin_in_any_order(tmp_path, central, hub):
    other = FakeHub(tmp_path / "hub-b", "Hub B").enrol()
    winner = "From A" if hub.hub_id > other.hub_id else "From B"
    for first_a in (True, False):
        learner = uid()
        with writing():  # central sends the learner to both hubs: both may change it
            roster.send_to("learner", learner, hub.hub_id)
            roster.send_to("learner", learner, other.hub_id)
        from_a = roster_record("learner", learner, 300, hub.hub_id, name="From A")
        from_b = roster_record("learner", learner, 300, other.hub_id, name="From B")
        pairs = [(hub, from_a), (other, from_b)]
        for sender, record in pairs if first_a else reversed(pairs):
            central.apply(sender.bundle(roster=[record]))
        assert Roster.find("learner", learner).name == winner


def test_a_hub_cannot_write_records_in_another_origin_s_name(central, hub):
    forged = roster_record("learner", uid(), 10**12, "central", name="Forged")
    applied = central.apply(hub.bundle(roster=[forged]))
    assert (applied.roster_applied, applied.roster_refused) == (0, 1)
    assert Roster.select().count() == 0


def test_the_hub_s_own_records_are_not_echoed_back(central, hub):
    learner = uid()
    with writing():
        roster.send_to("learner", learner, hub.hub_id)
    own = roster_record("learner", learner, 100, hub.hub_id, name="Mine")
    _, (reply,) = reply_of(central, hub, roster=[own])
    assert records(reply, "roster") == []


# ---------------------------------------------------------------------------- packs


# Built once: the sample app's zip stamps the time, so two builds may differ by a second.
SAMPLE_FILES = sample_files()


def add_pack(tmp_path, central, version="1.0.0", files=None, name="pack"):
    manifest = sample_manifest(version=version)
    folder = write_pack_dir(tmp_path / f"{name}-{version}", manifest, files or SAMPLE_FILES)
    return central.library.add(folder)


def test_an_assigned_pack_travels_with_all_its_blobs_to_a_hub_without_it(tmp_path, central, hub):
    add_pack(tmp_path, central)
    central.library.assign("fractions-en", hub.hub_id)
    _, (reply,) = reply_of(central, hub, [hub.event(1, uid())])
    (offered,) = records(reply, "packs")
    assert (offered["pack_id"], offered["version"]) == ("fractions-en", "1.0.0")
    assert offered["manifest"]["title"] == "Fractions"
    blobs = {entry["name"] for entry in reply.parts_of_type("blob")}
    assert blobs == set(offered["files"].values())
    page = offered["files"]["halves/index.html"]
    assert reply.blob(page) == SAMPLE_FILES["halves/index.html"]


def test_an_upgrade_carries_only_the_blobs_the_hub_lacks(tmp_path, central, hub):
    add_pack(tmp_path, central, "1.0.0")
    files = dict(SAMPLE_FILES)
    files["halves/index.html"] = b"<!doctype html><h1>Halves, new edition</h1>"
    add_pack(tmp_path, central, "1.1.0", files)
    central.library.assign("fractions-en", hub.hub_id)
    hub.have = {"fractions-en": "1.0.0"}
    _, (reply,) = reply_of(central, hub, [hub.event(1, uid())])
    (offered,) = records(reply, "packs")
    assert offered["version"] == "1.1.0"
    blobs = [entry["name"] for entry in reply.parts_of_type("blob")]
    assert blobs == [offered["files"]["halves/index.html"]]


def test_a_hub_that_has_the_newest_version_gets_no_pack(tmp_path, central, hub):
    add_pack(tmp_path, central, "1.0.0")
    central.library.assign("fractions-en", hub.hub_id)
    hub.have = {"fractions-en": "1.0.0"}
    _, (reply,) = reply_of(central, hub, [hub.event(1, uid())])
    assert records(reply, "packs") == []
    assert reply.parts_of_type("blob") == []


def test_an_old_bundle_replayed_late_does_not_forget_what_the_hub_has(tmp_path, central, hub):
    add_pack(tmp_path, central, "1.0.0")
    central.library.assign("fractions-en", hub.hub_id)
    stale = hub.bundle([hub.event(1, uid())])  # made before the pack was installed
    hub.clock_ms += 60_000
    hub.have = {"fractions-en": "1.0.0"}
    central.apply(hub.bundle([hub.event(2, uid())]))
    central.apply(stale)
    assert Hub.by_id(hub.hub_id).installed() == {"fractions-en": "1.0.0"}


def test_packs_too_large_for_one_manifest_are_split_over_replies(tmp_path, central, hub):
    from sync.central import replies

    add_pack(tmp_path, central, "1.0.0")
    second = copy.deepcopy(sample_manifest(id="fractions-two"))
    central.library.add(write_pack_dir(tmp_path / "two", second, SAMPLE_FILES))
    central.library.assign("fractions-en", hub.hub_id)
    central.library.assign("fractions-two", hub.hub_id)
    budget = replies.MANIFEST_BUDGET
    replies.MANIFEST_BUDGET = 2500
    try:
        _, bundles = reply_of(central, hub, [hub.event(1, uid())])
    finally:
        replies.MANIFEST_BUDGET = budget
    assert len(bundles) == 2
    assert [len(records(b, "receipt")) for b in bundles] == [1, 0]
    assert [[p["pack_id"] for p in records(b, "packs")] for b in bundles] == [
        ["fractions-en"],
        ["fractions-two"],
    ]
    assert bundles[1].manifest["previous"] == bundles[0].bundle_id


# ------------------------------------------------------------------------------ USB


def test_a_usb_import_writes_each_hub_s_reply_next_to_its_bundles(tmp_path, central, hub):
    other = FakeHub(tmp_path / "hub-b", "Hub B").enrol()
    stick = tmp_path / "stick" / "learnhub-sync"
    learner = uid()
    hub.bundle([hub.event(1, learner)], out=stick)
    hub.bundle([hub.event(2, learner)], out=stick)
    other.bundle([other.event(1, learner)], out=stick)
    outcomes, written = central.import_path(tmp_path / "stick")
    assert [o.error for o in outcomes] == [None, None, None]
    assert sorted(r.path.parent for r in written) == [stick, stick]
    recipients = sorted(peek(r.path)["recipient"] for r in written)
    assert recipients == sorted([hub.hub_id, other.hub_id])
    assert central.status()["events"] == 3
    # A second run applies nothing new and leaves one current reply per hub.
    outcomes, again = central.import_path(tmp_path / "stick")
    assert sum(o.applied.accepted for o in outcomes) == 0
    replies_now = [p for p in stick.glob("central-*.lhb")]
    assert sorted(replies_now) == sorted(r.path for r in again)


def test_a_usb_import_reports_a_refused_bundle_and_applies_the_rest(tmp_path, central, hub):
    stranger = FakeHub(tmp_path / "stranger", "Stranger")
    stick = tmp_path / "stick"
    hub.bundle([hub.event(1, uid())], out=stick)
    stranger.bundle([stranger.event(1, uid())], out=stick)
    outcomes, written = central.import_path(stick)
    errors = sorted(o.error or "" for o in outcomes)
    assert errors[0] == ""
    assert "not enrolled" in errors[1]
    assert len(written) == 1
    assert central.status()["events"] == 1


def test_the_central_identity_is_a_key_a_hub_can_pin(central):
    doc = central.identity()
    hub_id, key, _ = parse_identity(doc)
    assert doc["central_id"] == f"central-{hub_id}"
    assert base64.b64decode(doc["public_key"]) == key


def test_old_reply_files_are_pruned_but_their_ids_still_acknowledge(central, hub):
    from sync.central.models import Reply

    written = [central.exchange(hub.bundle([hub.event(n, uid())]))[1][0] for n in range(1, 6)]
    assert all(r.path.exists() for r in written)  # all younger than an hour
    Reply.update(created=Reply.created - 2 * 3600 * 1000).execute()
    central.prune_replies(hub.hub_id)
    assert [r.path.exists() for r in written] == [False, False, True, True, True]
    hub.acked = written[0].bundle_id
    applied = central.apply(hub.bundle([hub.event(6, uid())]))
    assert applied.accepted == 1
    assert (
        Hub.by_id(hub.hub_id).roster_acked
        == Reply.get(Reply.bundle_id == written[0].bundle_id).roster_upto
    )
