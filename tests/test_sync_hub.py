"""The hub's side of sync: migration 4, the roster change log, epochs, export, receipts, and
replies from central (signature, roster last-writer-wins, content packs)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from flask import Flask

from hub.cli.common import prepare_data_dir
from hub.core.db import connected, db
from hub.core.migrations import MIGRATIONS
from hub.core.settings import Config
from hub.hubsync.models import HubState, Receipt, RosterChange, SentBundle, SyncEpoch
from hub.hubsync.roster import member_uid
from hub.hubsync.service import SyncError, SyncService
from hub.learning.events import Event, EventLog
from hub.library.models import Pack, PackFile
from hub.people.models import Assignment, ClassGroup, ClassMember, Learner
from hub.people.roster import add_class, add_learner, delete_class, remove_member, rename_class
from hub.web.app import create_app
from sync.bundle import BundleError, read_bundle
from sync.hlc import COUNTER_BITS
from tests.content_helpers import sample_files, sample_manifest, write_pack_dir
from tests.sync_hub_helpers import (
    central_id,
    central_record,
    events_of,
    learner,
    manifest_of,
    new_keys,
    receipt,
    record,
    service_of,
    sha,
    write_reply,
)

UID = "0123456789abcdef0123456789abcdef"


def assign(group: ClassGroup, pack_id: str, *, lesson_id: str, by: str) -> Assignment:
    return Assignment.create(
        class_group=group, pack_id=pack_id, lesson_id=lesson_id, assigned_by=by
    )


def unassign(group: ClassGroup, assignment_id: int) -> None:
    Assignment.delete().where(Assignment.id == assignment_id).execute()


@pytest.fixture
def service(app: Flask) -> SyncService:
    return service_of(app)


@pytest.fixture
def central(service: SyncService):
    keys = new_keys()
    service.pin_central(keys.public_key, central_id(keys))
    return keys


def hub_keys(app: Flask):
    return app.extensions["keys"]


def state() -> HubState:
    with connected():
        return HubState.get_state()


def outbox_files(service: SyncService) -> set[str]:
    return {p.name for p in service.outbox.glob("*.lhb")}


# --- migration 4 and the roster log ------------------------------------------------------


def test_migration_gives_existing_rows_a_uid_and_logs_later_changes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    for _, _, apply in MIGRATIONS[:3]:
        db.init(str(path))
        with db.connection_context():
            apply(db)
    old.execute(
        "INSERT INTO learner (username, display_name, language, created_at) "
        "VALUES ('amina', 'Amina', '', 'x')"
    )
    old.execute("INSERT INTO class_group (name, created_at) VALUES ('4A', 'x')")
    old.commit()
    old.close()
    db.init(str(path))
    with db.connection_context():
        MIGRATIONS[3][2](db)
        uids = [
            row[0]
            for row in db.execute_sql(
                "SELECT uid FROM learner UNION ALL SELECT uid FROM class_group"
            )
        ]
        assert len(uids) == 2 and all(len(uid) == 32 for uid in uids)
        assert db.execute_sql("SELECT COUNT(*) FROM roster_change").fetchone()[0] == 0
        db.execute_sql("UPDATE learner SET display_name = 'Amina J'")
        db.execute_sql(
            "INSERT INTO learner (username, display_name, created_at) VALUES "
            "('raw', 'Raw SQL', 'x')"
        )
        changes = db.execute_sql("SELECT kind, uid FROM roster_change ORDER BY id").fetchall()
    assert changes[0] == ("learner", uids[0])
    assert changes[1][0] == "learner" and len(changes[1][1]) == 32  # a uid made by the trigger


def test_every_roster_change_is_logged_with_increasing_hlcs(app: Flask) -> None:
    with connected():
        group = add_class("4A")
        amina = add_learner("Amina", classes=[group])
        rename_class(group, "4B")
        assignment = assign(group, "fractions-en", lesson_id="halves", by="coach")
        unassign(group, assignment.id)
        remove_member(group, amina)
        group.add_learner(amina)
        group.add_learner(amina)  # already a member: no change, no log
        delete_class(group)  # its membership goes with it: not a change of its own
        changes = list(RosterChange.select().order_by(RosterChange.id))
        learner_row = Learner.get_by_id(amina.id)
    kinds = [(c.kind, bool(c.deleted)) for c in changes]
    assert kinds == [
        ("class", False),
        ("learner", False),
        ("member", False),
        ("class", False),
        ("assignment", False),
        ("assignment", True),
        ("member", True),
        ("member", False),
        ("class", True),
    ]
    stamps = [c.hlc for c in changes]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert learner_row.hlc == changes[1].hlc
    assert changes[2].uid == f"{group.uid}:{amina.uid}"


def test_a_clock_set_back_still_stamps_roster_changes_after_the_last_one(app: Flask) -> None:
    future = (4_000_000_000_000 << COUNTER_BITS) + 7  # stamps from a clock far ahead
    with connected():
        HubState.put(roster_hlc=future)
        add_class("4A")
        logged = RosterChange.select().order_by(RosterChange.id.desc()).first()
    assert logged.hlc == future + 1


# --- epochs --------------------------------------------------------------------------------


def test_first_start_makes_one_epoch_and_a_token_file(app: Flask, service: SyncService) -> None:
    epoch = service.ensure_epoch()
    assert epoch == state().epoch and len(epoch) == 16
    assert service.ensure_epoch() == epoch  # a restart keeps it
    assert service.epoch_file.is_file()
    with connected():
        assert [e.reason for e in SyncEpoch.ordered()] == ["first start"]


def copy_database(config: Config, dest: Path) -> None:
    """What an operator's backup is: the database file, taken while the hub is stopped."""
    assert db.is_closed()
    assert not config.db_path.with_name(config.db_path.name + "-wal").exists()
    shutil.copyfile(config.db_path, dest)


def test_restored_database_starts_a_new_epoch_and_reuses_no_key(config: Config) -> None:
    app = create_app(prepare_data_dir(config))
    amina = learner()
    record(app, amina, 3)
    backup = config.data_dir.parent / "backup.db"
    copy_database(config, backup)
    record(app, amina, 2, lesson="quarters")
    first = service_of(app).export()
    old = {(b.name, e.seq): e for b in first.waiting for e in events_of(b, hub_keys(app))}
    old_epoch = state().epoch
    assert sorted(seq for _, seq in old) == [1, 2, 3, 4, 5]

    shutil.copyfile(backup, config.db_path)  # the operator restores yesterday's copy
    app = create_app(prepare_data_dir(config))
    new_epoch = state().epoch
    assert new_epoch != old_epoch
    with connected():
        reasons = [e.reason for e in SyncEpoch.ordered()]
        assert "restored" in reasons[-1]
        assert SyncEpoch.get_by_id(new_epoch).base_seq == 3
    record(app, amina, 2, lesson="thirds")  # local seq 4 and 5 again, with other content
    second = service_of(app).export()
    keys = hub_keys(app)
    sent = {}
    for path in second.waiting:
        manifest = manifest_of(path, keys)
        for event in events_of(path, keys):
            sent[(manifest["epoch"], event.seq)] = event
    earlier = {(old_epoch, seq): event for (_, seq), event in old.items()}
    for key, event in sent.items():
        assert key not in earlier or earlier[key] == event, f"{key} sent with other content"
    assert {(new_epoch, 1), (new_epoch, 2)} <= set(sent)
    assert {event.lesson_id for (epoch, _), event in sent.items() if epoch == new_epoch} == {
        "thirds"
    }


def test_a_receipt_beyond_what_the_database_holds_starts_a_new_epoch(
    app: Flask, service: SyncService, central
) -> None:
    record(app, learner(), 2)
    epoch = state().epoch
    reply = write_reply(
        service.config.data_dir / "in",
        central,
        service.hub_id,
        epoch,
        receipts=[receipt(service.hub_id, epoch, 9)],
    )
    result = service.apply_reply(reply)
    assert result.new_epoch and result.new_epoch == state().epoch != epoch
    record(app, learner("Baraka"), 1)
    export = service.export()
    newest = manifest_of(export.waiting[-1], hub_keys(app))
    assert newest["epoch"] == result.new_epoch and newest["seq"] == {"first": 1, "last": 1}


# --- export and receipts -------------------------------------------------------------------


def test_export_writes_only_what_is_not_receipted(
    app: Flask, service: SyncService, central, tmp_path: Path
) -> None:
    amina = learner()
    record(app, amina, 5)
    stick = tmp_path / "stick"
    stick.mkdir()
    first = service.export(stick)
    assert first.events == 5 and len(first.copied) == 1
    assert (stick / "learnhub-sync" / first.created[0]).is_file()
    again = service.export(stick)  # nothing new: the same bundle is offered again
    assert again.created == [] and [p.name for p in again.waiting] == first.created
    epoch = state().epoch
    bundle_id = read_bundle(first.waiting[0], hub_keys(app).public_key).bundle_id
    reply = write_reply(
        tmp_path / "in",
        central,
        service.hub_id,
        epoch,
        receipts=[receipt(service.hub_id, epoch, 5, [bundle_id])],
    )
    service.apply_reply(reply)
    assert outbox_files(service) == set()
    record(app, amina, 3)
    third = service.export()
    assert [e.seq for e in events_of(third.waiting[0], hub_keys(app))] == [6, 7, 8]
    assert manifest_of(third.waiting[0], hub_keys(app))["previous"] is not None


def test_after_a_receipt_export_starts_after_the_high_water_mark(
    app: Flask, service: SyncService, central, tmp_path: Path
) -> None:
    amina = learner()
    record(app, amina, 4)
    epoch = state().epoch
    # Central already holds 1..6 (it was sent before this copy of the bundles was lost).
    with connected():
        Receipt.record(epoch, 6, [])
    record(app, amina, 4)  # local seq 5..8
    export = service.export()
    assert [e.seq for e in events_of(export.waiting[0], hub_keys(app))] == [7, 8]


def test_the_hub_deletes_nothing_it_has_no_durable_receipt_for(
    app: Flask, service: SyncService, central, tmp_path: Path
) -> None:
    amina = learner()
    record(app, amina, 4)
    with connected():
        add_class("4A")  # a roster change rides along
    events_bundle = service.export(ensure_one=False).created
    epoch = state().epoch
    keys = hub_keys(app)
    [path] = [service.outbox / name for name in events_bundle]
    bundle_id = read_bundle(path, keys.public_key).bundle_id

    def reply_with(*receipts):
        return write_reply(tmp_path / "in", central, service.hub_id, epoch, receipts=list(receipts))

    service.apply_reply(reply_with(receipt(service.hub_id, epoch, 3)))  # a gap at 4
    assert path.is_file()
    service.apply_reply(reply_with(receipt(service.hub_id, "f" * 16, 99)))  # another epoch
    assert path.is_file()
    # Events covered, but central does not say it applied this bundle: the roster in it
    # may not have arrived.
    service.apply_reply(reply_with(receipt(service.hub_id, epoch, 4)))
    assert path.is_file()
    forged = write_reply(
        tmp_path / "forged",
        new_keys(),
        service.hub_id,
        epoch,
        receipts=[receipt(service.hub_id, epoch, 4, [bundle_id])],
    )
    with pytest.raises(BundleError, match="signature"):
        service.apply_reply(forged)
    assert path.is_file()
    service.apply_reply(reply_with(receipt(service.hub_id, epoch, 4, [bundle_id])))
    assert not path.is_file()
    with connected():
        assert Event.select().count() == 4  # the event log itself is never trimmed
        assert SentBundle.get_by_id(bundle_id).receipted_at is not None


def test_bundles_carry_increasing_hlcs_when_the_clock_is_set_years_back(
    app: Flask, service: SyncService, monkeypatch: pytest.MonkeyPatch
) -> None:
    amina = learner()
    record(app, amina, 3)
    years_ago = 1_500_000_000_000  # 2017: the Pi restarted without a real-time clock
    monkeypatch.setattr("hub.learning.events.wall_millis", lambda: years_ago)
    with connected():
        app.extensions["events"] = EventLog.start(now=lambda: years_ago)
    record(app, amina, 3)
    export = service.export()
    events = events_of(export.waiting[0], hub_keys(app))
    stamps = [event.hlc for event in events]
    assert stamps == sorted(stamps) and len(set(stamps)) == 6
    assert events[-1].wall < events[0].wall  # the wall clock did go back
    manifest = manifest_of(export.waiting[0], hub_keys(app))
    assert manifest["hlc"] == {"first": stamps[0], "last": stamps[-1]}


def test_roster_changes_travel_up_as_last_writer_wins_records(
    app: Flask, service: SyncService
) -> None:
    with connected():
        group = add_class("4A")
        amina = add_learner("Amina", pin="2580", classes=[group])
        assignment = assign(group, "fractions-en", lesson_id="halves", by="coach")
        assignment_uid = Assignment.get_by_id(assignment.id).uid
    export = service.export()
    bundle = read_bundle(export.waiting[0], hub_keys(app).public_key)
    records = {r["t"]: r for r in bundle.records("roster")}
    assert records["learner"]["uid"] == amina.uid and records["learner"]["name"] == "Amina"
    assert records["learner"]["origin"] == service.hub_id
    assert records["class"] == {**records["class"], "name": "4A", "deleted": False}
    assert records["member"]["uid"] == member_uid(group.uid, amina.uid)
    assert records["assignment"]["lesson_id"] == "halves"
    assert records["assignment"]["uid"] == assignment_uid
    with connected():
        rename_class(group, "4B")
    newer = service.export(ensure_one=False)
    bundle = read_bundle(newer.waiting[-1], hub_keys(app).public_key)
    [renamed] = list(bundle.records("roster"))
    assert renamed["name"] == "4B" and renamed["hlc"] > records["class"]["hlc"]


# --- replies -------------------------------------------------------------------------------


def test_a_reply_not_signed_by_the_pinned_central_key_is_refused(
    app: Flask, service: SyncService, central, tmp_path: Path
) -> None:
    epoch = state().epoch
    stranger = new_keys()
    roster = [central_record("class", UID, 1 << 40, name="Sneaky")]
    reply = write_reply(tmp_path, stranger, service.hub_id, epoch, roster=roster)
    with pytest.raises(BundleError, match="signature does not match") as caught:
        service.apply_reply(reply)
    assert "\n" not in str(caught.value)
    with connected():
        assert not ClassGroup.select().where(ClassGroup.uid == UID).exists()


def test_without_a_pinned_key_no_reply_is_applied(
    app: Flask, service: SyncService, tmp_path: Path
) -> None:
    reply = write_reply(tmp_path, new_keys(), service.hub_id, state().epoch)
    with pytest.raises(SyncError, match="does not know central's key"):
        service.apply_reply(reply)


def test_import_picks_this_hubs_replies_and_leaves_others(
    app: Flask, service: SyncService, central, tmp_path: Path
) -> None:
    stick = tmp_path / "stick" / "learnhub-sync"
    epoch = state().epoch
    roster = [central_record("class", UID, 1 << 40, name="From central")]
    mine = write_reply(stick, central, service.hub_id, epoch, roster=roster)
    other = write_reply(stick, central, "otherhub0000000000aa", epoch)
    (stick / "junk.lhb").write_bytes(b"not a bundle")
    results = service.import_path(tmp_path / "stick")
    assert [r.path for r in results] == [mine]
    assert other.is_file()
    with connected():
        assert ClassGroup.get(ClassGroup.uid == UID).name == "From central"
    (tmp_path / "empty-stick").mkdir()
    with pytest.raises(SyncError, match="No reply from central for this hub"):
        service.import_path(tmp_path / "empty-stick")


def test_roster_last_writer_wins(app: Flask, service: SyncService, central, tmp_path: Path) -> None:
    epoch = state().epoch
    base = 1 << 40

    def send(*records):
        service.apply_reply(
            write_reply(tmp_path, central, service.hub_id, epoch, roster=list(records))
        )

    send(
        central_record("learner", UID, base + 10, name="Neema", username="neema"),
        central_record("class", "c" * 32, base + 10, name="5A"),
        central_record("member", "d" * 32, base + 10, class_uid="c" * 32, learner_uid=UID),
    )
    with connected():
        neema = Learner.get(Learner.uid == UID)
        assert neema.display_name == "Neema" and neema.hlc == base + 10
        assert [g.name for g in neema.classes()] == ["5A"]
        assert RosterChange.select().where(RosterChange.origin == "").count() == 0
    send(central_record("learner", UID, base + 5, name="Older name"))
    with connected():
        assert Learner.get(Learner.uid == UID).display_name == "Neema"
        # A change made here after seeing central's is stamped after it and wins.
        neema = Learner.get(Learner.uid == UID)
        neema.display_name = "Neema K"
        neema.save()
        local = RosterChange.latest("learner", UID)
    assert local.origin == "" and local.hlc > base + 10
    send(central_record("learner", UID, local.hlc - 1, name="Stale from central"))
    with connected():
        assert Learner.get(Learner.uid == UID).display_name == "Neema K"
    send(central_record("learner", UID, local.hlc + 1, name="Newer from central"))
    send(
        central_record(
            "member", "d" * 32, base + 20, class_uid="c" * 32, learner_uid=UID, deleted=True
        )
    )
    with connected():
        neema = Learner.get(Learner.uid == UID)
        assert neema.display_name == "Newer from central"
        assert not ClassMember.select().where(ClassMember.learner == neema).exists()
    # A membership central made keeps central's uid when the hub changes it.
    with connected():
        ClassGroup.get(ClassGroup.uid == "c" * 32).add_learner(neema)
    export = service.export(ensure_one=False)
    records = list(read_bundle(export.waiting[-1], hub_keys(app).public_key).records("roster"))
    assert [(r["t"], r["uid"]) for r in records if r["t"] == "member"] == [("member", "d" * 32)]


def test_a_reply_pack_with_only_the_missing_files_installs_atomically(
    app: Flask, service: SyncService, central, tmp_path: Path
) -> None:
    library = app.extensions["library"]
    first = sample_files()  # once: its app zip's bytes carry a timestamp
    library.import_pack(write_pack_dir(tmp_path / "v1", sample_manifest(), first))
    files = dict(first)
    files["halves/index.html"] = b"<!doctype html><p>Halves, revised.</p>"
    manifest = sample_manifest(version="1.1.0")
    shas = {path: sha(data) for path, data in files.items()}
    with connected():
        before = PackFile.all_shas()
    missing = [files["halves/index.html"]]
    assert sha(missing[0]) not in before
    record = {"pack_id": "fractions-en", "version": "1.1.0", "manifest": manifest, "files": shas}
    epoch = state().epoch
    reply = write_reply(
        tmp_path / "r", central, service.hub_id, epoch, packs=[record], blobs=missing
    )
    result = service.apply_reply(reply)
    assert [(p.pack_id, p.action) for p in result.packs] == [("fractions-en", "upgraded")], [
        p.error for p in result.packs
    ]
    with connected():
        assert Pack.by_id("fractions-en").version == "1.1.0"
        assert PackFile.find("fractions-en", "halves/index.html").sha256 == sha(missing[0])

    # Version 1.2.0 needs a file that neither the reply nor the hub has: nothing changes.
    files["check-1.json"] = b'{"broken": true}'
    absent = {**shas, "extra.txt": sha(b"never sent")}
    record = {
        "pack_id": "fractions-en",
        "version": "1.2.0",
        "manifest": sample_manifest(version="1.2.0"),
        "files": absent,
    }
    blobs_before = set(library.store.shas())
    reply = write_reply(tmp_path / "r2", central, service.hub_id, epoch, packs=[record])
    result = service.apply_reply(reply)
    [outcome] = result.packs
    assert outcome.action == "refused" and "extra.txt" in outcome.error
    with connected():
        assert Pack.by_id("fractions-en").version == "1.1.0"
    assert set(library.store.shas()) == blobs_before
    assert not list(library.config.staging_dir.glob("sync-*"))


def test_a_reply_pack_that_fails_validation_changes_nothing(
    app: Flask, service: SyncService, central, tmp_path: Path
) -> None:
    files = sample_files()
    files["check-1.json"] = b'{"mastery": "broken"}'
    record = {
        "pack_id": "fractions-en",
        "version": "1.0.0",
        "manifest": sample_manifest(),
        "files": {path: sha(data) for path, data in files.items()},
    }
    reply = write_reply(
        tmp_path, central, service.hub_id, state().epoch, packs=[record], blobs=list(files.values())
    )
    [outcome] = service.apply_reply(reply).packs
    assert outcome.action == "refused" and "check-1.json" in outcome.error
    with connected():
        assert Pack.by_id("fractions-en") is None
    assert list(app.extensions["library"].store.shas()) == []


def test_a_reply_pack_cannot_write_outside_its_folder(
    app: Flask, service: SyncService, central, tmp_path: Path
) -> None:
    record = {
        "pack_id": "fractions-en",
        "version": "1.0.0",
        "manifest": sample_manifest(),
        "files": {"../../escape.txt": sha(b"x")},
    }
    reply = write_reply(
        tmp_path, central, service.hub_id, state().epoch, packs=[record], blobs=[b"x"]
    )
    [outcome] = service.apply_reply(reply).packs
    assert outcome.action == "refused" and "climbs out" in outcome.error
    assert not (service.config.data_dir / "escape.txt").exists()


def test_a_reply_pack_whose_manifest_is_another_pack_is_refused(
    app: Flask, service: SyncService, central, tmp_path: Path
) -> None:
    files = sample_files()
    record = {
        "pack_id": "other-pack",
        "version": "1.0.0",
        "manifest": sample_manifest(),
        "files": {path: sha(data) for path, data in files.items()},
    }
    reply = write_reply(
        tmp_path, central, service.hub_id, state().epoch, packs=[record], blobs=list(files.values())
    )
    [outcome] = service.apply_reply(reply).packs
    assert outcome.action == "refused" and "another pack" in outcome.error
    with connected():
        assert Pack.select().count() == 0
