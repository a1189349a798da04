"""Issue #18 part 1 end to end: two real hubs and a real central (SQLite and PostgreSQL).
A coach on hub A shares one of A's own packs, central staff accept it, hub B picks it from
the catalog and receives it; a new version reaches B; a declined version's reason reaches A.
Once with USB folders only (`learnhub sync export/import`, `learnhub central import`), once
over HTTP (`learnhub central serve`, `learnhub sync push`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.hubsync import shared_packs
from hub.hubsync.shared_models import SharedOffer
from hub.library.models import Pack
from hub.web.app import create_app
from tests.central_helpers import CentralServer, central_argv, clean_env, database_args
from tests.conftest import SAMPLES

pytest_plugins = ["tests.central_fixtures"]
pytestmark = [pytest.mark.server, pytest.mark.timeout(900)]  # many processes, both ways

ENV = clean_env()


def run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=180)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def hub_cli(data: Path, *args: str) -> str:
    return run([sys.executable, "-m", "hub", *args[:2], *args[2:], "--data", str(data)])


class Central:
    def __init__(self, data: Path, url: str | None) -> None:
        self.data, self.url = data, url

    def __call__(self, *args: str) -> str:
        return run(central_argv(*args, "--data", str(self.data), *database_args(self.url)))

    def offers(self) -> dict[str, Any]:
        return {o["pack_id"]: o for o in json.loads(self("shared", "list", "--json"))}


def own_pack(folder: Path, version: str, title: str = "Fractions by Neema") -> Path:
    """A teacher's pack as the authoring pages make it: an own- id, an author, a licence."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(SAMPLES / "fractions-en", folder)
    manifest = json.loads((folder / "pack.json").read_text())
    manifest |= {"id": "own-fractions", "version": version, "title": title}
    manifest |= {"author": "Neema Mushi", "license": "CC-BY-4.0"}
    (folder / "pack.json").write_text(json.dumps(manifest))
    return folder


def on_hub(data: Path, action: Callable[[], Any]) -> Any:
    app = create_app(prepare_data_dir(load_config(data, {"load_samples": False}, environ={})))
    with app.app_context(), connected():
        return action()


def make_hub(data: Path, name: str, central: Central, tmp: Path) -> None:
    data.mkdir(parents=True)
    (data / "learnhub.toml").write_text(f'hub_name = "{name}"\nload_samples = false\n')
    prepare_data_dir(load_config(data, environ={}))
    identity = tmp / f"{name}.json"
    identity.write_text(hub_cli(data, "sync", "identity"))
    central("hubs", "add", str(identity))
    hub_id = json.loads(identity.read_text())["hub_id"]
    central("hubs", "region", hub_id, "Arusha")
    trusted = tmp / "central.json"
    trusted.write_text(central("identity"))
    hub_cli(data, "sync", "trust", str(trusted))


def installed(data: Path, pack_id: str) -> str | None:
    def version() -> str | None:
        pack = Pack.by_id(pack_id)
        return pack.version if pack else None

    return on_hub(data, version)


def usb(central: Central, stick: Path) -> Callable[[Path], None]:
    def exchange(hub: Path) -> None:
        hub_cli(hub, "sync", "export", str(stick))
        central("import", str(stick))
        hub_cli(hub, "sync", "import", str(stick))

    return exchange


def http(url: str) -> Callable[[Path], None]:
    def exchange(hub: Path) -> None:
        hub_cli(hub, "sync", "push", url)

    return exchange


@pytest.fixture
def two_hubs(tmp_path: Path, central_url: str | None) -> tuple[Central, Path, Path]:
    central = Central(tmp_path / "central", central_url)
    central("status")
    hub_a, hub_b = tmp_path / "hub-a", tmp_path / "hub-b"
    make_hub(hub_a, "Mwanga School", central, tmp_path)
    make_hub(hub_b, "Faraja School", central, tmp_path)
    hub_cli(hub_a, "content", "import", str(own_pack(tmp_path / "pack-v1", "1.0.0")))
    return central, hub_a, hub_b


def journey(central: Central, hub_a: Path, hub_b: Path, exchange: Any, tmp: Path) -> None:
    config_a = load_config(hub_a, {"load_samples": False}, environ={})
    on_hub(hub_a, lambda: shared_packs.share(config_a, "own-fractions"))
    exchange(hub_a)
    offer = central.offers()["own-fractions"]
    assert offer["status"] == "pending" and offer["author"] == "Neema Mushi"
    central("shared", "accept", "own-fractions")

    exchange(hub_b)  # B learns the catalog
    listed = on_hub(hub_b, shared_packs.catalog)
    assert [(p["pack_id"], p["school"], p["region"]) for p in listed] == [
        ("own-fractions", "Mwanga School", "Arusha")
    ]
    on_hub(hub_b, lambda: shared_packs.pick("own-fractions"))
    exchange(hub_b)  # the pick goes up; the reply brings the pack
    assert installed(hub_b, "own-fractions") == "1.0.0"

    # A new version from the author reaches B once accepted.
    hub_cli(hub_a, "content", "import", str(own_pack(tmp / "pack-v2", "1.1.0")))
    exchange(hub_a)
    assert central.offers()["own-fractions"]["status"] == "pending"
    central("shared", "accept", "own-fractions")
    exchange(hub_b)
    assert installed(hub_b, "own-fractions") == "1.1.0"

    # A declined version: the reason travels back to A, and re-sending it changes nothing.
    hub_cli(hub_a, "content", "import", str(own_pack(tmp / "pack-v3", "1.2.0")))
    exchange(hub_a)
    central("shared", "decline", "own-fractions", "--reason", "Lesson 2 has no pictures")
    exchange(hub_a)
    offer_a = on_hub(hub_a, lambda: SharedOffer.get_by_id("own-fractions"))
    assert (offer_a.status, offer_a.reason) == ("declined", "Lesson 2 has no pictures")
    assert offer_a.hubs == 2  # A and B have it installed
    exchange(hub_b)
    assert installed(hub_b, "own-fractions") == "1.1.0"


def test_share_accept_and_take_by_usb_folders(
    two_hubs: tuple[Central, Path, Path], tmp_path: Path
) -> None:
    central, hub_a, hub_b = two_hubs
    stick = tmp_path / "stick"
    stick.mkdir()
    journey(central, hub_a, hub_b, usb(central, stick), tmp_path)


@pytest.fixture
def served(two_hubs: tuple[Central, Path, Path]) -> Iterator[str]:
    central = two_hubs[0]
    server = CentralServer(central.data, central.url)
    try:
        server.wait_until_ready()
        yield server.url
    finally:
        server.stop()


def test_share_accept_and_take_over_http(
    two_hubs: tuple[Central, Path, Path], served: str, tmp_path: Path
) -> None:
    central, hub_a, hub_b = two_hubs
    journey(central, hub_a, hub_b, http(served), tmp_path)
