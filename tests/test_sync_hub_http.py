"""Sync over HTTP against a stand-in central on 127.0.0.1: resumable chunked uploads, the
bandwidth cap (with an injected clock), progress before content, and the background thread's
backoff (with an injected sleeper)."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from pathlib import Path

import pytest
from flask import Flask

from hub.core.db import connected, db
from hub.hubsync.background import BackgroundSync, start_background
from hub.hubsync.bandwidth import Bandwidth, DailyLimitReached, stored_bandwidth
from hub.hubsync.central_client import CentralClient
from hub.hubsync.models import HubState, SentBundle
from hub.hubsync.push import push
from hub.hubsync.service import SyncError, SyncService
from hub.learning.events import Event
from hub.people.models import ClassGroup
from tests.fake_central import FakeCentral
from tests.sync_hub_helpers import central_record, learner, new_keys, service_of

pytestmark = pytest.mark.server

CHUNK = 2048


class FakeClock:
    """Seconds that pass only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def noisy_events(app: Flask, count: int) -> None:
    """Events whose fields compress badly, so a bundle spans many chunks (written in one
    go: the event log's one-commit-per-event durability is not what these tests are about)."""
    who = learner()
    rng = random.Random(5)
    clock = app.extensions["events"].clock
    rows = [
        {
            "hlc": clock.tick(),
            "wall_time": 1_800_000_000_000 + n,
            "boot_id": "test",
            "learner": who.id,
            "pack_id": "fractions-en",
            "lesson_id": "halves",
            "type": "progress",
            "fields": {"progress": rng.random(), "time_spent": rng.random() * 60},
        }
        for n in range(count)
    ]
    with connected(), db.atomic():
        Event.insert_many(rows).execute()


@pytest.fixture
def service(app: Flask) -> SyncService:
    return service_of(app)


def central_for(app: Flask, tmp_path: Path, cut: str | None = None) -> FakeCentral:
    folder = tmp_path / "central"
    folder.mkdir(exist_ok=True)
    return FakeCentral(new_keys(), app.extensions["keys"], folder, cut)


def unlimited() -> Bandwidth:
    return Bandwidth()


def with_settings(service: SyncService, **values: object) -> SyncService:
    config = dataclasses.replace(service.config, **values)
    return SyncService(config, service.keys, service.library)


# --- resumable upload --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["lost", "ack_lost"])
def test_an_upload_cut_at_half_resumes_from_the_acknowledged_offset(
    app: Flask, service: SyncService, tmp_path: Path, mode: str
) -> None:
    noisy_events(app, 3000)
    with central_for(app, tmp_path, cut=mode) as central:
        with pytest.raises(SyncError, match="connection to central was lost"):
            push(service, central.url, bandwidth=unlimited(), chunk_size=CHUNK)
        with connected():
            [waiting] = SentBundle.waiting()
        size = (service.outbox / waiting.file_name).stat().st_size
        assert size > 10 * CHUNK
        first_attempt = len(central.puts)
        acknowledged = len(next(iter(central.uploads.values())).data)
        assert 0 < acknowledged < size
        assert state().last_error.startswith("The connection to central was lost")

        result = push(service, central.url, bandwidth=unlimited(), chunk_size=CHUNK)

    resumed = central.puts[first_attempt:]
    assert resumed[0][1] == acknowledged  # the second attempt starts where central stands
    assert len(central.uploads) == 1  # the same upload, not a new one from zero
    lost = CHUNK if mode == "lost" else 0
    assert central.put_bytes == size + lost  # at most the chunk in flight is sent twice
    assert result.uploaded == [waiting.file_name]
    assert not (service.outbox / waiting.file_name).exists()  # receipted, so removed
    assert state().last_error == ""


def state() -> HubState:
    with connected():
        return HubState.get_state()


def test_a_push_pins_central_and_applies_its_reply(
    app: Flask, service: SyncService, tmp_path: Path
) -> None:
    learner()
    with central_for(app, tmp_path) as central:
        central.reply_extra = {
            "roster": [central_record("class", "c" * 32, 1 << 41, name="From central")]
        }
        result = push(service, central.url, bandwidth=unlimited())
    assert state().central_id == central.identity()["central_id"]
    assert result.reply is not None and result.reply.roster.applied == 1
    with connected():
        assert ClassGroup.get(ClassGroup.uid == "c" * 32).name == "From central"
        assert SentBundle.waiting() == []
    assert state().last_sync is not None
    assert list(service.inbox.glob("*")) == []


def test_a_push_to_a_central_with_another_key_is_refused(
    app: Flask, service: SyncService, tmp_path: Path
) -> None:
    learner()
    with central_for(app, tmp_path) as central:
        push(service, central.url, bandwidth=unlimited())
    # Later another server answers with another key: refused before anything is sent.
    with (
        central_for(app, tmp_path) as impostor,
        pytest.raises(SyncError, match="presents another key"),
    ):
        push(service, impostor.url, bandwidth=unlimited())
    assert impostor.uploads == {} and impostor.finished == []


def test_no_central_address_is_one_sentence(service: SyncService) -> None:
    with pytest.raises(SyncError, match="No central server is set"):
        push(service)
    with pytest.raises(SyncError, match="not a central server address"):
        CentralClient("ftp://central")


def test_an_unreachable_central_is_one_sentence(service: SyncService) -> None:
    from tests.conftest import free_port

    client = CentralClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    assert client.healthz() is False
    with pytest.raises(SyncError, match="connection to central was lost"):
        push(service, client.base_url, bandwidth=unlimited())


# --- bandwidth -----------------------------------------------------------------------------


def test_bandwidth_cap_paces_bytes_per_second() -> None:
    clock = FakeClock()
    cap = Bandwidth(1000, clock=clock, sleep=clock.sleep)
    moved: list[tuple[float, int]] = []
    for _ in range(40):
        cap.take(250)
        moved.append((clock.now, 250))
    assert clock.now - 1000.0 == pytest.approx((40 - 1) * 250 / 1000)
    for start, _ in moved:  # no one-second window carries more than the cap (plus a piece)
        in_window = sum(n for t, n in moved if start <= t < start + 1.0)
        assert in_window <= 1000 + 250


def test_bandwidth_cap_holds_for_a_real_upload(
    app: Flask, service: SyncService, tmp_path: Path
) -> None:
    noisy_events(app, 3000)
    clock = FakeClock()
    cap = Bandwidth(8192, clock=clock, sleep=clock.sleep)
    with central_for(app, tmp_path) as central:
        result = push(service, central.url, bandwidth=cap, chunk_size=CHUNK * 4)
    moved = result.counters.sent + result.counters.received
    assert moved > 5 * 8192
    elapsed = clock.now - 1000.0
    assert elapsed >= (moved - 2 * cap.piece) / 8192  # paced, never faster than the cap
    assert elapsed <= moved / 8192 + 1
    assert max(clock.sleeps) <= cap.piece / 8192 + 1e-9  # small steps, not bursts


def test_daily_allowance_is_kept_across_restarts_and_progress_goes_first(
    app: Flask, service: SyncService, tmp_path: Path
) -> None:
    noisy_events(app, 800)
    day = ["2030-01-01"]

    def cap() -> Bandwidth:
        return stored_bandwidth(capped, today=lambda: day[0])

    with central_for(app, tmp_path) as central:
        central.reply_extra = {"blobs": [random.Random(1).randbytes(200_000)]}  # content
        service.export(ensure_one=False)
        with connected():
            [bundle] = SentBundle.waiting()
        upload_size = (service.outbox / bundle.file_name).stat().st_size
        # Room for the progress and a little more, not for the content.
        capped = with_settings(service, sync_bytes_per_day=upload_size + 60_000)
        with pytest.raises(DailyLimitReached, match="allowance"):
            push(capped, central.url, bandwidth=cap())
        with connected():
            assert SentBundle.waiting() == []  # the progress went up and was receipted
        [partial] = list(service.inbox.glob("*.part"))
        got_before = partial.stat().st_size
        assert 0 < got_before < 200_000
        assert state().budget_bytes > upload_size
        assert cap().left_today() < 60_000  # a restart does not reset the day's count
        [first_reply] = list((central.folder / "replies").glob("*.lhb"))
        day[0] = "2030-01-02"  # the next day: the download resumes where it stopped
        capped = with_settings(service, sync_bytes_per_day=10_000_000)
        result = push(capped, central.url, bandwidth=cap())
    assert result.reply is not None and result.reply.path.name == "reply.lhb"
    assert result.counters.received == first_reply.stat().st_size - got_before
    assert list(service.inbox.glob("*")) == []


# --- the background thread ----------------------------------------------------------------


def test_background_sync_backs_off_with_jitter_and_never_spins() -> None:
    delays: list[float] = []
    outcomes = iter([False, False, False, False, False, False, False, True, False])

    def wait(seconds: float) -> bool:
        delays.append(seconds)
        return len(delays) > 9  # then "stop"

    def attempt() -> None:
        if not next(outcomes):
            raise SyncError("Central cannot be reached.")

    jitters = iter([1.0, 0.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    worker = BackgroundSync(attempt, 900, wait=wait, jitter=lambda: next(jitters))
    worker.run()
    assert delays[0] == BackgroundSync.FIRST_DELAY
    assert delays[1:8] == [
        15.0,
        15.0,
        60.0,
        90.0,
        240.0,
        480.0,
        900.0,
    ]  # doubling, jittered, capped
    assert delays[8] == 900.0  # after a success: the normal interval
    assert min(delays) > 0


def test_background_sync_stops_at_once(tmp_path: Path) -> None:
    calls = []
    worker = BackgroundSync(lambda: calls.append(1), 900)
    worker.FIRST_DELAY = 3600.0
    worker.start()
    started = time.monotonic()
    worker.stop()
    assert time.monotonic() - started < 2
    assert not worker.worker.is_alive() and calls == []


def test_background_sync_starts_only_with_a_central_url(
    app: Flask, service: SyncService, tmp_path: Path
) -> None:
    assert start_background(service) is None
    worker = start_background(with_settings(service, central_url="http://127.0.0.1:9"))
    try:
        assert worker is not None and worker.worker.is_alive()
    finally:
        worker.stop()
    assert not worker.worker.is_alive()


def test_background_attempt_syncs_when_central_answers(
    app: Flask, service: SyncService, tmp_path: Path
) -> None:
    from hub.hubsync.background import background_attempt

    learner()
    with central_for(app, tmp_path) as central:
        central.healthy = False
        attempt = background_attempt(service, central.url)
        with pytest.raises(SyncError, match="cannot be reached"):
            attempt()
        assert central.finished == []  # a probe only: nothing was uploaded
        central.healthy = True
        done = threading.Event()
        waits = []

        def wait(seconds: float) -> bool:
            waits.append(seconds)
            return done.is_set() or len(waits) > 3

        worker = BackgroundSync(lambda: (attempt(), done.set()), 900, wait=wait)
        worker.run()
    assert central.finished and state().last_sync is not None


def test_one_push_at_a_time(app: Flask, service: SyncService, tmp_path: Path) -> None:
    import fcntl

    with open(service.config.data_dir / "push.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process is pushing
        with pytest.raises(SyncError, match="Another sync with central is running"):
            push(service, "http://127.0.0.1:9", bandwidth=unlimited())
        fcntl.flock(held, fcntl.LOCK_UN)


def test_an_empty_bundle_asks_central_for_what_waits(
    app: Flask, service: SyncService, tmp_path: Path
) -> None:
    with central_for(app, tmp_path) as central:
        push(service, central.url, bandwidth=unlimited())  # nothing recorded yet
        central.reply_extra = {
            "roster": [central_record("class", "e" * 32, 1 << 41, name="Sent later")]
        }
        push(service, central.url, bandwidth=unlimited())
    assert len(central.finished) == 2
    with connected():
        assert ClassGroup.get(ClassGroup.uid == "e" * 32).name == "Sent later"
        assert SentBundle.select().count() == 0  # empty bundles leave nothing behind
