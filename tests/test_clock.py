"""The hub's clock on a Pi with no battery clock: never earlier than a time already seen, and
corrected forward (only) by a signed-in coach's or operator's browser, with a record of who."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.core.clock import CORRECTION_THRESHOLD, PERSIST_EVERY, ClockError, HubClock
from hub.core.db import connected
from tests.progress_helpers import add_coach, add_learner, sign_in, sign_in_staff

DAY = 86400.0
NOW = datetime(2025, 5, 20, 9, 0, tzinfo=UTC).timestamp()


class FakeTime:
    """A wall clock and a monotonic clock the test moves by hand."""

    def __init__(self, wall: float, mono: float = 1000.0) -> None:
        self.wall = wall
        self.mono = mono
        self.set_to: list[float] = []

    def tick(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds

    def setter(self, epoch: float) -> None:
        self.set_to.append(epoch)
        self.wall = epoch


def make_clock(data_dir: Path, t: FakeTime) -> HubClock:
    return HubClock(data_dir, wall=lambda: t.wall, setter=t.setter, monotonic=lambda: t.mono)


def test_time_never_goes_back_and_keeps_counting(tmp_path: Path) -> None:
    t = FakeTime(NOW)
    clock = make_clock(tmp_path, t)
    assert clock.now() == NOW
    t.wall -= 365 * DAY  # the clock jumps back a year (a bad NTP fix)
    t.mono += 60
    assert clock.now() == NOW + 60  # one minute later, by the monotonic clock
    assert clock.behind() == 365 * DAY + 60
    t.wall = NOW + 3600  # right again
    t.mono += 10
    assert clock.now() == NOW + 3600


def test_last_seen_survives_a_restart_without_a_clock(tmp_path: Path) -> None:
    t = FakeTime(NOW)
    clock = make_clock(tmp_path, t)
    clock.now()
    t.tick(PERSIST_EVERY + 1)  # written at most every PERSIST_EVERY seconds (SD card)
    clock.now()
    saved = json.loads((tmp_path / "clock.json").read_text())
    assert saved["last_seen"] == NOW + PERSIST_EVERY + 1
    # Power cut; the Pi boots in 1970 with a fresh monotonic clock.
    booted = FakeTime(0.0, mono=5.0)
    again = make_clock(tmp_path, booted)
    assert again.now() == NOW + PERSIST_EVERY + 1
    booted.tick(30)
    assert again.now() == NOW + PERSIST_EVERY + 31


@pytest.mark.parametrize(
    "content", ["", "{", '{"last_seen": "soon"}', '{"last_seen": 1e300}', "[]"]
)
def test_a_broken_state_file_is_ignored(tmp_path: Path, content: str) -> None:
    (tmp_path / "clock.json").write_text(content)
    clock = make_clock(tmp_path, FakeTime(NOW))
    assert clock.now() == NOW


def test_a_browser_corrects_a_hub_that_is_behind(tmp_path: Path) -> None:
    t = FakeTime(NOW - 2 * DAY)
    clock = make_clock(tmp_path, t)
    result = clock.correct(NOW, "carter", "coach", "10.42.0.23")
    assert result.changed and result.reason == "corrected"
    assert t.set_to == [NOW]
    assert clock.now() == NOW
    [entry] = clock.corrections()
    assert entry["by"] == "carter" and entry["role"] == "coach"
    assert entry["at"] == "2025-05-20T09:00:00+00:00"
    assert entry["hub_clock_was"] == "2025-05-18T09:00:00+00:00"
    assert entry["client"] == "10.42.0.23"
    assert json.loads((tmp_path / "clock.json").read_text())["last_seen"] == NOW


def test_small_differences_and_a_hub_ahead_change_nothing(tmp_path: Path) -> None:
    t = FakeTime(NOW)
    clock = make_clock(tmp_path, t)
    assert clock.correct(NOW + CORRECTION_THRESHOLD - 1, "a", "coach").reason == "in_sync"
    assert clock.correct(NOW - 3600, "a", "coach").reason == "hub_ahead"  # never set back
    assert t.set_to == [] and clock.corrections() == []


def test_a_browser_earlier_than_what_the_hub_saw_is_refused(tmp_path: Path) -> None:
    t = FakeTime(NOW)
    clock = make_clock(tmp_path, t)
    clock.now()
    t.wall = NOW - 30 * DAY  # the system clock went back a month
    t.mono += 60
    # A phone whose clock is a week behind: the hub is "behind" it, but the hub already saw
    # later times, so the phone is the one that is wrong.
    result = clock.correct(NOW - 7 * DAY, "a", "operator")
    assert not result.changed and result.reason == "before_last_seen"
    assert t.set_to == []


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, 5e9])
def test_absurd_browser_times_are_refused(tmp_path: Path, value: float) -> None:
    with pytest.raises(ValueError):
        make_clock(tmp_path, FakeTime(NOW)).correct(value, "a", "coach")


def test_a_setter_that_may_not_set_the_clock_changes_nothing(tmp_path: Path) -> None:
    def refuse(epoch: float) -> None:
        raise ClockError("The hub is not allowed to set its clock.")

    clock = HubClock(tmp_path, wall=lambda: NOW - DAY, setter=refuse)
    with pytest.raises(ClockError):
        clock.correct(NOW, "a", "operator")
    assert clock.corrections() == []


# --- POST /api/clock ----------------------------------------------------------------------


@pytest.fixture
def fake_time(app: Flask, tmp_path: Path) -> FakeTime:
    """The app's clock, three days behind, in a folder of its own."""
    t = FakeTime(NOW - 3 * DAY)
    app.extensions["clock"] = make_clock(tmp_path / "clock", t)
    return t


@pytest.fixture
def coach(app: Flask, client: FlaskClient) -> FlaskClient:
    with connected():
        add_coach()
    sign_in_staff(client, "coach-carter")
    return client


def test_a_coach_corrects_the_hub(coach: FlaskClient, fake_time: FakeTime, tmp_path: Path) -> None:
    answer = coach.post("/api/clock", json={"browser_ms": NOW * 1000})
    assert answer.status_code == 200, answer.json
    assert answer.json["changed"] is True and answer.json["reason"] == "corrected"
    assert answer.json["hub_time_ms"] == NOW * 1000
    assert fake_time.set_to == [NOW]
    [line] = (tmp_path / "clock" / "clock-corrections.jsonl").read_text().splitlines()
    assert json.loads(line)["by"] == "coach-carter"
    again = coach.post("/api/clock", json={"browser_ms": NOW * 1000 + 1000})
    assert again.json["changed"] is False and again.json["reason"] == "in_sync"


def test_nobody_and_learners_may_not_set_the_clock(
    app: Flask, client: FlaskClient, fake_time: FakeTime
) -> None:
    assert client.post("/api/clock", json={"browser_ms": NOW * 1000}).status_code == 401
    with connected():
        add_learner("Amina Juma")
    sign_in(client, "amina-juma")
    assert client.post("/api/clock", json={"browser_ms": NOW * 1000}).status_code == 403
    assert fake_time.set_to == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"browser_ms": "tomorrow"}, 400),
        ({"browser_ms": True}, 400),
        ({"browser_ms": None}, 400),
        ({"browser_ms": 1000}, 400),  # 1970: a device with a dead clock
        ({"browser_ms": 1e300}, 400),
    ],
)
def test_bad_bodies_are_refused(coach: FlaskClient, fake_time: FakeTime, body, status) -> None:
    answer = coach.post("/api/clock", json=body)
    assert answer.status_code == status
    assert answer.json["error"]["message"].endswith(".")
    assert fake_time.set_to == []


def test_a_form_post_or_another_site_is_refused(coach: FlaskClient, fake_time: FakeTime) -> None:
    form = coach.post("/api/clock", data={"browser_ms": str(NOW * 1000)})
    assert form.status_code == 415
    other = coach.post(
        "/api/clock", json={"browser_ms": NOW * 1000}, headers={"Origin": "http://evil.example"}
    )
    assert other.status_code == 403
    assert fake_time.set_to == []


def test_when_the_hub_may_not_set_its_clock_the_coach_is_told(
    app: Flask, coach: FlaskClient, fake_time: FakeTime
) -> None:
    def refuse(epoch: float) -> None:
        raise ClockError("The hub is not allowed to set its clock (see the operator guide).")

    app.extensions["clock"].setter = refuse
    answer = coach.post("/api/clock", json={"browser_ms": NOW * 1000})
    assert answer.status_code == 503
    assert answer.json["error"]["code"] == "clock_not_settable"


def test_requests_keep_last_seen_current(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    t = FakeTime(NOW)
    app.extensions["clock"] = make_clock(tmp_path, t)
    client.get("/healthz")
    t.tick(PERSIST_EVERY + 5)
    client.get("/healthz")
    assert json.loads((tmp_path / "clock.json").read_text())["last_seen"] == t.wall


def test_the_app_keeps_its_clock_in_the_data_dir(
    app: Flask, client: FlaskClient, data_dir: Path
) -> None:
    client.get("/healthz")
    assert app.extensions["clock"].data_dir == data_dir
    assert json.loads((data_dir / "clock.json").read_text())["last_seen"] > NOW


def test_test_servers_cannot_set_this_machines_clock(tmp_path: Path) -> None:
    """The suite runs as root in CI; a live hub told a far date must not move the real clock."""
    from tests.conftest import LiveServer

    server = LiveServer(tmp_path / "data", env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        server.wait_until_ready()
        status = Path(f"/proc/{server.process.pid}/status").read_text()
    finally:
        server.stop()
    bounding = int(
        next(line for line in status.splitlines() if line.startswith("CapBnd:")).split()[1], 16
    )
    cap_sys_time = 25
    assert not bounding & (1 << cap_sys_time)
