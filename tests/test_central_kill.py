"""kill -9 of central in the middle of applying a bundle (a real `learnhub central import`
and a real `learnhub central serve` on 127.0.0.1), then again: the same totals as one clean
apply, and nothing half-applied in between. SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import subprocess
import threading

import pytest

from sync.central.apply import PAUSE_ENV
from sync.central.db import connected, open_central
from sync.central.models import BundleIn, Hub, Progress, Stream
from sync.central.service import Central
from tests.central_helpers import (
    CentralServer,
    FakeHub,
    central_argv,
    clean_env,
    database_args,
    http_call,
    totals,
    uid,
    wait_for_file,
)

pytest_plugins = ["tests.central_fixtures"]

pytestmark = pytest.mark.server

EVENTS = 3000


def many_events(hub):
    rng = random.Random(5)
    learners = [uid() for _ in range(40)]
    events = []
    for seq in range(1, EVENTS + 1):
        kind = rng.choice(["progress", "progress", "attempt", "completed"])
        fields = {"progress": rng.randint(0, 10) / 10, "time_spent": rng.randint(1, 90)}
        if kind == "attempt":
            fields = {"score": rng.randint(0, 4) / 4, "mastered": rng.random() < 0.2}
        events.append(hub.event(seq, rng.choice(learners), f"l{rng.randint(1, 12)}", kind, fields))
    return events


def expected_totals(tmp_path, hub, bundle):
    """What one clean apply gives, on a SQLite central of its own."""
    control = Central.open(tmp_path / "control", None)
    with connected():
        hub.enrol()
        control.apply(bundle)
        found = totals()
    control.close()
    return found


def nothing_applied(hub_id):
    assert Stream.select().count() == 0
    assert Progress.select().count() == 0
    assert BundleIn.select().count() == 0
    assert Hub.by_id(hub_id).last_contact is None
    assert totals()["events"] == 0


def prepared(tmp_path, central_url):
    """A central with the hub enrolled, and the hub's bundle on a stick."""
    hub = FakeHub(tmp_path / "hub", "Hub")
    stick = tmp_path / "stick"
    bundle = hub.bundle(many_events(hub), out=stick / "learnhub-sync")
    want = expected_totals(tmp_path, hub, bundle)
    service = Central.open(tmp_path / "central", central_url)
    with connected():
        hub.enrol()
    service.close()
    return hub, stick, bundle, want


def reopen(tmp_path, central_url):
    open_central(central_url, tmp_path / "central")


def test_kill_9_during_central_import_then_import_again(tmp_path, central_url):
    hub, stick, _, want = prepared(tmp_path, central_url)
    data = ["--data", str(tmp_path / "central"), *database_args(central_url)]
    marker = tmp_path / "paused"
    process = subprocess.Popen(
        central_argv("import", str(stick), *data),
        env=clean_env(**{PAUSE_ENV: str(marker)}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_file(marker, process)  # its rows are in, not committed
    finally:
        process.kill()
        process.wait()
    reopen(tmp_path, central_url)
    with connected():
        nothing_applied(hub.hub_id)
    done = subprocess.run(
        central_argv("import", str(stick), *data),
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"{EVENTS} new" in done.stdout
    reopen(tmp_path, central_url)
    with connected():
        assert totals() == want


def call(url, method="GET", body=None, headers=None, timeout=30, keys=None):
    return http_call(url, method, body, headers, timeout, keys)


def upload_whole(server, bundle, keys):
    data = bundle.read_bytes()
    status, opened = call(
        server.url + "/api/sync/uploads",
        "POST",
        json.dumps({"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}).encode(),
        {"Content-Type": "application/json"},
        keys=keys,
    )
    assert status == 201, opened
    upload = f"{server.url}/api/sync/uploads/{opened['upload_id']}"
    status, put = call(
        upload,
        "PUT",
        data,
        {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"},
        keys=keys,
    )
    assert (status, put) == (200, {"received": len(data)})
    return upload


def test_kill_9_of_central_serve_during_an_upload_s_apply_then_finish_again(tmp_path, central_url):
    hub, _, bundle, want = prepared(tmp_path, central_url)
    marker = tmp_path / "paused"
    server = CentralServer(tmp_path / "central", central_url, env={PAUSE_ENV: str(marker)})
    try:
        server.wait_until_ready()
        upload = upload_whole(server, bundle, hub.keys)
        finishing = threading.Thread(
            target=lambda: _ignore_errors(
                call, upload + "/finish", "POST", b"", None, 120, hub.keys
            )
        )
        finishing.start()
        wait_for_file(marker, server.process)
    finally:
        server.kill()
    finishing.join(timeout=30)
    reopen(tmp_path, central_url)
    with connected():
        nothing_applied(hub.hub_id)
    again = CentralServer(tmp_path / "central", central_url)
    try:
        again.wait_until_ready()
        # The upload survived the crash whole: finishing it now applies it once.
        resumed = upload.replace(server.url, again.url)
        assert call(resumed, keys=hub.keys)[1]["received"] == bundle.stat().st_size
        status, answer = call(resumed + "/finish", "POST", b"", keys=hub.keys)
        assert status == 200, answer
        assert answer["receipt"]["high_water"] == EVENTS
        assert answer["applied"]["accepted"] == EVENTS
    finally:
        again.stop()
    reopen(tmp_path, central_url)
    with connected():
        assert totals() == want


def _ignore_errors(function, *args):
    # The server is killed under this request: that is the point.
    with contextlib.suppress(OSError):
        function(*args)
