"""Fixtures of the two-hub letter tests (tests/test_letters_e2e.py, tests/test_partners_e2e.py):
two hubs with a class each beside a central, and one sync of a hub by either way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.central.service import Central
from tests.central_helpers import CentralServer
from tests.test_letters_e2e import Carry, make_hub, run_central
from tests.test_sync_hub_e2e import learnhub


@pytest.fixture
def two_hubs(
    tmp_path: Path, central: Central, central_url: str | None
) -> Iterator[tuple[Path, Path, Path, str | None]]:
    """Two hubs with a class each, and central's data dir (its schema made in-process)."""
    a, b = tmp_path / "hub-a", tmp_path / "hub-b"
    make_hub(a, "Mwanga", "4A")
    make_hub(b, "Faraja", "5B")
    yield a, b, central.data_dir, central_url


@pytest.fixture(params=["usb", "http"])
def carry(
    request: pytest.FixtureRequest, two_hubs: tuple[Path, Path, Path, str | None], tmp_path: Path
) -> Iterator[Carry]:
    """One sync of a hub with central: by USB folders only (the hub never calls central), or
    over HTTP to a real `learnhub central serve`."""
    _, _, central_data, url = two_hubs
    if request.param == "usb":
        stick = tmp_path / "stick"
        stick.mkdir()

        def by_stick(hub: Path) -> None:
            learnhub("sync", "export", str(stick), "--data", str(hub))
            run_central(central_data, url, "import", str(stick))
            learnhub("sync", "import", str(stick), "--data", str(hub))

        yield by_stick
        return
    server = CentralServer(central_data, url)
    try:
        server.wait_until_ready()
        yield lambda hub: learnhub("sync", "push", server.url, "--data", str(hub))
    finally:
        server.stop()
