"""Records in bundles: the compact event encoding round-trips exactly and stays small; roster
records are checked and merge last-writer-wins whatever order they arrive in."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pytest

from sync.bundle import read_bundle
from sync.hlc import pack
from sync.identity import load_or_create
from sync.records import (
    EventRow,
    RecordError,
    check_pack,
    check_roster,
    decode_events,
    encode_events,
    roster_record,
    roster_wins,
)

ROOT = Path(__file__).resolve().parent.parent
UID = "0123456789abcdef" * 2
T0 = 1_790_000_000_000


def row(seq: int, hlc: int, wall: int, type_: str = "progress", **fields) -> EventRow:
    return EventRow(seq, hlc, wall, UID, "fractions-en", "halves", type_, fields)


def test_events_round_trip_exactly() -> None:
    rows = [
        row(1, pack(T0, 0), T0, "viewed"),
        row(2, pack(T0, 1), T0, progress=0.25, time_spent=15.1, position=12.5),
        row(5, pack(T0 + 20, 0), T0 + 19, "attempt", score=2 / 3, correct={"q1": True}),
        row(6, pack(T0 + 10, 3), T0 - 5 * 365 * 86_400_000, "completed"),  # clock set back
        row(7, pack(T0 + 99, 0), T0 + 99, note="é ☃ \u2028"),
    ]
    lines = list(encode_events(rows))
    assert list(decode_events(json.loads(json.dumps(lines)))) == rows


def test_lines_are_deltas_that_are_usually_tiny() -> None:
    rows = [row(41, pack(T0, 0), T0), row(42, pack(T0 + 15_000, 0), T0 + 15_000)]
    first, second = encode_events(rows)
    assert first[:3] == [41, pack(T0, 0), 0]
    assert second[:3] == [1, 15_000 << 16, 0]
    assert second[3:] == [UID, "fractions-en", "halves", "progress", {}]


def test_plain_tuples_are_accepted() -> None:
    assert list(decode_events(encode_events([(1, 5, 0, UID, "p", "l", "viewed", {})]))) == [
        EventRow(1, 5, 0, UID, "p", "l", "viewed", {})
    ]


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ([row(2, 1, 0), row(2, 2, 0)], "Event seq 2 is not above the previous 2."),
        ([row(0, 1, 0)], "Event seq 0 is not above the previous 0."),
        ([row(1, -1, 0)], "hlc must be a non-negative integer."),
        ([row(True, 1, 0)], "seq must be a non-negative integer."),
        ([EventRow(1, 1, 0, "A" * 32, "p", "l", "viewed", {})], "learner_uid must be 32"),
        ([EventRow(1, 1, 0, UID, "", "l", "viewed", {})], "pack_id must be a string of 1 to 64"),
        ([EventRow(1, 1, 0, UID, "p", "l" * 65, "viewed", {})], "lesson_id must be a string"),
        ([EventRow(1, 1, 0, UID, "p", "l", "t" * 33, {})], "type must be a string of 1 to 32"),
        ([EventRow(1, 1, 0, UID, "p", "l", "viewed", [])], "fields must be an object."),
    ],
)
def test_bad_events_are_not_encoded(rows: list[EventRow], words: str) -> None:
    with pytest.raises(RecordError, match=words):
        list(encode_events(rows))


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ([{"seq": 1}], "Event line 1 is not an array of 8 values."),
        ([[1, 2, 3]], "Event line 1 is not an array of 8 values."),
        ([[1, 1.5, 0, UID, "p", "l", "viewed", {}]], "Event line 1: hlc is not an integer."),
        ([[1, 1, False, UID, "p", "l", "viewed", {}]], "Event line 1: wall is not an integer."),
        ([[1, 9, 0, UID, "p", "l", "v", {}], [0, 1, 0, UID, "p", "l", "v", {}]], "line 2: seq"),
        ([[1, -9, 0, UID, "p", "l", "viewed", {}]], "Event line 1: hlc must be a non-negative"),
        ([[1, 1, 0, 7, "p", "l", "viewed", {}]], "Event line 1: learner_uid must be 32"),
        ([[1, 1, 0, UID, "p", "l", "viewed", None]], "Event line 1: fields must be an object."),
    ],
)
def test_bad_lines_are_not_decoded(lines: list, words: str) -> None:
    with pytest.raises(RecordError, match=words):
        list(decode_events(lines))


# ---------------------------------------------------------------------------------- roster


def test_roster_records_carry_their_envelope_and_fields() -> None:
    record = roster_record("member", UID, 42, "central", class_uid="f" * 32, learner_uid=UID)
    assert record == {
        "t": "member",
        "uid": UID,
        "hlc": 42,
        "origin": "central",
        "deleted": False,
        "class_uid": "f" * 32,
        "learner_uid": UID,
    }


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ([], "must be an object"),
        ({"t": "pet"}, "t must be one of learner, class, member, assignment"),
        ({"t": "learner", "uid": "x"}, "uid must be 32 lower-case hex digits"),
        ({"t": "class", "uid": UID, "hlc": -1}, "hlc must be a non-negative integer"),
        ({"t": "class", "uid": UID, "hlc": 1, "origin": "Bad!"}, "origin must be a hub id"),
        ({"t": "class", "uid": UID, "hlc": 1, "origin": "central", "deleted": 0}, "deleted"),
    ],
)
def test_bad_roster_records_are_refused(record, words: str) -> None:
    with pytest.raises(RecordError, match=words):
        check_roster(record)


def test_last_writer_wins_whatever_the_arrival_order() -> None:
    versions = [
        roster_record("learner", UID, 10, "hub-a", name="Amina"),
        roster_record("learner", UID, 30, "hub-b", name="Amina K."),
        roster_record("learner", UID, 30, "central", name="Amina Kamau"),
        roster_record("learner", UID, 20, "hub-a", deleted=True),
    ]
    winners = set()
    for order in itertools.permutations(versions):
        current = None
        for record in order:
            if roster_wins(record, current):
                current = record
        winners.add(current["name"])  # type: ignore[index]
    assert winners == {"Amina K."}  # hlc 30 twice: "hub-b" > "central" breaks the tie


def test_pack_offers_are_checked() -> None:
    offer = {"pack_id": "p", "version": "1.2.0", "manifest": {}, "files": {"a.mp4": "0" * 64}}
    assert check_pack(offer) is offer
    with pytest.raises(RecordError, match="files must map each path to a sha256"):
        check_pack({**offer, "files": {"a.mp4": "abc"}})
    with pytest.raises(RecordError, match="manifest must be an object"):
        check_pack({**offer, "manifest": "pack.json"})


# ---------------------------------------------------------------------------------- budget


@pytest.fixture
def bench():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from benchlib import sync_size

        yield sync_size
    finally:
        sys.path.remove(str(ROOT / "scripts"))


def test_realistic_events_stay_under_20_bytes_each(bench, tmp_path: Path) -> None:
    events = bench.realistic_events()
    assert len(events) == 10_000
    assert len({event.learner_uid for event in events}) == 300
    keys = load_or_create(tmp_path)
    path = tmp_path / "hub.lhb"
    bench.write_events_bundle(path, keys, events)
    assert path.stat().st_size / len(events) < 20
    assert list(read_bundle(path, keys.public_key).events()) == events
