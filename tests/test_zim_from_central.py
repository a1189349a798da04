"""ZIM files sent by central to the hubs assigned them (#15 part 5): central checks and keeps
the file, a reply names it, and the hub fetches it through the signed GET on a real
`learnhub central serve` (SQLite and PostgreSQL), paced by its bandwidth cap, resuming its
part across syncs, and installs it only whole and checked."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from hub.core.db import connected
from hub.hubsync.bandwidth import Bandwidth, DailyLimitReached
from hub.hubsync.models import HubState
from hub.hubsync.push import push
from hub.hubsync.service import SyncService
from hub.hubsync.zims import REFUSED_FILE
from hub.library.models import ZimArchive
from sync.bundle import BundleError, read_bundle
from sync.central.db import connected as central_connected
from sync.central.db import writing
from sync.central.hubs import enrol
from sync.central.models import ZimRelease
from sync.central.service import Central
from sync.records import MAX_ZIM_BYTES, RecordError, check_zim
from tests.central_helpers import CentralServer, FakeHub, http_call
from tests.sync_hub_helpers import service_of
from tests.zim_helpers import Entry, ZimSpec, default_entries, flip_byte, make_zim

pytest_plugins = ["tests.central_fixtures"]
pytestmark = pytest.mark.server

PAYLOAD = 400_000  # bytes of incompressible content: the ZIM spans several days of a cap


def big_zim(where: Path, date: str = "2024-01-01") -> Path:
    entries = {
        **default_entries(),
        "media/noise.bin": Entry(
            "application/octet-stream", random.Random(7).randbytes(PAYLOAD), compress=False
        ),
    }
    return make_zim(where, ZimSpec(name="noise_en_all", date=date, entries=entries))


class OpenCentral:
    """Central's database, opened in this process for a moment (the server runs beside)."""

    def __init__(self, data: Path, url: str | None) -> None:
        self.service = Central.open(data, url)
        self.opened = central_connected()

    def __enter__(self) -> Central:
        self.opened.__enter__()
        return self.service

    def __exit__(self, *exc: object) -> None:
        self.opened.__exit__(*exc)
        self.service.close()


@pytest.fixture
def service(app: Flask) -> SyncService:
    return service_of(app)


@pytest.fixture
def central_data(tmp_path: Path, central_url: str | None, service: SyncService) -> Path:
    """Central with the ZIM added, the hub enrolled and the ZIM assigned to it."""
    data = tmp_path / "central"
    with OpenCentral(data, central_url) as central:
        [added] = central.zims.add_paths([big_zim(tmp_path / "src" / "noise.zim")])
        assert added.new and added.name == "noise_en_all"
        enrol(service.identity())
        central.zims.assign("noise_en_all", service.hub_id)
    return data


@pytest.fixture
def server(central_data: Path, central_url: str | None) -> Iterator[CentralServer]:
    running = CentralServer(central_data, central_url)
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


def installed() -> list[tuple[str, str]]:
    with connected():
        return [(z.name, z.uuid) for z in ZimArchive.select()]


def release(data: Path, url: str | None) -> dict[str, Any]:
    with OpenCentral(data, url):
        [found] = ZimRelease.select()
        return {"uuid": found.uuid, "size": found.size, "file": data / "zims" / found.file}


def change_release(data: Path, url: str | None, **values: Any) -> None:
    with OpenCentral(data, url), writing():
        ZimRelease.update(**values).execute()


def test_an_assigned_zim_reaches_the_hub_on_its_next_sync(
    service: SyncService, server: CentralServer, central_data: Path, central_url: str | None
) -> None:
    held = release(central_data, central_url)
    result = push(service, server.url, bandwidth=Bandwidth())
    assert [(z.name, z.action) for z in result.zims] == [("noise_en_all", "installed")]
    assert result.zims[0].received == held["size"]
    assert installed() == [("noise_en_all", held["uuid"])]
    assert list(service.inbox.glob("zim-*")) == []  # nothing left half-written
    # The next bundle says the hub has it: the reply names it no more.
    again = push(service, server.url, bandwidth=Bandwidth())
    assert again.zims == [] and again.reply is not None and again.reply.zims == []


def test_a_cut_download_resumes_from_its_part(
    service: SyncService, server: CentralServer, central_data: Path, central_url: str | None
) -> None:
    held = release(central_data, central_url)
    folder = service.inbox / f"zim-{held['uuid']}"
    folder.mkdir(parents=True)
    data = held["file"].read_bytes()
    (folder / "noise_en_all.zim.part").write_bytes(data[: len(data) // 2])  # cut at half
    result = push(service, server.url, bandwidth=Bandwidth())
    assert result.zims[0].action == "installed"
    assert result.zims[0].received == len(data) - len(data) // 2  # only the rest came


def test_a_cap_smaller_than_the_file_spreads_it_over_days(
    service: SyncService, server: CentralServer, central_data: Path, central_url: str | None
) -> None:
    size = release(central_data, central_url)["size"]
    cap = 150_000
    day = ["2030-01-01"]
    zim_bytes, days = 0, 0
    while not installed():
        days += 1
        assert days < 8, "the ZIM never arrived"
        allowance = Bandwidth(per_day=cap, today=lambda: day[0])
        try:
            result = push(service, server.url, bandwidth=allowance)
            zim_bytes += sum(z.received for z in result.zims)
        except DailyLimitReached:
            part = next(service.inbox.glob("zim-*/*.part"))
            zim_bytes = part.stat().st_size  # what arrived is kept for tomorrow
        assert allowance.used <= cap
        day[0] = f"2030-01-0{days + 1}"
    assert days >= 3  # 400 kB under a 150 kB cap cannot arrive sooner
    assert zim_bytes == size  # resumed each day: no byte came twice


def test_a_damaged_file_at_central_is_refused_and_not_fetched_again(
    service: SyncService, server: CentralServer, central_data: Path, central_url: str | None
) -> None:
    held = release(central_data, central_url)
    flip_byte(held["file"], held["size"] // 2)
    result = push(service, server.url, bandwidth=Bandwidth())
    [outcome] = result.zims
    assert outcome.action == "refused"
    assert outcome.error is not None and "checksum" in outcome.error
    assert outcome.error.endswith("nothing was changed.")
    assert installed() == [] and list(service.inbox.glob("zim-*")) == []
    with connected():
        assert HubState.get_state().last_error == outcome.error
    assert held["uuid"] in json.loads((service.inbox / REFUSED_FILE).read_text())
    again = push(service, server.url, bandwidth=Bandwidth())
    assert again.zims[0].action == "refused" and again.zims[0].received == 0


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"size_delta": 1000}, "announced"),  # central's reply lies about the size
        ({"md5": "0" * 32}, "not the ZIM its reply named"),
    ],
)
def test_a_lying_record_is_refused_with_nothing_half_written(
    service: SyncService,
    central_data: Path,
    central_url: str | None,
    change: dict[str, Any],
    words: str,
) -> None:
    held = release(central_data, central_url)
    if "size_delta" in change:
        change_release(central_data, central_url, size=held["size"] + change["size_delta"])
    else:
        change_release(central_data, central_url, **change)
    running = CentralServer(central_data, central_url)
    try:
        running.wait_until_ready()
        [outcome] = push(service, running.url, bandwidth=Bandwidth()).zims
    finally:
        running.stop()
    assert outcome.action == "refused" and outcome.error is not None
    assert words in outcome.error, outcome.error
    assert installed() == [] and list(service.inbox.glob("zim-*")) == []


def test_a_huge_claim_is_refused_before_a_byte_moves(
    service: SyncService, central_data: Path, central_url: str | None
) -> None:
    change_release(central_data, central_url, size=MAX_ZIM_BYTES)
    running = CentralServer(central_data, central_url)
    try:
        running.wait_until_ready()
        [outcome] = push(service, running.url, bandwidth=Bandwidth()).zims
    finally:
        running.stop()
    assert outcome.action == "refused" and outcome.received == 0
    assert outcome.error is not None and "free disk space" in outcome.error
    assert list(service.inbox.glob("zim-*")) == []


def test_central_serves_a_zim_only_to_a_hub_it_is_assigned_to(
    tmp_path: Path,
    service: SyncService,
    server: CentralServer,
    central_data: Path,
    central_url: str | None,
) -> None:
    url = f"{server.url}/api/sync/zims/{release(central_data, central_url)['uuid']}"
    assert http_call(url)[0] == 401  # unsigned
    other = FakeHub(tmp_path / "other", "Other")
    with OpenCentral(central_data, central_url):
        other.enrol()
    assert http_call(url, keys=other.keys)[0] == 404  # enrolled, but not assigned it
    assert http_call(f"{server.url}/api/sync/zims/..%2F..%2Fkeys", keys=service.keys)[0] == 404


# ------------------------------------------------------------------ the format, in-process


def test_a_hub_that_never_said_which_zims_it_has_gets_no_zims_part(
    tmp_path: Path, central: Central
) -> None:
    central.zims.add_paths([big_zim(tmp_path / "src" / "noise.zim")])
    old, new = FakeHub(tmp_path / "old", "Old").enrol(), FakeHub(tmp_path / "new", "New").enrol()
    for hub in (old, new):
        central.zims.assign("noise_en_all", hub.hub_id)
    central.apply(old.bundle())  # a hub older than ZIMs from central
    central.apply(new.bundle(have_zims=[]))
    parts = {}
    for hub in (old, new):
        [reply] = central.replier.write(hub.hub_id, tmp_path / "replies", [])
        bundle = read_bundle(reply.path, central.keys.public_key)
        parts[hub.name] = [list(bundle.records(p["name"])) for p in bundle.parts_of_type("zims")]
    assert parts["Old"] == []
    [[record]] = parts["New"]
    assert record["name"] == "noise_en_all" and record["size"] > PAYLOAD


def test_have_zims_must_be_uuids(tmp_path: Path, central: Central) -> None:
    hub = FakeHub(tmp_path / "hub", "Hub").enrol()
    with pytest.raises(BundleError, match="have_zims"):
        central.apply(hub.bundle(have_zims=["../../etc/passwd"]))


GOOD = {
    "name": "noise_en_all",
    "zim_name": "noise_en_all",
    "uuid": "0123abcd-0123-4567-89ab-0123456789ab",
    "title": "Noise",
    "language": "en",
    "date": "2024-01-01",
    "size": 1000,
    "md5": "0" * 32,
}


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "../../keys"},
        {"name": "a/b"},
        {"name": ".hidden"},
        {"uuid": "0123"},
        {"md5": "x" * 32},
        {"size": 0},
        {"size": -5},
        {"size": MAX_ZIM_BYTES + 1},
        {"size": True},
        {"size": 1.5},
        {"title": "x" * 5000},
        {"date": None},
    ],
)
def test_a_hostile_zim_record_is_refused(bad: dict[str, Any]) -> None:
    check_zim(GOOD)
    with pytest.raises(RecordError, match="zim record"):
        check_zim({**GOOD, **bad})


def test_central_refuses_a_damaged_zim(tmp_path: Path, central: Central) -> None:
    from content.zim import ZimError

    source = big_zim(tmp_path / "src" / "noise.zim")
    flip_byte(source, source.stat().st_size // 2)
    with pytest.raises(ZimError, match="checksum"):
        central.zims.add_paths([source])
    assert ZimRelease.select().count() == 0
    assert [p.name for p in (central.data_dir / "zims").iterdir()] == []
