"""A `learnhub serve` process on loopback: start it, wait for it, weigh it, stop it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"  # the bench never talks to anything but loopback
POLL_SECONDS = 0.01


class ServerError(Exception):
    """The server did not start or answered something unusable; str() is one sentence."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class HubServer:
    """One `learnhub serve` subprocess; its output goes to a log file next to the data dir."""

    def __init__(self, learnhub: Path, data_dir: Path, log_path: Path) -> None:
        self.learnhub = learnhub
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, port: int) -> list[str]:
        return [
            str(self.learnhub),
            "serve",
            "--data",
            str(self.data_dir),
            "--host",
            HOST,
            "--port",
            str(port),
        ]

    def start(self, timeout: float = 60.0) -> float:
        """Start the server and return the seconds from spawning it to the first 200 /healthz."""
        self.port = free_port()
        with open(self.log_path, "ab") as log:
            began = time.perf_counter()
            self.process = subprocess.Popen(
                self.command(self.port), stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_healthy(began + timeout)
        return time.perf_counter() - began

    def log_lines(self) -> int:
        try:
            with open(self.log_path, "rb") as log:
                return sum(1 for _ in log)
        except OSError:
            return 0

    def _wait_healthy(self, deadline: float) -> None:
        while time.perf_counter() < deadline:
            self.check_alive()
            if _healthz_status(self.port) == 200:
                return
            time.sleep(POLL_SECONDS)
        self.stop()
        raise ServerError(f"learnhub serve did not answer /healthz in time: {self.log_tail()}")

    def stop(self) -> None:
        """Ask politely (SIGINT, as Ctrl-C would), then insist; only ever our own process."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for stop in (lambda: process.send_signal(signal.SIGINT), process.terminate, process.kill):
            stop()
            try:
                process.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerError("The server is not running.")
        return self.process.pid

    def rss_bytes(self) -> int:
        """Resident memory of the server and any children it started."""
        return sum(_status_kb(pid, "VmRSS") for pid in [self.pid, *_descendants(self.pid)]) * 1024

    def peak_rss_bytes(self) -> int:
        return _status_kb(self.pid, "VmHWM") * 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def check_alive(self) -> None:
        """ServerError naming the exit status and the log's last lines if the server died."""
        if self.process is not None and self.process.poll() is not None:
            status = self.process.returncode
            raise ServerError(f"learnhub serve died (exit status {status}): {self.log_tail()}")

    def get_json(self, path: str) -> Any:
        try:
            status, body = get(self.port, path)
        except (OSError, http.client.HTTPException) as err:
            self.check_alive()
            raise ServerError(f"GET {path} failed: {err}") from None
        if status != 200:
            raise ServerError(f"GET {path} answered {status}: {body[:200]!r}")
        return json.loads(body)

    def log_tail(self, lines: int = 5) -> str:  # for error messages
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " / ".join(text.strip().splitlines()[-lines:]) or "(empty log)"


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _healthz_status(port: int) -> int | None:
    try:
        return get(port, "/healthz", timeout=2.0)[0]
    except (OSError, http.client.HTTPException):
        return None


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: list[int] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


class ReferenceServer(HubServer):
    """The floor under the hub: a one-line Flask view on waitress with the hub's 8 threads."""

    def command(self, port: int) -> list[str]:
        script = Path(__file__).with_name("reference_app.py")
        return [sys.executable, str(script), HOST, str(port)]
