"""Discovery: names and TXT records, hostile announcements, and the advertiser's life (no
network, failures with backoff, addresses that change, packs that change, shutdown), first
with a fake responder, then with real zeroconf on loopback."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from zeroconf import ServiceInfo

from hub.cli.main import main
from hub.neighbours import discovery
from hub.neighbours.discovery import (
    HTTP_TYPE,
    HUB_TYPE,
    Advertiser,
    DiscoveryError,
    Neighbour,
    Profile,
    browse,
    hub_txt,
    instance_names,
)
from tests.waiting import Rounds, eventually

HUB_ID = "abcdefghijklmnopqrst"
OTHER_ID = "zyxwvutsrqponmlkjiha"


def profile(**changes) -> Profile:
    fields = {"hub_id": HUB_ID, "name": "Mwanga School", "port": 8080, "host": "0.0.0.0"}
    return Profile(**{**fields, "sharing": False, **changes})


# --- names and records --------------------------------------------------------------------


def test_instance_names() -> None:
    assert instance_names("Mwanga School") == ("Learning Hub \u2013 Mwanga School", "Mwanga School")
    assert instance_names("Learning Hub") == ("Learning Hub", "Learning Hub")
    assert instance_names("  ") == ("Learning Hub", "Learning Hub")
    web, hub = instance_names("St. Mary's.")
    assert "." not in web and "." not in hub
    long_web, long_hub = instance_names("\u00e9" * 100)
    assert len(long_web.encode()) <= 56 and len(long_hub.encode()) <= 56
    long_hub.encode().decode()  # never cut inside a character


def test_txt_record() -> None:
    txt = hub_txt(profile(sharing=True), packs=3)
    assert txt == {
        "txtvers": "1",
        "id": HUB_ID,
        "name": "Mwanga School",
        "version": discovery.__version__,
        "api": "/api",
        "packs": "3",
        "share": "on",
    }
    long = hub_txt(profile(name="x" * 999), 0)
    assert all(len(f"{k}={v}".encode()) <= 255 for k, v in long.items())


def info(properties: dict, addresses=("10.199.0.1",), port: int = 8080) -> ServiceInfo:
    return ServiceInfo(
        HUB_TYPE,
        f"Other Hub.{HUB_TYPE}",
        parsed_addresses=list(addresses),
        port=port,
        properties=properties,
        server="other.local.",
    )


def test_neighbour_from_a_good_announcement() -> None:
    found = Neighbour.from_info(
        info({"id": OTHER_ID, "name": "Other", "version": "0.1.0", "packs": "2", "share": "on"})
    )
    assert found is not None
    assert (found.name, found.url, found.packs, found.sharing) == (
        "Other",
        "http://10.199.0.1:8080",
        2,
        True,
    )


@pytest.mark.parametrize(
    "properties",
    [
        {"id": "not an id"},
        {"name": "no id at all"},
        {"id": OTHER_ID.upper()},
    ],
)
def test_announcements_without_a_hub_id_are_ignored(properties) -> None:
    assert Neighbour.from_info(info(properties)) is None


def test_hostile_txt_values_are_tamed() -> None:
    found = Neighbour.from_info(
        info(
            {
                "id": OTHER_ID,
                "name": b"\xff\xfe<script>\x00\x1b[31m" + b"A" * 220,
                "packs": "99999999999999999999",
                "share": "yes please",
                "version": "1" * 200,
            }
        )
    )
    assert found is not None
    assert found.packs is None and found.sharing is False
    assert all(c.isprintable() for c in found.name) and len(found.name) <= 120
    assert len(found.version) <= 32


# --- the advertiser with a fake responder ---------------------------------------------------


class FakeResponder:
    def __init__(self, log: list) -> None:
        self.log = log

    def register(self, infos: list[ServiceInfo]) -> None:
        for info in infos:
            if info.type == HUB_TYPE:  # a clash: zeroconf renames
                info.name = info.name.replace("Mwanga School", "Mwanga School-2")
            self.log.append(("register", info.type, info.name, info.parsed_addresses()))

    def update(self, info: ServiceInfo) -> None:
        txt = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
        self.log.append(("update", info.type, info.name, info.parsed_addresses(), txt))

    def update_interfaces(self, addresses: list[str]) -> None:
        self.log.append(("interfaces", addresses))

    def browse(self, type_: str, listener: object) -> None:
        self.log.append(("browse", type_))

    def close(self) -> None:
        self.log.append(("close",))


class World:
    """The machine as the advertiser sees it: addresses, packs, and how opening goes."""

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.packs = 1
        self.failures: list[Exception] = []
        self.log: list = []
        self.opened = threading.Event()
        self.rounds = Rounds()

    def open(self, addresses: list[str]) -> FakeResponder:
        self.log.append(("open", addresses))
        if self.failures:
            raise self.failures.pop(0)
        self.opened.set()
        return FakeResponder(self.log)

    def advertiser(self, **options) -> Advertiser:
        return Advertiser(
            profile(),
            packs=lambda: self.packs,
            addresses=lambda host: list(self.addresses),
            open_responder=self.open,
            poll=0.02,
            # Counts the polls, so "nothing happened" is asserted after whole polls, not a sleep.
            wait=self.rounds.wait,
            **options,
        )

    def entries(self, kind: str) -> list:
        return [entry for entry in self.log if entry[0] == kind]


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def running(world: World) -> Iterator[Advertiser]:
    advertiser = world.advertiser().start()
    yield advertiser
    advertiser.stop()


def test_no_network_waits_without_crashing(world: World, running: Advertiser) -> None:
    eventually(lambda: running.state == "no_network")
    world.rounds.passed(3)
    assert world.entries("open") == []
    assert running.neighbours() == []
    world.addresses = ["192.168.4.1"]  # the Wi-Fi came up after the hub started
    eventually(lambda: running.state == "announced")
    registered = world.entries("register")
    assert [(t, a) for _, t, _, a in registered] == [
        (HTTP_TYPE, ["192.168.4.1"]),
        (HUB_TYPE, ["192.168.4.1"]),
    ]
    assert registered[0][2] == f"Learning Hub \u2013 Mwanga School.{HTTP_TYPE}"
    assert running.names == ["Learning Hub \u2013 Mwanga School", "Mwanga School-2"]
    assert world.entries("browse") == [("browse", HUB_TYPE)]


def test_failures_are_retried_with_growing_delays(world: World) -> None:
    world.addresses = ["192.168.4.1"]
    world.failures = [OSError(19, "No such device"), RuntimeError("No interfaces to listen on")]
    advertiser = world.advertiser(max_backoff=0.08)
    advertiser.start()
    try:
        assert world.opened.wait(5)
        eventually(lambda: advertiser.state == "announced")
    finally:
        advertiser.stop()
    # One retry delay per failure, then the poll again.
    assert world.rounds.delays[:3] == [0.02, 0.04, 0.02]
    assert len(world.entries("open")) == 3


def test_backoff_is_capped(world: World) -> None:
    advertiser = world.advertiser(max_backoff=0.1)
    advertiser.failures = 30
    assert advertiser._delay() == 0.1


def test_address_change_moves_the_announcement(world: World, running: Advertiser) -> None:
    world.addresses = ["192.168.4.1"]
    eventually(lambda: running.state == "announced")
    world.addresses = ["10.0.0.7", "192.168.4.1"]  # a cable plugged in
    eventually(lambda: world.entries("update"))
    assert world.entries("interfaces") == [("interfaces", ["10.0.0.7", "192.168.4.1"])]
    updates = world.entries("update")
    assert {u[1] for u in updates} == {HTTP_TYPE, HUB_TYPE}
    assert all(u[3] == ["10.0.0.7", "192.168.4.1"] for u in updates)
    # The renamed instance keeps its new name.
    assert f"Mwanga School-2.{HUB_TYPE}" in {u[2] for u in updates}


def test_pack_count_change_updates_the_txt(world: World, running: Advertiser) -> None:
    world.addresses = ["192.168.4.1"]
    eventually(lambda: running.state == "announced")
    world.packs = 4
    eventually(lambda: world.entries("update"))
    hub_update = next(u for u in world.entries("update") if u[1] == HUB_TYPE)
    assert hub_update[4]["packs"] == "4"
    assert world.entries("interfaces") == []


def test_a_broken_database_does_not_re_register(world: World, running: Advertiser) -> None:
    world.addresses = ["192.168.4.1"]
    eventually(lambda: running.state == "announced")

    def broken() -> int:
        raise OSError("database is locked")

    running._packs = broken
    world.rounds.passed(3)
    assert len(world.entries("open")) == 1 and running.state == "announced"


def test_network_gone_withdraws_then_comes_back(world: World, running: Advertiser) -> None:
    world.addresses = ["192.168.4.1"]
    eventually(lambda: running.state == "announced")
    world.addresses = []
    eventually(lambda: running.state == "no_network")
    assert world.entries("close") == [("close",)]
    world.addresses = ["192.168.4.9"]
    eventually(lambda: len(world.entries("open")) == 2 and running.state == "announced")


def test_stop_says_goodbye(world: World) -> None:
    world.addresses = ["192.168.4.1"]
    advertiser = world.advertiser().start()
    eventually(lambda: advertiser.state == "announced")
    advertiser.stop()
    assert world.log[-1] == ("close",)
    assert not advertiser.worker.is_alive()


def test_addresses_follow_the_listening_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        discovery, "_machine_addresses", lambda: {"127.0.0.1", "192.168.4.1", "10.0.0.7"}
    )
    assert discovery.announced_addresses("0.0.0.0") == ["10.0.0.7", "192.168.4.1"]
    assert discovery.announced_addresses("192.168.4.1") == ["192.168.4.1"]
    assert discovery.announced_addresses("127.0.0.1") == ["127.0.0.1"]
    assert discovery.announced_addresses("10.9.9.9") == []  # not (yet) on this machine


def test_start_advertiser_respects_the_setting(app) -> None:
    app.config["LEARNHUB"] = dataclasses.replace(app.config["LEARNHUB"], advertise=False)
    assert discovery.start_advertiser(app) is None
    assert "advertiser" not in app.extensions


def test_create_app_does_not_advertise(app) -> None:
    assert "advertiser" not in app.extensions
    assert not [t for t in threading.enumerate() if t.name == "learnhub-advertiser"]


# --- real zeroconf on loopback --------------------------------------------------------------


@pytest.fixture
def loopback_hub() -> Iterator[Advertiser]:
    advertiser = Advertiser(
        profile(host="127.0.0.1", name="Loopback Test Hub", sharing=True, hub_id=OTHER_ID),
        packs=lambda: 5,
        poll=0.2,
    ).start()
    eventually(lambda: advertiser.state == "announced", timeout=15)
    yield advertiser
    advertiser.stop()


def test_real_zeroconf_on_loopback(loopback_hub: Advertiser) -> None:
    # A busy machine may miss an answer: browse again until ours answers.
    hub = eventually(
        lambda: next(
            (n for n in browse(2.0, interfaces=["127.0.0.1"]) if n.hub_id == OTHER_ID), None
        ),
        timeout=20,
        interval=0,
    )
    assert (hub.name, hub.url, hub.packs, hub.sharing) == (
        "Loopback Test Hub",
        "http://127.0.0.1:8080",
        5,
        True,
    )
    # Other hubs may run on this machine too (a developer's, a test's): look for ours only.
    assert all(
        n.hub_id != OTHER_ID for n in browse(2.0, interfaces=["127.0.0.1"], own_hub_id=OTHER_ID)
    )
    loopback_hub.stop()  # goodbye packets: the hub is gone at once, not after a TTL
    assert all(n.hub_id != OTHER_ID for n in browse(1.0, interfaces=["127.0.0.1"]))


def test_discover_command_json(loopback_hub: Advertiser, monkeypatch: pytest.MonkeyPatch) -> None:
    real = discovery.browse
    monkeypatch.setattr(
        "hub.cli.neighbours.browse", lambda timeout: real(timeout, interfaces=["127.0.0.1"])
    )
    for _attempt in range(3):
        result = CliRunner().invoke(main, ["discover", "--json", "--timeout", "2"])
        assert result.exit_code == 0, result.output
        row = next((r for r in json.loads(result.output) if r["hub_id"] == OTHER_ID), None)
        if row:
            break
    assert row["name"] == "Loopback Test Hub" and row["port"] == 8080 and row["packs"] == 5
    # A busy machine may miss an answer once (responders do not repeat one within a second).
    for _attempt in range(3):
        text = CliRunner().invoke(main, ["discover", "--timeout", "2"]).output
        if "Loopback Test Hub" in text:
            break
    assert "Loopback Test Hub  http://127.0.0.1:8080  version" in text


def test_discover_without_network_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    def nowhere(timeout: float) -> list:
        raise DiscoveryError("This machine is not connected to a network, so there is no hub.")

    monkeypatch.setattr("hub.cli.neighbours.browse", nowhere)
    result = CliRunner().invoke(main, ["discover"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: This machine is not connected to a network, so there is no hub."
    )


def test_browse_without_any_interface_raises_discovery_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(discovery, "_machine_addresses", set)
    with pytest.raises(DiscoveryError, match="not connected to a network"):
        browse(0.1)
