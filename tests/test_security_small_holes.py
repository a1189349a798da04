"""Small holes closed: JSON nested too deep is a 400, odd file names are a 404, one traceback a
minute per bug however often a client trips it, and a clock correction stays in a sane window
and can be taken back without disturbing the order of events."""

from __future__ import annotations

import io
import json
import logging
import re
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.core.clock import ClockError, HubClock
from hub.core.db import connected
from hub.core.log_limit import OncePerInterval
from hub.learning.events import EventLog
from hub.people.models import StaffUser
from sync.bundle import BundleError, peek
from sync.hlc import HybridClock, unpack
from tests.central_helpers import CentralServer
from tests.conftest import LiveServer
from tests.progress_helpers import Session, add_coach, add_learner, prepare_hub, sign_in_staff
from tests.test_admin import csrf
from tests.test_clock import DAY, NOW, FakeTime, make_clock

DEEP = "[" * 100000
JSON = {"Content-Type": "application/json"}
FAR_FUTURE_MS = datetime(2099, 1, 1, tzinfo=UTC).timestamp() * 1000


def post_raw(session: Session, path: str, body: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        session.base_url + path, data=body.encode(), method="POST", headers=JSON
    )
    try:
        with session.opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        err.close()
        return err.code


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real hub with the sample library, a learner (PIN 1234) and a coach."""
    data = tmp_path_factory.mktemp("holes") / "data"
    prepare_hub(data, learners=["Amina Juma"])
    with connected():
        add_coach()
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def assert_bad_json(status: int, body: Any) -> None:
    assert status == 400, body
    assert body["error"]["code"] == "bad_json"
    assert body["error"]["message"].endswith(".") and "\n" not in body["error"]["message"]


def test_deeply_nested_json_is_a_400_on_every_hub_call(hub: LiveServer) -> None:
    assert_bad_json(*post_raw(Session(hub.url), "/api/session", DEEP))
    learner = Session(hub.url)
    learner.sign_in("amina-juma")
    assert_bad_json(*post_raw(learner, "/api/progress", DEEP))
    attempts = "/api/lessons/fractions-en/fractions-quiz/attempts"
    assert_bad_json(*post_raw(learner, attempts, '{"answers": ' + DEEP))
    coach = Session(hub.url)
    status, body = coach.call(
        "POST", "/api/session", {"username": "coach-carter", "password": "coach-password"}
    )
    assert status == 201, body
    assert_bad_json(*post_raw(coach, "/api/clock", DEEP))
    assert "Traceback" not in hub.log.read_text()


def test_deeply_nested_json_is_a_400_at_central(tmp_path: Path) -> None:
    server = CentralServer(tmp_path / "central", None)
    try:
        server.wait_until_ready()
        assert_bad_json(*post_raw(Session(server.url), "/api/sync/join", DEEP))
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()


def test_a_bundle_with_a_deeply_nested_manifest_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.tar"
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        member = tarfile.TarInfo("manifest.json")
        member.size = len(DEEP)
        tar.addfile(member, io.BytesIO(DEEP.encode()))
    with pytest.raises(BundleError, match="not valid JSON"):
        peek(path)


ODD_PATHS = [
    "/static/x%00",
    "/static/%00",
    "/static/css/%00.css",
    "/static/" + "a" * 300,
    "/static/" + "a/" * 2000 + "x",
    "/static/%ff%fe",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/favicon.ico%00",
    "/files/fractions-en/x%00",
    "/files/fractions-en/" + "a" * 300,
    "/apps/fractions-en/fraction-builder/%00",
    "/blobs/%00",
]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_odd_file_names_are_not_found(hub: LiveServer, path: str) -> None:
    assert status_of(hub.url + path) == 404


def test_odd_file_names_leave_no_traceback(hub: LiveServer) -> None:
    for path in ODD_PATHS:
        status_of(hub.url + path)
    assert "Traceback" not in hub.log.read_text()


# --- one traceback a minute per bug -------------------------------------------------------


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def buggy(app: Flask) -> tuple[FlaskClient, Ticks]:
    """A route with a bug any client can trip, and the app's limiter on a clock we move."""

    def broken() -> str:
        return {}["missing"]

    app.add_url_rule("/broken/<name>", view_func=broken)
    ticks = Ticks()
    app.extensions["tracebacks"] = OncePerInterval(clock=ticks)
    return app.test_client(), ticks


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "hub.web.errors" and r.exc_info]


def test_the_same_client_error_twice_logs_one_traceback(
    buggy: tuple[FlaskClient, Ticks], caplog: pytest.LogCaptureFixture
) -> None:
    client, ticks = buggy
    with caplog.at_level(logging.ERROR, logger="hub.web.errors"):
        assert client.get("/broken/a").status_code == 500
        assert client.get("/broken/b").status_code == 500  # same bug, another URL
        assert len(tracebacks(caplog)) == 1
        ticks.now += 61
        assert client.get("/broken/c").status_code == 500
    logged = tracebacks(caplog)
    assert len(logged) == 2
    assert "1 more like it" in logged[1].getMessage()


def test_the_table_of_logged_errors_is_bounded() -> None:
    ticks = Ticks()
    limiter = OncePerInterval(size=3, clock=ticks)
    assert [limiter.allow(kind) for kind in "abcd"] == [0, 0, 0, 0]
    assert limiter.allow("d") is None  # seen within the minute
    assert limiter.allow("a") == 0  # forgotten to make room: logged again
    assert len(limiter._seen) == 3


# --- the clock: a sane window, and an undo ------------------------------------------------


def test_a_far_future_correction_is_refused(tmp_path: Path) -> None:
    t = FakeTime(NOW - 3 * DAY)
    clock = make_clock(tmp_path, t)
    result = clock.correct(FAR_FUTURE_MS / 1000, "coach-carter", "coach")
    assert not result.changed and result.reason == "too_far_ahead"
    assert t.set_to == [] and clock.corrections() == []


def test_the_window_counts_from_what_the_hub_can_vouch_for(tmp_path: Path) -> None:
    t = FakeTime(NOW)
    clock = HubClock(
        tmp_path,
        wall=lambda: t.wall,
        setter=t.setter,
        monotonic=lambda: t.mono,
        max_ahead_days=30,
        installed_at=NOW - 100 * DAY,
    )
    assert clock.correct(NOW + 31 * DAY, "a", "coach").reason == "too_far_ahead"
    assert clock.correct(NOW + 29 * DAY, "a", "coach").reason == "corrected"
    # A Pi that boots in 1970 and has seen nothing still knows when it was installed.
    fresh = HubClock(
        tmp_path / "fresh",
        wall=lambda: 1000.0,
        setter=t.setter,
        max_ahead_days=30,
        installed_at=NOW,
    )
    assert fresh.correct(NOW + 10 * DAY, "a", "coach").reason == "corrected"
    assert fresh.correct(NOW + 60 * DAY, "a", "coach").reason == "too_far_ahead"


def test_a_coach_setting_2099_is_refused_with_a_clear_message(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    # In-process with a fake setter, never against a real server: a hub that wrongly took
    # 2099 would set the clock of the machine running the tests.
    t = FakeTime(NOW - 3 * DAY)
    app.extensions["clock"] = make_clock(tmp_path / "clock", t)
    with connected():
        add_coach()
    sign_in_staff(client, "coach-carter")
    answer = client.post("/api/clock", json={"browser_ms": FAR_FUTURE_MS})
    assert answer.status_code == 200, answer.json
    assert answer.json["changed"] is False and answer.json["reason"] == "too_far_ahead"
    assert "too far ahead" in answer.json["message"]
    assert t.set_to == []
    assert not (tmp_path / "clock" / "clock-corrections.jsonl").exists()


def test_an_undo_takes_back_what_the_correction_added(tmp_path: Path) -> None:
    t = FakeTime(NOW - 3 * DAY)
    clock = make_clock(tmp_path, t)
    wrong = NOW + 400 * DAY  # a phone more than a year ahead, inside the window
    assert clock.correct(wrong, "coach-carter", "coach").changed
    t.tick(3600)
    undo = clock.undo_last("olive-operator", "operator")
    assert undo.changed and undo.reason == "undone"
    assert t.set_to == [wrong, NOW - 3 * DAY + 3600]
    assert clock.now() == NOW - 3 * DAY + 3600
    assert json.loads((tmp_path / "clock.json").read_text())["last_seen"] == t.wall
    newest = clock.corrections()[0]
    assert newest["undone"] == "2026-06-24T09:00:00+00:00" and newest["by"] == "olive-operator"
    # The same phone (an hour on for it too) is refused; a right one still corrects the hub.
    assert clock.correct(wrong + 3600, "coach-carter", "coach").reason == "undone_before"
    assert clock.correct(NOW + 3600, "coach-carter", "coach").reason == "corrected"


def test_an_undo_survives_a_restart_and_undoes_one_correction_at_a_time(tmp_path: Path) -> None:
    t = FakeTime(NOW - 3 * DAY)
    clock = make_clock(tmp_path, t)
    clock.correct(NOW, "coach-carter", "coach")  # right
    clock.correct(NOW + 100 * DAY, "coach-carter", "coach")  # then wrong
    again = make_clock(tmp_path, t)  # the hub restarts
    again.undo_last("olive-operator", "operator")
    assert again.now() == NOW
    after_restart = make_clock(tmp_path, t)
    assert after_restart.correct(NOW + 100 * DAY + 60, "a", "coach").reason == "undone_before"
    after_restart.undo_last("olive-operator", "operator")
    assert after_restart.now() == NOW - 3 * DAY
    with pytest.raises(ClockError, match="no clock correction to undo"):
        after_restart.undo_last("olive-operator", "operator")


def test_an_undo_after_the_clock_was_set_elsewhere_leaves_the_system_clock(
    tmp_path: Path,
) -> None:
    t = FakeTime(NOW - 3 * DAY)
    clock = make_clock(tmp_path, t)
    clock.correct(NOW + 100 * DAY, "coach-carter", "coach")
    t.wall = NOW + 60  # NTP put the system clock right meanwhile
    t.mono += 60
    clock.undo_last("olive-operator", "operator")
    assert t.set_to == [NOW + 100 * DAY]  # not touched again
    assert clock.now() == NOW + 60


def test_events_recorded_while_the_clock_was_wrong_keep_their_order(
    app: Flask, tmp_path: Path
) -> None:
    t = FakeTime(NOW - 3 * DAY)
    clock = make_clock(tmp_path, t)
    log = EventLog(clock=HybridClock(now=lambda: int(t.wall * 1000)), boot_id="test")
    with connected():
        learner = add_learner("Amina Juma").id
        before = log.record(learner, "fractions-en", "halves", "viewed")
        clock.correct(NOW + 400 * DAY, "coach-carter", "coach")
        during = log.record(learner, "fractions-en", "halves", "viewed")
        clock.undo_last("olive-operator", "operator")
        after = log.record(learner, "fractions-en", "halves", "viewed")
        restarted = EventLog.start(now=lambda: int(t.wall * 1000))
        later = restarted.record(learner, "fractions-en", "halves", "viewed")
    assert before.hlc < during.hlc < after.hlc < later.hlc
    assert unpack(during.hlc)[0] == (NOW + 400 * DAY) * 1000
    assert t.wall < NOW  # only the wall clock went back


@pytest.fixture
def operator(app: Flask, client: FlaskClient, tmp_path: Path) -> tuple[FlaskClient, FakeTime]:
    with connected():
        StaffUser.add("Olive Operator", "operator", "operator-password")
    sign_in_staff(client, "olive-operator", "operator-password")
    t = FakeTime(NOW - 3 * DAY)
    app.extensions["clock"] = make_clock(tmp_path / "clock", t)
    return client, t


def page_token(client: FlaskClient) -> str:
    page = client.get("/admin/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def test_an_operator_takes_back_a_correction_from_the_operator_page(
    operator: tuple[FlaskClient, FakeTime],
) -> None:
    client, t = operator
    answer = client.post("/api/clock", json={"browser_ms": (NOW + 400 * DAY) * 1000})
    assert answer.json["changed"] is True
    assert "Take back the last correction" in client.get("/admin/").get_data(as_text=True)
    assert client.post("/admin/clock/undo", data={}).status_code == 400  # no form token
    undo = client.post("/admin/clock/undo", data={"csrf_token": page_token(client)})
    assert undo.status_code == 303
    assert t.set_to == [NOW + 400 * DAY, NOW - 3 * DAY]
    page = client.get("/admin/").get_data(as_text=True)
    assert "The last clock correction was taken back" in page
    assert "was taken back by olive-operator" in page
    nothing = client.post("/admin/clock/undo", data={"csrf_token": page_token(client)})
    assert nothing.status_code == 303
    assert "There is no clock correction to undo." in client.get("/admin/").get_data(as_text=True)


def test_only_an_operator_may_take_back_a_correction(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    t = FakeTime(NOW - 3 * DAY)
    app.extensions["clock"] = make_clock(tmp_path / "clock", t)
    # With the session's token, so that the role is what refuses.
    assert client.post("/admin/clock/undo", data={"csrf_token": csrf(client)}).status_code == 401
    with connected():
        add_coach()
    sign_in_staff(client, "coach-carter")
    client.post("/api/clock", json={"browser_ms": NOW * 1000})
    assert client.post("/admin/clock/undo", data={"csrf_token": csrf(client)}).status_code == 403
    assert t.set_to == [NOW]
