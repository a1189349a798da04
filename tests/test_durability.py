"""Nothing lost: every progress event a real `learnhub serve` answered 201 for is still there
after the server is killed with SIGKILL (no shutdown, no flush) and started again."""

from __future__ import annotations

import http.client
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from hub.core.db import connected, db
from tests.conftest import LiveServer
from tests.progress_helpers import Session, events_in, learner_ids, prepare_hub

pytestmark = pytest.mark.server

LESSON = ("fractions-en", "what-is-a-fraction")
LEARNERS = ["Dora Durable", "Kito Mbili", "Lulu Tatu", "Musa Nne"]
USERNAMES = ["dora-durable", "kito-mbili", "lulu-tatu", "musa-nne"]


@pytest.fixture
def hub_dir(tmp_path: Path) -> Path:
    data = tmp_path / "hub"
    prepare_hub(data, learners=LEARNERS)
    return data


@pytest.fixture
def servers() -> Iterator[list[LiveServer]]:
    """Servers a test starts; whatever is still running at the end is stopped."""
    started: list[LiveServer] = []
    yield started
    for server in started:
        server.stop()


def start(data_dir: Path, servers: list[LiveServer]) -> LiveServer:
    server = LiveServer(data_dir)
    servers.append(server)
    server.wait_until_ready()
    return server


def kill_9(server: LiveServer) -> None:
    server.process.kill()  # SIGKILL: no atexit, no finally, no checkpoint
    assert server.process.wait(timeout=10) == -signal.SIGKILL


def progress_body(n: int, time_spent: float) -> dict:
    return {
        "pack_id": LESSON[0],
        "lesson_id": LESSON[1],
        "type": "progress",
        "progress": min(n / 1000, 1.0),
        "time_spent": time_spent,
        "position": n,
    }


def test_acknowledged_events_survive_kill_9(hub_dir: Path, servers: list[LiveServer]) -> None:
    server = start(hub_dir, servers)
    client = Session(server.url)
    client.sign_in(USERNAMES[0])
    acknowledged = {}
    for n in range(1, 61):
        status, body = client.call("POST", "/api/progress", progress_body(n, 1.5))
        assert status == 201, body
        acknowledged[body["seq"]] = n
    kill_9(server)

    again = start(hub_dir, servers)
    events = {e["seq"]: e for e in events_in(hub_dir / "learnhub.db")}
    for seq, n in acknowledged.items():
        assert events[seq]["fields"] == {"progress": n / 1000, "time_spent": 1.5, "position": n}
    reader = Session(again.url)
    reader.sign_in(USERNAMES[0])
    row = reader.my_progress()[LESSON]
    assert row["time_spent"] == 90.0 and row["progress"] == 0.06
    # And the restarted hub goes on recording after them.
    status, body = reader.call("POST", "/api/progress", progress_body(61, 1.5))
    assert status == 201 and body["seq"] > max(acknowledged)
    assert body["hlc"] > max(events[seq]["hlc"] for seq in acknowledged)


def post_until_stopped(session: Session, acknowledged: list[int], stop: threading.Event) -> None:
    """Post as fast as the server answers; keep the seq of every 201. The kill ends it."""
    n = 0
    while not stop.is_set():
        n += 1
        try:
            status, body = session.call("POST", "/api/progress", progress_body(n, 1.0))
        except (OSError, http.client.HTTPException):
            return  # the server is gone: this request was never acknowledged
        assert status == 201, body
        acknowledged.append(body["seq"])


def test_kill_9_while_several_learners_post_at_once(
    hub_dir: Path, servers: list[LiveServer]
) -> None:
    server = start(hub_dir, servers)
    sessions = []
    for username in USERNAMES:
        session = Session(server.url)
        session.sign_in(username)
        sessions.append(session)
    acknowledged: list[list[int]] = [[] for _ in sessions]
    stop = threading.Event()
    workers = [
        threading.Thread(target=post_until_stopped, args=(s, acked, stop))
        for s, acked in zip(sessions, acknowledged, strict=True)
    ]
    for worker in workers:
        worker.start()
    try:
        while sum(map(len, acknowledged)) < 300 and all(w.is_alive() for w in workers):
            threading.Event().wait(0.02)
        assert all(w.is_alive() for w in workers), "a poster stopped before the kill"
        kill_9(server)  # while requests are in flight
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    counts = list(map(len, acknowledged))
    assert min(counts) > 10, counts  # every thread really posted concurrently

    again = start(hub_dir, servers)
    events = events_in(hub_dir / "learnhub.db")
    ids = learner_ids(hub_dir / "learnhub.db")
    stored = {e["seq"] for e in events}
    for acked in acknowledged:
        assert set(acked) <= stored
    for username, acked in zip(USERNAMES, acknowledged, strict=True):
        reader = Session(again.url)
        reader.sign_in(username)
        row = reader.my_progress()[LESSON]
        logged = [e for e in events if e["learner_id"] == ids[username]]
        # Each event and its progress fold were one transaction: the derived row matches the
        # log exactly, and holds at least every acknowledged report (1 s each).
        assert row["time_spent"] == pytest.approx(sum(e["fields"]["time_spent"] for e in logged))
        assert row["time_spent"] >= len(acked)
        assert len(set(acked)) == len(acked)


def test_the_event_log_is_synced_to_disk_on_every_commit(app: Flask) -> None:
    """Power loss, not only a crash: WAL with synchronous=FULL (2) on the hub's connection."""
    with connected():
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA synchronous").fetchone()[0] == 2
