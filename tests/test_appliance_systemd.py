"""hub/core/systemd.py: sd_notify datagrams to a real unix socket, the watchdog thread's pace, and
`learnhub serve` telling a (pretend) systemd that it is ready."""

from __future__ import annotations

import inspect
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli import serve as cli
from hub.core import systemd
from tests.conftest import free_port
from tests.waiting import Rounds


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """What systemd listens on: a unix datagram socket."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    try:
        yield sock, path
    finally:
        sock.close()


def test_notify_sends_one_datagram(notify_socket) -> None:
    sock, path = notify_socket
    assert systemd.notify("READY=1\nSTATUS=serving", {"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving"


def test_notify_to_an_abstract_socket() -> None:
    name = f"learnhub-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert systemd.notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(64) == b"WATCHDOG=1"


@pytest.mark.parametrize("value", ["", "relative/path", "@"])
def test_notify_outside_systemd_does_nothing(value: str) -> None:
    assert not systemd.notify("READY=1", {"NOTIFY_SOCKET": value} if value else {})


def test_notify_to_a_gone_socket_is_not_an_error(tmp_path: Path) -> None:
    assert not systemd.notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "nobody")})


def test_watchdog_interval_is_half_of_what_systemd_asks() -> None:
    pid = str(os.getpid())
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "60000000"}) == 30.0
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": pid}) == 30.0
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}) is None
    assert systemd.watchdog_interval({}) is None
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "soon"}) is None


def test_watchdog_pings_until_stopped_and_only_while_healthy() -> None:
    sent: list[str] = []
    healthy = [True]
    # Counts the rounds, so pings are counted per round, not per stretch of time.
    rounds = Rounds()
    dog = systemd.Watchdog(0.02, healthy=lambda: healthy[0], send=sent.append, wait=rounds.wait)
    dog.start()
    rounds.passed(3)
    assert len(sent) >= 3 and set(sent) == {"WATCHDOG=1"}
    assert rounds.delays[:3] == [0.02, 0.02, 0.02]
    healthy[0] = False
    rounds.passed(1)  # the round under way may still have pinged
    pinged = len(sent)
    rounds.passed(3)
    dog.stop()
    assert len(sent) == pinged  # not healthy: no pings, so systemd restarts a hung hub
    assert not dog.worker.is_alive()


def test_ready_starts_the_watchdog_and_stopping_ends_it(notify_socket, monkeypatch) -> None:
    sock, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "40000")  # pings every 20 ms
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    rounds = Rounds()  # the watchdog's rounds are counted, not waited for
    systemd.notify_ready("serving", wait=rounds.wait)
    try:
        rounds.passed(3)  # each round pings before it waits: three pings at least
    finally:
        systemd.notify_stopping()
    assert rounds.delays[0] == 0.02  # half of WATCHDOG_USEC
    messages = [sock.recv(4096)]
    while messages[-1] != b"STOPPING=1":  # a datagram socket keeps them in order
        messages.append(sock.recv(4096))
    assert messages[0] == b"READY=1\nSTATUS=serving"
    assert messages[1:-1].count(b"WATCHDOG=1") >= 3
    assert systemd._watchdog is None


def test_serve_tells_systemd_it_is_ready(notify_socket, tmp_path: Path) -> None:
    # raspberrypi/systemd/learnhub.service is Type=notify with WatchdogSec: without these
    # calls systemd would kill the hub at the end of TimeoutStartSec, again and again.
    source = inspect.getsource(cli.serve.callback)
    assert "notify_ready" in source and "notify_stopping" in source, (
        "hub/cli/serve.py serve must call hub.core.systemd.notify_ready() before server.run() and "
        "hub.core.systemd.notify_stopping() in its finally"
    )
    sock, path = notify_socket
    sock.settimeout(60)
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}
    env.pop("LEARNHUB_DATA", None)
    port = free_port()
    args = [sys.executable, "-m", "hub", "serve", "--data", str(tmp_path / "data")]
    args += ["--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = sock.recv(4096)
        assert first.startswith(b"READY=1")
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # READY=1 came once the port was open
        assert sock.recv(4096) == b"WATCHDOG=1"
    finally:
        server.terminate()
        server.wait(timeout=10)
