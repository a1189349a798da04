"""Both servers set aside what starting made from Python's cycle collector once they are
ready (hub/core/collector.py), so a full collection walks only what serving made."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.core.collector import settle
from tests.test_affinity import SERVERS
from tests.waiting import eventually

SET_ASIDE = re.compile(r"(\d+) objects made while starting are left out of the garbage")


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def test_settle_sets_aside_what_is_alive_and_collects_the_rest(unfrozen: None) -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    kept = [Cycle() for _ in range(100)]
    Cycle()  # garbage in a cycle: collected, never set aside
    count = settle()
    assert count == gc.get_freeze_count() > len(kept)
    walked = gc.get_objects()
    assert not any(obj is kept[0] for obj in walked)
    assert sum(isinstance(obj, Cycle) for obj in walked) == 0
    assert len(walked) < count // 10  # a full collection now walks few of them


@pytest.mark.server
@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_a_ready_server_has_set_aside_what_starting_made(kind: str, tmp_path: Path) -> None:
    server = SERVERS[kind](tmp_path / "data", {})
    try:
        server.wait_until_ready()
        found = eventually(lambda: SET_ASIDE.search(server.log.read_text()))
        assert int(found.group(1)) > 10_000  # the app's modules, routes and templates
    finally:
        server.stop()
