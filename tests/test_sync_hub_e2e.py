"""A real hub and a real central: `learnhub central serve` on 127.0.0.1 (SQLite) in its own
process, the hub's `learnhub sync ...` commands in theirs. Enrol, push, receipt, a reply with a
roster change and a content pack; then the USB round trip through a folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.library.models import Pack
from hub.people.models import ClassGroup, Learner
from hub.people.roster import add_class, add_learner
from hub.web.app import create_app
from tests.conftest import SAMPLES, free_port
from tests.waiting import eventually

pytestmark = pytest.mark.server

ENV = {k: v for k, v in os.environ.items() if not k.startswith("LEARNHUB_")}


def learnhub(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "hub", *args], capture_output=True, text=True, env=ENV, timeout=120
    )
    if check:
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


def central_command() -> list[str]:
    """`learnhub central`, or its module while the lead has not wired it into `learnhub`."""
    from hub.cli.main import main

    if "central" in main.commands:
        return [sys.executable, "-m", "hub", "central"]
    return [sys.executable, "-m", "hub.central.cli"]


def central(data: Path, *args: str) -> subprocess.CompletedProcess:
    command = central_command()
    result = subprocess.run(
        [*command, args[0], *args[1:2], "--data", str(data), *args[2:]]
        if args[0] in ("hubs", "classes", "learners", "packs", "assign")
        else [*command, args[0], "--data", str(data), *args[1:]],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert result.returncode == 0, f"central {args}: {result.stdout}{result.stderr}"
    return result


@pytest.fixture
def central_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    data = tmp_path / "central"
    port = free_port()
    log = tmp_path / "central.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                *central_command(),
                "serve",
                "--data",
                str(data),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=ENV,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def answers() -> bool:
            assert process.poll() is None, log.read_text()
            with urllib.request.urlopen(url + "/healthz", timeout=1) as answer:
                return answer.status == 200

        eventually(answers, 30, interval=0.1, ignoring=(OSError,), what=log.read_text)
        yield url, data
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def make_hub(data: Path, name: str, events: int) -> str:
    """A hub with a class, a learner and some progress; returns the learner's uid."""
    app = create_app(
        prepare_data_dir(load_config(data, {"load_samples": False, "hub_name": name}, environ={}))
    )
    log = app.extensions["events"]
    with connected():
        group = add_class("4A")
        who = add_learner(f"Learner of {name}", classes=[group])
        for n in range(events):
            log.record(who.id, "fractions-en", "halves", "progress", {"progress": n / events})
    return who.uid


def hub_status(data: Path) -> dict:
    return json.loads(learnhub("sync", "status", "--data", str(data), "--json").stdout)


def enrol(hub: Path, central_data: Path, tmp_path: Path) -> str:
    identity = tmp_path / f"{hub.name}-identity.json"
    identity.write_text(learnhub("sync", "identity", "--data", str(hub)).stdout)
    central(central_data, "hubs", "add", str(identity))
    return json.loads(identity.read_text())["hub_id"]


def central_status(data: Path) -> dict:
    return json.loads(central(data, "status", "--json").stdout)


def test_push_receipt_and_a_reply_with_roster_and_content(
    central_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, central_data = central_server
    hub = tmp_path / "hub"
    learner_uid = make_hub(hub, "Mwanga", 25)
    hub_id = enrol(hub, central_data, tmp_path)

    pushed = learnhub("sync", "push", url, "--data", str(hub))
    assert "pushed 1 bundle(s)" in pushed.stdout
    status = hub_status(hub)
    assert status["events_waiting"] == 0 and status["bundles_waiting"] == 0
    assert status["central_pinned"] and status["last_error"] == ""
    found = central_status(central_data)
    assert found["events"] == 25 and found["learners"] >= 1

    # Down the wire: a class and a learner made at central, and a content pack.
    central(central_data, "classes", "add", "5C", "--hub", hub_id)
    central(central_data, "learners", "add", "Zawadi", "--class", "5C", "--hub", hub_id)
    central(central_data, "packs", "add", str(SAMPLES / "fractions-en"))
    central(central_data, "assign", "pack", "fractions-en", hub_id)
    learnhub("sync", "push", url, "--data", str(hub))
    create_app(prepare_data_dir(load_config(hub, {"load_samples": False}, environ={})))
    with connected():
        group = ClassGroup.get(ClassGroup.name == "5C")
        assert [learner.display_name for learner in group.learners()] == ["Zawadi"]
        assert Pack.by_id("fractions-en") is not None
        assert Learner.get(Learner.uid == learner_uid).display_name == "Learner of Mwanga"

    # Pushing again sends nothing twice: central's totals do not move.
    learnhub("sync", "push", url, "--data", str(hub))
    assert central_status(central_data)["events"] == 25


def test_usb_round_trip(central_server: tuple[str, Path], tmp_path: Path) -> None:
    _, central_data = central_server
    hub = tmp_path / "usb-hub"
    make_hub(hub, "Faraja", 12)
    enrol(hub, central_data, tmp_path)
    identity = tmp_path / "central-identity.json"
    identity.write_text(central(central_data, "identity").stdout)
    learnhub("sync", "trust", str(identity), "--data", str(hub))
    stick = tmp_path / "stick"
    stick.mkdir()

    learnhub("sync", "export", str(stick), "--data", str(hub))
    assert hub_status(hub)["bundles_waiting"] == 1
    central(central_data, "import", str(stick))
    applied = learnhub("sync", "import", str(stick), "--data", str(hub))
    assert "central holds epoch" in applied.stdout
    status = hub_status(hub)
    assert status["events_waiting"] == 0 and status["bundles_waiting"] == 0
    assert status["last_sync"] is not None
    assert central_status(central_data)["events"] == 12


def test_a_hub_central_does_not_know_asks_to_join(
    central_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, central_data = central_server
    hub = tmp_path / "new-hub"
    make_hub(hub, "Tumaini", 3)
    refused = learnhub("sync", "push", url, "--data", str(hub), check=False)
    assert refused.returncode == 1
    assert "asked to join" in refused.stderr and "Traceback" not in refused.stderr
    waiting = learnhub("sync", "push", url, "--data", str(hub), check=False)
    assert "waiting for approval" in waiting.stderr
    hub_id = json.loads(learnhub("sync", "identity", "--data", str(hub)).stdout)["hub_id"]
    central(central_data, "hubs", "approve", hub_id)
    learnhub("sync", "push", url, "--data", str(hub))
    assert hub_status(hub)["events_waiting"] == 0
    assert central_status(central_data)["events"] == 3
