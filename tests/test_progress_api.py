"""POST /api/progress, quiz attempts and GET /api/progress/me through the app: what a learner's
page sends is recorded, and anything else is refused with a clear error and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.core.db import connected
from hub.learning.events import Event, Progress
from tests.content_helpers import sample_files, sample_manifest, write_pack_dir
from tests.progress_helpers import add_coach, add_learner, sign_in, sign_in_staff

REPORT = {"pack_id": "fractions-en", "lesson_id": "halves", "type": "progress"}


@pytest.fixture
def hub(app: Flask, tmp_path: Path) -> Flask:
    """The test app with the sample pack and one learner, Amina (PIN 1234)."""
    outcome = app.extensions["library"].import_paths(
        [write_pack_dir(tmp_path / "pack", sample_manifest(), sample_files())]
    )
    assert outcome[0].error is None, outcome[0].error
    with connected():
        add_learner("Amina Juma")
    return app


@pytest.fixture
def learner(hub: Flask) -> FlaskClient:
    client = hub.test_client()
    sign_in(client, "amina-juma")
    return client


def event_count() -> int:
    with connected():
        return Event.select().count()


def report(client: FlaskClient, **fields: object):
    return client.post("/api/progress", json={**REPORT, **fields})


def test_a_report_is_recorded_and_answered_201(learner: FlaskClient) -> None:
    response = report(learner, progress=0.25, time_spent=12.5, position=31.5)
    assert response.status_code == 201
    body = response.json
    assert body["seq"] >= 1 and body["hlc"] > 0
    assert body["progress"]["progress"] == 0.25 and body["progress"]["time_spent"] == 12.5
    with connected():
        event = Event.get(Event.seq == body["seq"])
        assert event.type == "progress"
        assert event.fields == {"progress": 0.25, "time_spent": 12.5, "position": 31.5}


def test_time_spent_is_a_delta_and_progress_a_maximum(learner: FlaskClient) -> None:
    for progress, seconds in ((0.5, 15), (0.3, 15), (0.6, 10.5)):
        assert report(learner, progress=progress, time_spent=seconds).status_code == 201
    row = learner.get("/api/progress/me").json["progress"][0]
    assert row["progress"] == 0.6 and row["time_spent"] == 40.5
    assert row["status"] == "in_progress" and row["completed"] is False


def test_completed_marks_the_lesson_done(learner: FlaskClient) -> None:
    assert report(learner, type="completed", progress=0.92, time_spent=3).status_code == 201
    assert report(learner, progress=0.1, time_spent=3).status_code == 201  # a later re-read
    row = learner.get("/api/progress/me").json["progress"][0]
    assert row["completed"] is True and row["status"] == "completed" and row["progress"] == 1.0


def test_progress_me_has_the_documented_shape(learner: FlaskClient) -> None:
    report(learner, progress=0.5, time_spent=5)
    answers = {"q1": 1, "q2": [0, 2], "q3": "1/2", "q4": "eau"}
    attempt = learner.post("/api/lessons/fractions-en/check-1/attempts", json={"answers": answers})
    assert attempt.status_code == 201
    assert attempt.json["score"] == 1.0 and attempt.json["mastered"] is True
    assert attempt.json["correct"] == {"q1": True, "q2": True, "q3": True, "q4": True}
    body = learner.get("/api/progress/me").json
    assert set(body) == {"progress"}
    rows = {row["lesson_id"]: row for row in body["progress"]}
    expected = {"pack_id", "lesson_id", "status", "progress", "completed", "best_score"}
    expected |= {"attempts", "time_spent"}
    for row in rows.values():
        assert expected <= set(row)
    assert rows["check-1"]["best_score"] == 1.0 and rows["check-1"]["attempts"] == 1
    assert rows["check-1"]["status"] == "completed"
    assert rows["halves"]["best_score"] is None and rows["halves"]["attempts"] == 0
    # Newest activity first.
    assert [row["lesson_id"] for row in body["progress"]] == ["check-1", "halves"]


def test_a_wrong_attempt_counts_and_is_not_mastered(learner: FlaskClient) -> None:
    answers = {"q1": 0, "q2": [1], "q3": 3, "q4": "feu"}
    attempt = learner.post("/api/lessons/fractions-en/check-1/attempts", json={"answers": answers})
    assert attempt.status_code == 201
    assert attempt.json["score"] == 0 and attempt.json["mastered"] is False


def test_viewing_a_lesson_page_counts_without_javascript(learner: FlaskClient) -> None:
    assert learner.get("/lessons/fractions-en/intro-video").status_code == 200
    with connected():
        event = Event.get(Event.lesson_id == "intro-video")
    assert event.type == "viewed"
    row = learner.get("/api/progress/me").json["progress"][0]
    assert row["lesson_id"] == "intro-video" and row["status"] == "in_progress"


# --- who may report ------------------------------------------------------------------------


def test_nobody_signed_in_gets_401(hub: Flask) -> None:
    client = hub.test_client()
    response = report(client, progress=0.5)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "sign_in_required"
    assert client.get("/api/progress/me").status_code == 401
    answers = {"answers": {"q1": 1}}
    attempt = client.post("/api/lessons/fractions-en/check-1/attempts", json=answers)
    assert attempt.status_code == 401
    assert event_count() == 0


def test_a_coach_gets_403(hub: Flask) -> None:
    with connected():
        coach = add_coach()
    client = hub.test_client()
    sign_in_staff(client, coach.username)
    response = report(client, progress=0.5)
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert client.get("/api/progress/me").status_code == 403
    answers = {"answers": {"q1": 1}}
    attempt = client.post("/api/lessons/fractions-en/check-1/attempts", json=answers)
    assert attempt.status_code == 403
    assert event_count() == 0


# --- hostile bodies --------------------------------------------------------------------------


def refused(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.data[:300]
    error = response.json["error"]
    if code:
        assert error["code"] == code
    message = error["message"]
    assert message and "\n" not in message and "Traceback" not in message
    assert len(message) < 200  # one sentence, never an echo of what was sent


def test_the_body_must_be_sent_as_json(learner: FlaskClient) -> None:
    data = json.dumps({**REPORT, "progress": 0.5})
    refused(learner.post("/api/progress", data=data, content_type="text/plain"), 415)
    form = {**REPORT, "progress": "0.5"}
    refused(learner.post("/api/progress", data=form), 415, "json_required")
    refused(learner.post("/api/progress", data="{not json", content_type="application/json"), 400)
    for body in ("[]", '"progress"', "null", "42"):
        refused(learner.post("/api/progress", data=body, content_type="application/json"), 400)
    assert event_count() == 0


def test_a_call_from_another_site_is_refused(learner: FlaskClient) -> None:
    for origin in ("http://evil.example", "http://localhost.evil.example", "null"):
        response = learner.post(
            "/api/progress", json={**REPORT, "progress": 0.5}, headers={"Origin": origin}
        )
        refused(response, 403, "cross_origin")
    same = learner.post(
        "/api/progress", json={**REPORT, "progress": 0.5}, headers={"Origin": "http://localhost"}
    )
    assert same.status_code == 201
    assert event_count() == 1


@pytest.mark.parametrize(
    "field, value",
    [
        ("progress", True),
        ("progress", False),
        ("progress", "0.5"),
        ("progress", [0.5]),
        ("progress", {"value": 0.5}),
        ("progress", -0.1),
        ("progress", 1.0001),
        ("progress", 1e308),
        ("time_spent", True),
        ("time_spent", "10"),
        ("time_spent", -1),
        ("time_spent", 1e9),
        pytest.param("time_spent", 10**400, id="time_spent-huge-int"),
        pytest.param("progress", 10**400, id="progress-huge-int"),
        ("position", True),
        ("position", -5),
        ("position", 1e12),
    ],
)
def test_numbers_must_be_numbers_in_range(learner: FlaskClient, field: str, value: object) -> None:
    refused(report(learner, **{field: value}), 400, "bad_request")
    assert event_count() == 0


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_nan_and_infinity_are_refused(learner: FlaskClient, literal: str) -> None:
    for field in ("progress", "time_spent", "position"):
        body = json.dumps(REPORT)[:-1] + f', "{field}": {literal}}}'
        response = learner.post("/api/progress", data=body, content_type="application/json")
        refused(response, 400)
    assert event_count() == 0


def test_attempt_events_never_come_from_a_client(learner: FlaskClient) -> None:
    forged = {"progress": 1, "score": 1.0, "mastered": True}
    refused(report(learner, type="attempt", **forged), 400, "bad_type")
    for kind in ("", "ATTEMPT", "unknown", 1, None, ["progress"]):
        refused(report(learner, type=kind), 400, "bad_type")
    assert event_count() == 0
    assert learner.get("/api/progress/me").json["progress"] == []


def test_unknown_lessons_and_bad_ids_are_refused(learner: FlaskClient) -> None:
    refused(report(learner, lesson_id="no-such-lesson"), 404, "lesson_not_found")
    refused(report(learner, pack_id="no-such-pack"), 404, "lesson_not_found")
    for bad in (None, 7, ["halves"], {"id": "halves"}, True):
        refused(report(learner, lesson_id=bad), 400, "bad_request")
        refused(report(learner, pack_id=bad), 400, "bad_request")
    refused(learner.post("/api/progress", json={"progress": 0.5}), 400, "bad_request")
    assert event_count() == 0


def test_ten_kilobyte_strings_are_refused_without_an_echo(learner: FlaskClient) -> None:
    huge = "x" * 10_000
    for field in ("pack_id", "lesson_id", "type"):
        response = report(learner, **{field: huge})
        assert response.status_code in (400, 404)
        refused(response, response.status_code)
        assert huge not in response.text
    # A string where a number belongs is refused; one where nothing is read is ignored.
    refused(report(learner, progress=huge), 400)
    assert report(learner, comment=huge).status_code == 201
    with connected():
        assert "comment" not in Event.get(Event.type == "progress").fields


def test_an_oversized_body_is_refused(learner: FlaskClient) -> None:
    body = json.dumps({**REPORT, "padding": "x" * (2 * 1024 * 1024)})
    response = learner.post("/api/progress", data=body, content_type="application/json")
    assert response.status_code == 413
    assert event_count() == 0


def test_attempts_refuse_hostile_answers(learner: FlaskClient) -> None:
    url = "/api/lessons/fractions-en/check-1/attempts"
    refused(learner.post(url, data="{}", content_type="text/plain"), 415)
    refused(learner.post(url, json={"answers": [1, 2]}), 400, "bad_answers")
    refused(learner.post(url, json={"answers": {"q1": 99}}), 400, "bad_answer")
    refused(learner.post(url, json={"answers": {"q1": True}}), 400, "bad_answer")
    refused(learner.post(url, json={"answers": {"q1": "x" * 10_000}}), 400, "bad_answer")
    refused(learner.post(url, json={"answers": {"q1": 1}}, headers={"Origin": "http://x.y"}), 403)
    refused(learner.post("/api/lessons/fractions-en/halves/attempts", json={"answers": {}}), 404)
    refused(learner.post("/api/lessons/fractions-en/nope/attempts", json={"answers": {}}), 404)
    assert event_count() == 0


def test_nothing_is_half_written_when_a_report_is_refused(learner: FlaskClient) -> None:
    assert report(learner, progress=0.4, time_spent=10).status_code == 201
    report(learner, progress=0.9, time_spent="lots")
    report(learner, type="attempt", progress=1)
    with connected():
        rows = list(Progress.select())
    assert len(rows) == 1 and rows[0].progress == 0.4 and rows[0].time_spent == 10
