"""Helpers for the central server's tests: fake hubs that write bundles, a PostgreSQL schema
per test, and the totals a replay must leave unchanged. The fixtures are in central_fixtures.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import EnvironBuilder, FlaskClient

from sync.bundle import PartSpec, bundle_name, write_bundle
from sync.central.hubs import enrol
from sync.hlc import pack as pack_hlc
from sync.identity import KeyPair, load_or_create, public_identity
from sync.records import EventRow, encode_events, roster_record
from sync.request_auth import signed_headers
from tests.conftest import ServerProcess, free_port
from tests.waiting import eventually

POSTGRES_ENV = "LEARNHUB_TEST_POSTGRES"
BACKENDS = ["sqlite", "postgresql"]
NOW_MS = 1_750_000_000_000


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"{POSTGRES_ENV} is not set: scripts/test installs and starts PostgreSQL as root "
            "and sets it; without it only the SQLite variant runs."
        )
    return url


class PostgresSchema:
    """A fresh schema per test in the test database, dropped afterwards."""

    def __init__(self) -> None:
        import psycopg

        self.base = postgres_base_url()
        self.name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.name}")

    @property
    def url(self) -> str:
        joiner = "&" if "?" in self.base else "?"
        return f"{self.base}{joiner}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")


def uid() -> str:
    return uuid.uuid4().hex


class FakeHub:
    """Writes hub bundles the way a hub does: its own key, epoch, seq and HLC."""

    def __init__(self, folder: Path, name: str = "Hub", clock_ms: int = NOW_MS) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.keys = load_or_create(folder)
        self.name = name
        self.epoch = secrets.token_hex(8)
        self.clock_ms = clock_ms
        self.previous: str | None = None
        self.have: dict[str, str] = {}
        self.acked: str | None = None

    @property
    def hub_id(self) -> str:
        return self.keys.hub_id

    def identity(self) -> dict[str, Any]:
        return public_identity(self.keys, self.name)

    def enrol(self) -> FakeHub:
        enrol(self.identity())
        return self

    def event(
        self,
        seq: int,
        learner: str,
        lesson: str = "l1",
        type: str = "progress",
        fields: dict[str, Any] | None = None,
        pack: str = "pack-a",
    ) -> EventRow:
        """An event whose HLC and wall time follow this hub's (maybe wrong) clock."""
        wall = self.clock_ms + seq * 1000
        return EventRow(seq, pack_hlc(wall, 0), wall, learner, pack, lesson, type, fields or {})

    def bundle(
        self,
        events: list[EventRow] | None = None,
        roster: list[dict[str, Any]] | None = None,
        out: Path | None = None,
        epoch: str | None = None,
        event_parts: list[list[EventRow]] | None = None,
        parts: list[PartSpec] | None = None,
        **extra: Any,
    ) -> Path:
        """A signed hub bundle; `event_parts` writes several events parts (for odd cases),
        `parts` are added as they are (shared records, blobs)."""
        groups = event_parts or ([sorted(events, key=lambda e: e.seq)] if events else [])
        events = [event for group in groups for event in group]
        header = {
            "kind": "hub",
            "sender": self.hub_id,
            "recipient": "central",
            "hub_id": self.hub_id,
            "epoch": epoch or self.epoch,
            "seq": (
                {"first": min(e.seq for e in events), "last": max(e.seq for e in events)}
                if events
                else None
            ),
            "hlc": (
                {"first": min(e.hlc for e in events), "last": max(e.hlc for e in events)}
                if events
                else None
            ),
            "previous": self.previous,
            "created": self.clock_ms + len(events),
            "have": dict(self.have),
            **({"acked": self.acked} if self.acked else {}),
            **extra,
        }
        written = [
            PartSpec(f"events-{n}", "events", records=list(encode_events(group)))
            for n, group in enumerate(groups)
        ]
        if roster:
            written.append(PartSpec("roster", "roster", records=roster))
        written += parts or []
        folder = out or self.folder / "outbox"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / bundle_name(header)
        count = 2
        while path.exists():
            path = folder / f"{path.stem.rsplit('~', 1)[0]}~{count}.lhb"
            count += 1
        self.previous = write_bundle(path, self.keys, header, written)
        return path

    def learner_record(self, learner_uid: str, name: str, hlc: int, **fields: Any) -> dict:
        return roster_record("learner", learner_uid, hlc, self.hub_id, display_name=name, **fields)


class SigningClient(FlaskClient):
    """A Flask test client that signs each request as the hub whose `keys` it holds, the way
    a hub signs its sync calls (sync.request_auth); unsigned while `keys` is None."""

    keys: KeyPair | None = None

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if self.keys is None or not args or not isinstance(args[0], str):
            return super().open(*args, **kwargs)
        builder = EnvironBuilder(self.application, *args, **kwargs)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        body = environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        method = environ["REQUEST_METHOD"]
        signed = signed_headers(
            self.keys, method, environ["PATH_INFO"], b"" if method == "PUT" else body
        )
        for name, value in signed.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        return super().open(environ, follow_redirects=kwargs.get("follow_redirects", False))


def http_call(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
    keys: KeyPair | None = None,
) -> tuple[int, dict[str, Any]]:
    """One request to a real server: (status, JSON answer), signed as `keys`' hub if given
    (a chunk's body is not covered, as a hub signs it)."""
    headers = dict(headers or {})
    if keys is not None:
        covered = b"" if method == "PUT" else (body or b"")
        headers.update(signed_headers(keys, method, urllib.parse.urlsplit(url).path, covered))
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def progress_of(learner_uid: str) -> dict[tuple[str, str], dict[str, Any]]:
    from sync.central.models import Progress

    return {(p.pack_id, p.lesson_id): p.as_json() for p in Progress.of_learner(learner_uid)}


def totals() -> dict[str, Any]:
    """Everything a replay must leave unchanged, in one comparable value."""
    from sync.central.models import Event, LearnerHub, Progress, Quarantine, Stream

    return {
        "events": Event.select().count(),
        "quarantine": Quarantine.select().count(),
        "progress": sorted(tuple(sorted(p.as_json().items())) for p in Progress.select()),
        "learner_hub": sorted((r.learner_uid, r.hub_id, r.events) for r in LearnerHub.select()),
        "streams": sorted(
            (s.hub_id, s.epoch, s.high_water, s.max_seq, s.events) for s in Stream.select()
        ),
    }


def central_argv(*args: str) -> list[str]:
    """`learnhub central ARGS` as a subprocess runs it."""
    return [sys.executable, "-m", "hub", "central", *args]


def database_args(url: str | None) -> list[str]:
    return ["--database", url] if url else []


def clean_env(**extra: str) -> dict[str, str]:
    environment = {**os.environ, **extra}
    for name in ("LEARNHUB_DATA", "LEARNHUB_CENTRAL_DATA", "LEARNHUB_CENTRAL_DATABASE"):
        environment.pop(name, None)
    return environment


class CentralServer(ServerProcess):
    """`learnhub central serve` in its own process on 127.0.0.1."""

    name = "central"

    def __init__(self, data_dir: Path, url: str | None, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        argv = central_argv(
            "serve",
            "--data",
            str(data_dir),
            *database_args(url),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--threads",
            "2",
        )
        super().__init__(data_dir, argv, clean_env(**(env or {})))


def wait_for_file(path: Path, process: subprocess.Popen, timeout: float = 60.0) -> None:
    def there() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the process ended ({process.returncode}) before {path.name}")
        return path.exists()

    eventually(there, timeout, interval=0.02, what=f"for {path}")
