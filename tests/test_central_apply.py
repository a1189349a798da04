"""Applying hub bundles at central: idempotent, order-free, refusing what it must (issue 5,
item 6). Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import shutil

import pytest

from sync.bundle import BundleError
from sync.central.errors import CentralError
from sync.central.hubs import request_join, set_status
from sync.central.models import Event, LearnerHub, Progress, Quarantine, Stream
from tests.central_helpers import FakeHub, progress_of, totals, uid

pytest_plugins = ["tests.central_fixtures"]


@pytest.fixture
def hub(tmp_path, central):
    return FakeHub(tmp_path / "hub-a", "Hub A").enrol()


def three_bundles(hub, learner):
    """Seqs 1-4, 5-8, 9-12 of one epoch: progress, attempts and a completion."""
    events = [
        hub.event(1, learner, "l1", "viewed", {"progress": 0.1, "time_spent": 10}),
        hub.event(2, learner, "l1", "progress", {"progress": 0.6, "time_spent": 30}),
        hub.event(3, learner, "q1", "attempt", {"score": 0.25, "mastered": False}),
        hub.event(4, learner, "q1", "attempt", {"score": 0.75, "mastered": False}),
        hub.event(5, learner, "l2", "progress", {"progress": 0.3, "time_spent": 5}),
        hub.event(6, learner, "q1", "attempt", {"score": 1.0, "mastered": True}),
        hub.event(7, learner, "l1", "completed", {"time_spent": 20}),
        hub.event(8, learner, "l2", "progress", {"progress": 0.2, "time_spent": 7}),
        hub.event(9, learner, "l3", "viewed", {"time_spent": 1}),
        hub.event(10, learner, "l3", "progress", {"progress": 1.0, "time_spent": 2}),
        hub.event(11, learner, "l2", "progress", {"progress": 0.9, "time_spent": 9}),
        hub.event(12, learner, "q1", "attempt", {"score": 0.5, "mastered": False}),
    ]
    return [hub.bundle(events[0:4]), hub.bundle(events[4:8]), hub.bundle(events[8:12])]


def test_a_bundle_is_applied_and_folded(central, hub):
    learner = uid()
    first, _, _ = three_bundles(hub, learner)
    applied = central.apply(first)
    assert (applied.accepted, applied.duplicates, applied.quarantined) == (4, 0, 0)
    assert applied.high_water == 4
    rows = progress_of(learner)
    assert rows[("pack-a", "l1")]["progress"] == 0.6
    assert rows[("pack-a", "l1")]["time_spent"] == 40
    assert rows[("pack-a", "q1")]["attempts"] == 2
    assert rows[("pack-a", "q1")]["best_score"] == 0.75
    assert central.status()["events"] == 4


def test_the_same_bundle_twice_changes_nothing(central, hub):
    learner = uid()
    first, second, _ = three_bundles(hub, learner)
    central.apply(first)
    central.apply(second)
    before = totals()
    again = central.apply(second)
    assert again.replayed
    assert (again.accepted, again.duplicates) == (0, 4)
    assert totals() == before
    assert central.status()["events"] == 8


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_any_order_gives_the_same_totals(tmp_path, central, hub, order):
    learner = uid()
    bundles = three_bundles(hub, learner)
    for index in order:
        central.apply(bundles[index])
    after_all = totals()
    assert after_all["events"] == 12
    assert after_all["streams"] == [(hub.hub_id, hub.epoch, 12, 12, 12)]
    q1 = progress_of(learner)[("pack-a", "q1")]
    assert (q1["attempts"], q1["best_score"], q1["mastered"], q1["completed"]) == (
        4,
        1.0,
        True,
        True,
    )
    l2 = progress_of(learner)[("pack-a", "l2")]
    assert (l2["progress"], l2["time_spent"], l2["completed"]) == (0.9, 21, False)


def test_the_high_water_mark_waits_for_a_gap(central, hub):
    learner = uid()
    first, second, third = three_bundles(hub, learner)
    assert central.apply(first).high_water == 4
    after_gap = central.apply(third)
    assert (after_gap.high_water, after_gap.max_seq) == (4, 12)
    stream = Stream.get(Stream.hub_id == hub.hub_id)
    assert stream.missing == 4
    filled = central.apply(second)
    assert (filled.high_water, filled.max_seq) == (12, 12)
    assert Stream.get(Stream.hub_id == hub.hub_id).missing == 0


def test_a_number_the_hub_never_used_does_not_hold_the_mark_back(central, hub):
    """A bundle covers its whole seq range: a number missing inside it does not exist."""
    learner = uid()
    applied = central.apply(hub.bundle([hub.event(1, learner), hub.event(3, learner)]))
    assert (applied.accepted, applied.high_water) == (2, 3)
    later = central.apply(hub.bundle([hub.event(6, learner)], seq={"first": 4, "last": 6}))
    assert (later.high_water, later.max_seq) == (6, 6)
    assert Stream.get(Stream.hub_id == hub.hub_id).missing == 0


def test_an_old_bundle_replayed_after_newer_ones_changes_nothing(central, hub):
    learner = uid()
    bundles = three_bundles(hub, learner)
    for bundle in bundles:
        central.apply(bundle)
    before = totals()
    for bundle in (bundles[0], bundles[1], bundles[0]):
        assert central.apply(bundle).accepted == 0
    assert totals() == before


def test_a_new_epoch_is_a_new_stream_counted_from_one(central, hub):
    learner = uid()
    central.apply(hub.bundle([hub.event(1, learner), hub.event(2, learner)]))
    restored = "0123456789abcdef"
    applied = central.apply(hub.bundle([hub.event(1, learner, "l9")], epoch=restored))
    assert (applied.accepted, applied.high_water) == (1, 1)
    assert Stream.select().count() == 2
    assert central.status()["events"] == 3


def test_an_unknown_hub_is_refused_and_nothing_changes(tmp_path, central):
    stranger = FakeHub(tmp_path / "stranger", "Stranger")
    bundle = stranger.bundle([stranger.event(1, uid())])
    with pytest.raises(CentralError, match="not enrolled here"):
        central.apply(bundle)
    assert Event.select().count() == 0
    assert central.status()["hubs"] == 0


def test_a_revoked_hub_is_refused(central, hub):
    learner = uid()
    first, second, _ = three_bundles(hub, learner)
    central.apply(first)
    set_status(hub.hub_id, "revoked")
    before = totals()
    with pytest.raises(CentralError, match="was revoked"):
        central.apply(second)
    assert totals() == before


def test_a_hub_waiting_for_approval_is_refused(tmp_path, central):
    asking = FakeHub(tmp_path / "asking", "Asking")
    request_join(asking.identity(), max_waiting=10)
    with pytest.raises(CentralError, match="waiting for approval"):
        central.apply(asking.bundle([asking.event(1, uid())]))


def test_a_bundle_signed_by_another_key_is_refused(tmp_path, central, hub):
    impostor = FakeHub(tmp_path / "impostor", "Impostor")
    impostor.keys = FakeHub(tmp_path / "other", "Other").keys
    genuine = hub.bundle([hub.event(1, uid())])
    forged = impostor.bundle([impostor.event(1, uid())])
    # The forged bundle claims to be from the enrolled hub but carries another key's signature.
    forged_bytes = forged.read_bytes().replace(impostor.keys.hub_id.encode(), hub.hub_id.encode())
    target = genuine.with_name("forged.lhb")
    target.write_bytes(forged_bytes)
    with pytest.raises(BundleError):
        central.apply(target)
    assert Event.select().count() == 0


def test_a_damaged_bundle_is_refused_before_anything_is_written(central, hub):
    path = hub.bundle([hub.event(1, uid()), hub.event(2, uid())])
    data = bytearray(path.read_bytes())
    data[-2000] ^= 0x01  # inside the events part
    damaged = path.with_name("damaged.lhb")
    damaged.write_bytes(bytes(data))
    with pytest.raises(BundleError):
        central.apply(damaged)
    assert Event.select().count() == 0
    assert Stream.select().count() == 0


def test_a_reply_bundle_is_not_applied_as_a_hub_bundle(tmp_path, central, hub):
    central.apply(hub.bundle([hub.event(1, uid())]))
    _, replies = central.exchange(hub.bundle([hub.event(2, uid())]))
    with pytest.raises(CentralError, match="reply from central"):
        central.apply(replies[0].path)


def test_two_hubs_with_the_same_learner_make_one_history(tmp_path, central, hub):
    other = FakeHub(tmp_path / "hub-b", "Hub B").enrol()
    learner = uid()
    central.apply(
        hub.bundle(
            [
                hub.event(1, learner, "q1", "attempt", {"score": 0.5}),
                hub.event(2, learner, "l1", "progress", {"progress": 0.4, "time_spent": 60}),
            ]
        )
    )
    central.apply(
        other.bundle(
            [
                other.event(1, learner, "q1", "attempt", {"score": 0.9, "mastered": True}),
                other.event(2, learner, "l1", "progress", {"progress": 0.2, "time_spent": 30}),
            ]
        )
    )
    rows = progress_of(learner)
    assert len(rows) == 2
    q1, l1 = rows[("pack-a", "q1")], rows[("pack-a", "l1")]
    assert (q1["attempts"], q1["best_score"], q1["mastered"]) == (2, 0.9, True)
    assert (l1["progress"], l1["time_spent"]) == (0.4, 90)
    hubs = {row.hub_id: row.events for row in LearnerHub.select()}
    assert hubs == {hub.hub_id: 2, other.hub_id: 2}
    assert central.status()["learners"] == 1


def test_the_same_key_with_other_content_is_quarantined_and_the_original_kept(central, hub):
    learner = uid()
    original = hub.event(1, learner, "l1", "progress", {"progress": 0.5, "time_spent": 10})
    central.apply(hub.bundle([original]))
    forged = hub.event(1, learner, "l1", "completed", {"time_spent": 999})
    applied = central.apply(hub.bundle([forged]))
    assert (applied.accepted, applied.quarantined) == (0, 1)
    kept = Event.get()
    assert (kept.type, kept.fields) == ("progress", '{"progress":0.5,"time_spent":10}')
    assert progress_of(learner)[("pack-a", "l1")]["completed"] is False
    held = Quarantine.get()
    assert (held.seq, held.type) == (1, "completed")
    # The same conflicting copy again is not kept twice.
    central.apply(hub.bundle([forged]))
    assert Quarantine.select().count() == 1
    assert central.status()["quarantined"] == 1


def test_a_repeated_seq_inside_one_bundle_counts_once(central, hub):
    learner = uid()
    same = hub.event(2, learner, "q1", "attempt", {"score": 0.5})
    other = hub.event(2, learner, "q1", "attempt", {"score": 0.9})
    applied = central.apply(
        hub.bundle(event_parts=[[hub.event(1, learner), same], [same], [other]])
    )
    assert (applied.accepted, applied.duplicates, applied.quarantined) == (2, 1, 1)
    assert progress_of(learner)[("pack-a", "q1")]["attempts"] == 1
    assert progress_of(learner)[("pack-a", "q1")]["best_score"] == 0.5


@pytest.mark.parametrize("ancient_first", [True, False])
def test_a_hub_clock_set_years_back_still_merges_order_free(tmp_path, central, ancient_first):
    learner = uid()
    now_hub = FakeHub(tmp_path / "now", "Now").enrol()
    old_hub = FakeHub(tmp_path / "old", "Old", clock_ms=946_684_800_000).enrol()  # year 2000
    recent = now_hub.bundle([now_hub.event(1, learner, "q1", "attempt", {"score": 0.4})])
    ancient = old_hub.bundle(
        [
            old_hub.event(1, learner, "q1", "attempt", {"score": 0.8, "mastered": True}),
            old_hub.event(2, learner, "l1", "completed", {"time_spent": 5}),
        ]
    )
    for bundle in (ancient, recent) if ancient_first else (recent, ancient):
        central.apply(bundle)
    q1 = progress_of(learner)[("pack-a", "q1")]
    assert (q1["attempts"], q1["best_score"], q1["mastered"]) == (2, 0.8, True)
    # Ordering is by HLC: the newest stamp wins last_hlc whatever arrived last.
    assert q1["last_hlc"] == now_hub.event(1, learner).hlc
    assert progress_of(learner)[("pack-a", "l1")]["completed"] is True


def test_progress_rows_match_a_rebuild_from_the_event_log(central, hub):
    """The fold of inserted rows equals folding every stored event from scratch."""
    from sync.progress import contribution

    learner = uid()
    for bundle in three_bundles(hub, learner):
        central.apply(bundle)
    central.apply(three_bundles(hub, learner)[1])
    expected: dict = {}
    for event in Event.select():
        import json

        c = contribution(event.type, json.loads(event.fields))
        row = expected.setdefault(event.lesson_id, [0.0, 0, 0, None, 0, 0.0])
        row[0] = max(row[0], c[0])
        row[1] = max(row[1], c[1])
        row[2] = max(row[2], c[2])
        row[3] = c[3] if row[3] is None else (row[3] if c[3] is None else max(row[3], c[3]))
        row[4] += c[4]
        row[5] += c[5]
    for row in Progress.select():
        want = expected[row.lesson_id]
        got = [row.progress, row.completed, row.mastered, row.best_score, row.attempts]
        assert [*got, row.time_spent] == want


def test_damaged_copies_on_disk_do_not_reach_the_database(tmp_path, central, hub):
    path = hub.bundle([hub.event(1, uid())])
    truncated = tmp_path / "truncated.lhb"
    shutil.copy(path, truncated)
    with open(truncated, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    with pytest.raises(BundleError):
        central.apply(truncated)
    assert totals()["events"] == 0
