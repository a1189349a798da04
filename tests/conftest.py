"""Fixtures: a temporary data dir, the app, its test client and CLI runner, and a real server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from hub.cli.common import prepare_data_dir
from hub.core.settings import Config, load_config
from hub.web.app import create_app
from tests.appliance_helpers import in_ci
from tests.browser import launch
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "content" / "samples"


@pytest.fixture(scope="session", autouse=True)
def english_console() -> Iterator[None]:
    """The CLI speaks the console's language; the tests expect English whatever LANG is."""
    saved = {name: os.environ.get(name) for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    os.environ.update(LANGUAGE="en", LC_ALL="C.UTF-8", LC_MESSAGES="C.UTF-8")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def config(data_dir: Path) -> Config:
    return load_config(data_dir, {"load_samples": False}, environ={})


@pytest.fixture
def app(config: Config) -> Flask:
    return create_app(prepare_data_dir(config))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _without_clock_rights(argv: list[str]) -> list[str]:
    """Tests run as root, and a hub corrects the system clock from a coach's device: a test
    server must never be able to set this machine's real clock (one did, to 2099)."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")  # util-linux, on every Debian
    if setpriv is None:
        raise RuntimeError("setpriv (util-linux) is needed to run test servers as root")
    return [setpriv, "--bounding-set=-sys_time", *argv]


class ServerProcess:
    """A server of ours in its own process on 127.0.0.1, started as an operator would."""

    name = "server"

    def __init__(self, data_dir: Path, argv: list[str], env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"{self.name}-{self.port}.log"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                _without_clock_rights(argv), stdout=log, stderr=subprocess.STDOUT, env=env
            )

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()}")
            with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                return response.status == 200

        eventually(
            answers,
            timeout,
            ignoring=(OSError,),
            what=lambda: f"for {self.name} to answer: {self.log.read_text()}",
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class LiveServer(ServerProcess):
    """`learnhub serve` on a free port."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        # Test servers stay quiet on the network unless a test asks them to advertise.
        environment = {**os.environ, "LEARNHUB_ADVERTISE": "false", **(env or {})}
        environment.pop("LEARNHUB_DATA", None)
        argv = [
            sys.executable,
            "-m",
            "hub",
            "serve",
            "--data",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        super().__init__(data_dir, argv, environment)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through playwright (never `playwright install`: no downloads here)."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real hub with the sample library, shared by the HTTP tests that only read."""
    server = LiveServer(tmp_path_factory.mktemp("live") / "data")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


# -- in CI every test runs ----------------------------------------------------------------------

# Skips CI accepts, by test id (as pytest prints it) and why. Keep it empty: a skip in CI is a
# test nobody runs, and it passes silently.
ALLOWED_SKIPS_IN_CI: dict[str, str] = {}

_skipped: list[tuple[str, str]] = []


def _note_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if report.nodeid not in ALLOWED_SKIPS_IN_CI:
            _skipped.append((report.nodeid, reason))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note_skip(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CI set (.ci/run sets CI=true) a skipped test fails the run: CI installs everything
    the tests need, so a skip there means a test that silently stopped running."""
    if in_ci() and _skipped and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if in_ci() and _skipped:
        terminalreporter.section("tests skipped in CI (CI is set: a skip fails the run)", red=True)
        for nodeid, reason in _skipped:
            terminalreporter.line(f"{nodeid}: {reason}", red=True)
        terminalreporter.line(
            "CI installs every tool and package the tests need (scripts/test); make these run, "
            "or add them to ALLOWED_SKIPS_IN_CI in tests/conftest.py with the reason."
        )
