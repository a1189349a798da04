"""Central's side of shared packs (#18 part 1), one hostile case at a time: what goes to
quarantine, what ends as a status the hub is told, which blobs are stored, and that replays
and older records change nothing. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from sync.bundle import PartSpec
from sync.central import shared_packs
from sync.central.models import PackTarget, QuarantineItem, SharedOffer, SharedPick, now_ms
from sync.central.service import Central
from sync.hlc import pack as pack_hlc
from tests.central_helpers import NOW_MS, FakeHub
from tests.conftest import SAMPLES

pytest_plugins = ["tests.central_fixtures"]

PACK = "own-fractions"
SOURCE = SAMPLES / "fractions-en"
FILES = {
    path.relative_to(SOURCE).as_posix(): path.read_bytes()
    for path in sorted(SOURCE.rglob("*"))
    if path.is_file() and path.name != "pack.json"
}
SHAS = {path: hashlib.sha256(data).hexdigest() for path, data in FILES.items()}


def pack_json(pack_id: str = PACK, version: str = "1.0.0", **changes: Any) -> dict[str, Any]:
    manifest = json.loads((SOURCE / "pack.json").read_text())
    manifest |= {"id": pack_id, "version": version, "title": "Fractions by Neema"}
    return manifest | {"author": "Neema Mushi", "license": "CC-BY-4.0"} | changes


def offer(hub: FakeHub, hlc: int, version: str = "1.0.0", **changes: Any) -> dict[str, Any]:
    """An offer record as the hub writes it; `changes` replace its fields."""
    pack_id = changes.get("pack_id", PACK)
    record = {
        "t": "offer",
        "pack_id": pack_id,
        "version": version,
        "hlc": hlc,
        "origin": hub.hub_id,
        "withdrawn": False,
        "author": "Neema Mushi",
        "license": "CC-BY-4.0",
        "manifest": pack_json(pack_id, version),
        "files": dict(SHAS),
    }
    return record | changes


def blobs(paths: list[str] | None = None) -> list[PartSpec]:
    return [PartSpec("", "blob", data=FILES[path]) for path in paths or list(FILES)]


def send(
    central: Central, hub: FakeHub, records: list[dict[str, Any]], carried: list[PartSpec]
) -> Path:
    parts = [PartSpec("shared", "shared", records=records)] if records else []
    path = hub.bundle(parts=parts + carried)
    central.apply(path)
    return path


def stamp(offset_ms: int = 0) -> int:
    return pack_hlc(NOW_MS + offset_ms, 0)


def stored(central: Central) -> set[str]:
    return {sha for sha in SHAS.values() if central.library.store.has(sha)}


def held() -> list[str]:
    return [item.reason for item in QuarantineItem.select().where(QuarantineItem.kind == "shared")]


def offer_row(hub: FakeHub, pack_id: str = PACK) -> SharedOffer | None:
    return SharedOffer.of(hub.hub_id, pack_id)


@pytest.fixture
def hub_a(tmp_path: Path, central: Central) -> FakeHub:
    hub = FakeHub(tmp_path / "hub-a", "Mwanga School").enrol()
    hub.have = {PACK: "1.0.0"}
    return hub


@pytest.fixture
def hub_b(tmp_path: Path, central: Central) -> FakeHub:
    return FakeHub(tmp_path / "hub-b", "Faraja School").enrol()


def test_a_valid_offer_waits_for_review_with_its_files_stored(central, hub_a):
    send(central, hub_a, [offer(hub_a, stamp())], blobs())
    row = offer_row(hub_a)
    assert row is not None and (row.status, row.version, row.author) == (
        "pending",
        "1.0.0",
        "Neema Mushi",
    )
    assert row.size == sum(len(data) for data in FILES.values())
    assert stored(central) == set(SHAS.values())
    assert held() == []


@pytest.mark.parametrize(
    ("case", "changes", "have", "reason"),
    [
        ("another origin", {"origin": "f" * 16}, None, "as its origin"),
        ("not an own pack", {"pack_id": "fractions-en"}, {"fractions-en": "1.0.0"}, "own packs"),
        ("not held at that version", {}, {PACK: "0.9.0"}, "does not hold"),
        ("not held at all", {}, {}, "does not hold"),
        ("another pack's pack.json", {"manifest": pack_json("own-other")}, None, "another"),
        ("licence", {"license": "CC0-1.0"}, None, "licence"),
        ("author", {"author": "Someone Else"}, None, "author"),
        ("a day ahead", {"hlc": pack_hlc(now_ms() + 25 * 3600_000, 0)}, None, "ahead"),
    ],
)
def test_a_hostile_offer_is_kept_aside_and_changes_nothing(
    central, hub_a, case, changes, have, reason
):
    if have is not None:
        hub_a.have = have
    changes = dict(changes)  # the same dict serves both backends
    record = offer(hub_a, changes.pop("hlc", stamp()), **changes)
    send(central, hub_a, [record], blobs())
    assert SharedOffer.select().count() == 0, case
    assert stored(central) == set(), "blobs of a refused offer are never stored"
    reasons = held()
    assert len(reasons) == 1 and reason in reasons[0], reasons


def test_a_hub_offering_as_another_hub_is_kept_aside(central, hub_a, hub_b):
    send(central, hub_a, [offer(hub_a, stamp(), origin=hub_b.hub_id)], blobs())
    assert offer_row(hub_a) is None and offer_row(hub_b) is None
    assert len(held()) == 1


def test_an_id_another_school_shares_is_declined(central, hub_a, hub_b):
    send(central, hub_a, [offer(hub_a, stamp())], blobs())
    hub_b.have = {PACK: "1.0.0"}
    send(central, hub_b, [offer(hub_b, stamp())], [])
    row = offer_row(hub_b)
    assert row is not None and row.status == "declined" and PACK in row.reason
    assert offer_row(hub_a).status == "pending"  # the first school keeps its offer


def test_an_id_declined_elsewhere_never_blocks_its_first_author(central, hub_a, hub_b):
    """Bug found here: a copycat's declined offer made every later version of the author's
    own pack declined as 'taken'."""
    send(central, hub_a, [offer(hub_a, stamp())], blobs())
    shared_packs.accept(central.library, PACK, "staff")
    hub_b.have = {PACK: "1.0.0"}
    send(central, hub_b, [offer(hub_b, stamp())], [])
    assert offer_row(hub_b).status == "declined"
    hub_a.have = {PACK: "1.1.0"}
    send(central, hub_a, [offer(hub_a, stamp(1000), "1.1.0")], [])
    row = offer_row(hub_a)
    assert (row.status, row.version) == ("pending", "1.1.0"), row.reason


def test_an_id_central_publishes_itself_is_declined(central, hub_a, tmp_path):
    folder = tmp_path / "central-pack"
    folder.mkdir()
    (folder / "pack.json").write_text(json.dumps(pack_json()))
    for path, data in FILES.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    central.library.add(folder)
    send(central, hub_a, [offer(hub_a, stamp())], [])
    row = offer_row(hub_a)
    assert row is not None and row.status == "declined" and PACK in row.reason


def test_a_pack_over_the_size_cap_is_declined_and_not_stored(central, hub_a, monkeypatch):
    # 512 MiB of blobs in a test bundle would prove nothing more than a lower cap does.
    monkeypatch.setattr(shared_packs, "MAX_SHARED_BYTES", sum(map(len, FILES.values())) - 1)
    send(central, hub_a, [offer(hub_a, stamp())], blobs())
    row = offer_row(hub_a)
    assert row is not None and row.status == "declined" and "MB" in row.reason
    assert stored(central) == set()


def test_files_central_lacks_end_as_missing_until_they_come(central, hub_a):
    some = list(FILES)[:2]
    send(central, hub_a, [offer(hub_a, stamp())], blobs(some))
    row = offer_row(hub_a)
    assert row is not None and row.status == "missing"
    assert stored(central) == set(), "nothing of an incomplete offer is kept"
    send(central, hub_a, [offer(hub_a, stamp(1000))], blobs())
    assert offer_row(hub_a).status == "pending"
    assert stored(central) == set(SHAS.values())


def test_a_declined_version_sent_again_stays_declined(central, hub_a):
    send(central, hub_a, [offer(hub_a, stamp())], blobs())
    shared_packs.decline(PACK, "Lesson 2 has no pictures", "staff")
    send(central, hub_a, [offer(hub_a, stamp(1000))], [])
    row = offer_row(hub_a)
    assert (row.status, row.reason) == ("declined", "Lesson 2 has no pictures")
    assert [o["status"] for o in shared_packs.offer_status(hub_a.hub_id)] == ["declined"]


def pick(hub: FakeHub, hlc: int, deleted: bool = False) -> dict[str, Any]:
    return {"t": "pick", "pack_id": PACK, "hlc": hlc, "origin": hub.hub_id, "deleted": deleted}


def targets(hub: FakeHub) -> list[str]:
    return [t.pack_id for t in PackTarget.select().where(PackTarget.hub_id == hub.hub_id)]


def test_a_pick_of_a_pack_not_in_the_catalog_gets_nothing(central, hub_a, hub_b):
    send(central, hub_a, [offer(hub_a, stamp())], blobs())  # pending, not yet listed
    send(central, hub_b, [pick(hub_b, stamp())], [])
    assert targets(hub_b) == []
    status = shared_packs.offer_status(hub_b.hub_id)
    assert [(s["t"], s["status"]) for s in status] == [("pick", "withdrawn")]


def test_a_pick_of_a_withdrawn_pack_gets_nothing(central, hub_a, hub_b, tmp_path):
    send(central, hub_a, [offer(hub_a, stamp())], blobs())
    shared_packs.accept(central.library, PACK, "staff")
    send(central, hub_b, [pick(hub_b, stamp())], [])
    assert targets(hub_b) == [PACK]
    withdrawn = offer(hub_a, stamp(1000), withdrawn=True, manifest={}, files={}, author="")
    send(central, hub_a, [withdrawn], [])
    assert targets(hub_b) == [], "no more copies of a withdrawn pack"
    hub_c = FakeHub(tmp_path / "hub-c", "Upendo School").enrol()
    send(central, hub_c, [pick(hub_c, stamp())], [])
    assert targets(hub_c) == []
    assert targets(hub_a) == [PACK], "the author's hub keeps its own pack"


def test_a_pack_shared_again_after_withdrawal_is_reviewed_and_reaches_its_pickers(
    central, hub_a, hub_b
):
    """Bug found here: the same version shared again stayed withdrawn for good."""
    send(central, hub_a, [offer(hub_a, stamp())], blobs())
    shared_packs.accept(central.library, PACK, "staff")
    send(central, hub_b, [pick(hub_b, stamp())], [])
    withdrawn = offer(hub_a, stamp(1000), withdrawn=True, manifest={}, files={}, author="")
    send(central, hub_a, [withdrawn], [])
    send(central, hub_a, [offer(hub_a, stamp(2000))], [])  # central kept its files
    assert offer_row(hub_a).status == "pending"
    shared_packs.accept(central.library, PACK, "staff")
    assert targets(hub_b) == [PACK]


def test_blobs_without_a_valid_offer_are_never_stored(central, hub_a):
    send(central, hub_a, [], blobs())
    assert stored(central) == set()
    named = list(FILES)[:1]
    partial = offer(hub_a, stamp(), files={path: SHAS[path] for path in named})
    send(central, hub_a, [partial], blobs())
    assert stored(central) == {SHAS[named[0]]}, "only the files the offer names"


def snapshot() -> list[Any]:
    offers = [
        (o.hub_id, o.pack_id, o.version, o.hlc, o.status, o.reason, o.received)
        for o in SharedOffer.select()
    ]
    picks = [(p.hub_id, p.pack_id, p.hlc, p.deleted) for p in SharedPick.select()]
    return [*sorted(offers), *sorted(picks), *sorted(held())]


def test_a_replayed_or_older_offer_changes_nothing(central, hub_a, hub_b):
    first = send(central, hub_a, [offer(hub_a, stamp(1000))], blobs())
    hostile = send(central, hub_b, [offer(hub_b, stamp(), origin=hub_a.hub_id)], blobs())
    send(central, hub_b, [pick(hub_b, stamp(2000))], [])
    before = snapshot()
    central.apply(first)
    central.apply(hostile)
    assert snapshot() == before
    send(central, hub_a, [offer(hub_a, stamp(), withdrawn=True)], [])  # older than held
    send(central, hub_b, [pick(hub_b, stamp(1000), deleted=True)], [])
    assert snapshot() == before
