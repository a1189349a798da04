"""USB sticks carry no secrets in the clear: a learner's PIN hash leaves a hub only sealed to
central's key, and comes down only sealed to the receiving hub's key. Real hubs (`learnhub`
in their own processes, their own SQLite) and central on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import lzma
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

from hub.cli.common import prepare_data_dir
from hub.core.settings import load_config
from hub.web.app import create_app
from sync.central import roster
from sync.central.db import writing
from sync.central.hubs import enrol
from sync.central.models import Roster
from sync.central.service import Central

pytest_plugins = ["tests.central_fixtures"]

ENV = {k: v for k, v in os.environ.items() if not k.startswith("LEARNHUB_")}
PINS = {"Amina Juma": "4821", "张伟": "7305"}


def learnhub(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "hub", *args], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


def make_hub(folder: Path, central: Central, learners: dict[str, str]) -> str:
    """A hub with learners and PINs, enrolled at central; its hub id."""
    for name, pin in learners.items():
        learnhub("learners", "add", name, "--pin", pin, "--data", str(folder))
    identity = json.loads(learnhub("sync", "identity", "--data", str(folder)).stdout)
    enrol(identity)
    return identity["hub_id"]


def trust(folder: Path, central: Central, tmp_path: Path) -> None:
    identity = tmp_path / "central-identity.json"
    identity.write_text(json.dumps(central.identity()), encoding="utf-8")
    learnhub("sync", "trust", str(identity), "--data", str(folder))


def pin_hashes(folder: Path) -> list[str]:
    with sqlite3.connect(folder / "learnhub.db") as db:
        rows = db.execute("SELECT pin_hash FROM learner WHERE pin_hash IS NOT NULL").fetchall()
    return [row[0] for row in rows]


def every_byte(stick: Path) -> list[bytes]:
    """Every file on the stick as stored, and every bundle member decompressed as well."""
    found = []
    for path in sorted(p for p in stick.rglob("*") if p.is_file()):
        found.append(path.read_bytes())
        if tarfile.is_tarfile(path):
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    data = tar.extractfile(member).read()
                    found.append(data)
                    with contextlib.suppress(lzma.LZMAError):  # the manifest, a signature
                        found.append(lzma.decompress(data))
    return found


def assert_no_hash_readable(stick: Path, hashes: list[str]) -> None:
    assert hashes, "the hub should have PIN hashes to look for"
    contents = every_byte(stick)
    assert len(contents) > 1, "the stick should hold bundles"
    for pin_hash in hashes:
        secret_part = pin_hash.rsplit("$", 1)[-1].encode()  # the digest alone, too
        for data in contents:
            assert pin_hash.encode() not in data and secret_part not in data


def test_a_stick_carries_no_pin_hash_yet_central_and_other_hubs_can_use_them(tmp_path, central):
    hub_a, hub_b = tmp_path / "hub-a", tmp_path / "hub-b"
    a_id = make_hub(hub_a, central, PINS)
    b_id = make_hub(hub_b, central, {})
    for folder in (hub_a, hub_b):
        trust(folder, central, tmp_path)
    stick = tmp_path / "stick"
    stick.mkdir()
    for folder in (hub_a, hub_b):
        learnhub("sync", "export", str(stick), "--data", str(folder))
    outcomes, _ = central.import_path(stick)
    assert [o.error for o in outcomes] == [None, None]
    learners = {r.name: r for r in Roster.select().where(Roster.kind == "learner")}
    assert set(learners) == set(PINS)
    held = {json.loads(r.record).get("pin_hash") for r in learners.values()}
    assert held == set(pin_hashes(hub_a))  # central opened them
    with writing():
        for row in learners.values():
            roster.send_to("learner", row.uid, b_id)
    learnhub("sync", "export", str(stick), "--data", str(hub_b))
    central.import_path(stick)
    learnhub("sync", "import", str(stick), "--data", str(hub_b))
    assert_no_hash_readable(stick, pin_hashes(hub_a))
    assert a_id != b_id
    app = create_app(prepare_data_dir(load_config(hub_b, {"load_samples": False}, environ={})))
    client = app.test_client()
    for name, pin in PINS.items():
        username = learners[name].as_record()["username"]
        signed = client.post("/api/session", json={"username": username, "pin": pin})
        assert signed.status_code == 201, (name, signed.get_json())
        client.delete("/api/session")


def test_a_hub_without_central_s_key_holds_pins_back_and_says_so(tmp_path, central):
    hub = tmp_path / "hub"
    make_hub(hub, central, PINS)
    stick = tmp_path / "stick"
    stick.mkdir()
    learnhub("sync", "export", str(stick), "--data", str(hub))
    assert_no_hash_readable(stick, pin_hashes(hub))
    status = learnhub("sync", "status", "--data", str(hub)).stdout
    assert "Learner PINs waiting to travel: 2." in status
    assert "does not know central's key yet" in status
    central.import_path(stick)
    assert all("pin_hash" not in r.as_record() for r in Roster.select())
    # Once the hub knows central's key, the PINs held back go, sealed, with the next bundle.
    trust(hub, central, tmp_path)
    assert "PINs waiting" not in learnhub("sync", "status", "--data", str(hub)).stdout
    learnhub("sync", "export", str(stick), "--data", str(hub))
    assert_no_hash_readable(stick, pin_hashes(hub))
    central.import_path(stick)
    held = {r.as_record().get("pin_hash") for r in Roster.select()}
    assert held == set(pin_hashes(hub))


def test_the_sync_page_says_pins_are_held_back(tmp_path):
    hub = tmp_path / "hub"
    learnhub("learners", "add", "Amina", "--pin", "4821", "--data", str(hub))
    app = create_app(prepare_data_dir(load_config(hub, {"load_samples": False}, environ={})))
    learnhub(
        "users",
        "add",
        "Oscar",
        "--role",
        "operator",
        "--password",
        "a good password",
        "--data",
        str(hub),
    )
    client = app.test_client()
    signed = client.post("/api/session", json={"username": "oscar", "password": "a good password"})
    assert signed.status_code == 201
    page = client.get("/admin/sync/").get_data(as_text=True)
    assert 'id="sync-pins-held"' in page and "Learner PINs waiting to travel: 1." in page
