"""`learnhub serve` and `learnhub central serve` run their threads on one CPU (the `one_cpu`
setting, hub/core/affinity.py), and on every CPU they may use when the setting is off. Read
from the kernel for each thread of a real server after it answered requests."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.central_helpers import CentralServer
from tests.conftest import LiveServer, ServerProcess

pytestmark = [pytest.mark.server]

Start = Callable[[Path, dict[str, str]], ServerProcess]
SERVERS: dict[str, Start] = {
    "hub": lambda data, env: LiveServer(data, env=env),
    "central": lambda data, env: CentralServer(data, None, env=env),
}


def cpus_of_threads(pid: int) -> set[frozenset[int]]:
    """The CPUs each of the process's threads may run on."""
    return {
        frozenset(os.sched_getaffinity(int(task.name)))
        for task in Path(f"/proc/{pid}/task").iterdir()
    }


def threads_of_server(start: Start, data: Path, env: dict[str, str]) -> set[frozenset[int]]:
    server = start(data, env)
    try:
        server.wait_until_ready()
        for _ in range(20):  # the worker threads have started and answered
            with urllib.request.urlopen(server.url + "/healthz", timeout=30) as answer:
                assert answer.status == 200
        return cpus_of_threads(server.process.pid)
    finally:
        server.stop()


@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_the_servers_threads_run_on_one_cpu_unless_the_setting_is_off(
    kind: str, tmp_path: Path
) -> None:
    allowed = frozenset(os.sched_getaffinity(0))
    if len(allowed) < 2:
        pytest.skip("this machine gives the tests one CPU: nothing to choose between")
    start = SERVERS[kind]
    assert threads_of_server(start, tmp_path / "data", {}) == {frozenset({max(allowed)})}
    free = threads_of_server(start, tmp_path / "data", {"LEARNHUB_ONE_CPU": "false"})
    assert free == {allowed}
