"""Central's web face: staff sign-in, hub approval, dashboards and CSV exports, and the sync
API hubs call (join, resumable uploads with their limits, replies). SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time

import pytest

from hub.central.app import create_central_app
from sync.bundle import read_bundle
from sync.central import roster
from sync.central.db import writing
from sync.central.hubs import request_join, set_status
from sync.central.models import Hub
from sync.central.staff import add_staff
from sync.central.uploads import UploadLimits
from sync.identity import parse_identity
from sync.receipts import verify_receipt
from sync.records import roster_record
from tests.central_helpers import FakeHub, SigningClient, uid

pytest_plugins = ["tests.central_fixtures"]

LIMITS = UploadLimits(max_bytes=200_000, max_chunk=4096, max_open=3)


@pytest.fixture
def app(central):
    return create_central_app(central, LIMITS)


@pytest.fixture
def client(app, tmp_path):
    """Signs its sync calls as an enrolled hub; a test that uploads as another hub sets
    `client.keys` to that hub's keys."""
    app.test_client_class = SigningClient
    signing = app.test_client()
    signing.keys = FakeHub(tmp_path / "signing-hub", "Signing hub").enrol().keys
    return signing


@pytest.fixture
def staff(client):
    add_staff("Zawadi", "a good password")
    client.get("/signin")
    response = client.post(
        "/signin",
        data={"username": "zawadi", "password": "a good password", "csrf_token": token(client)},
    )
    assert response.status_code == 302
    return client


def token(client):
    with client.session_transaction() as session:
        return session.get("csrf", "")


def form_token(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def central_key(central):
    return parse_identity(central.identity())[1]


# ---------------------------------------------------------------------------- pages


def test_healthz(client, central):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["central_id"] == central.central_id


def test_pages_send_a_stranger_to_sign_in(client):
    response = client.get("/hubs")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=/hubs")
    client.get("/signin")  # a session with a form token: the role is checked, not the token
    assert client.post("/hubs/x/approve", data={"csrf_token": token(client)}).status_code == 401


def test_a_wrong_password_is_refused_in_one_sentence(client):
    add_staff("Zawadi", "a good password")
    client.get("/signin")
    response = client.post(
        "/signin",
        data={"username": "zawadi", "password": "wrong", "csrf_token": token(client)},
    )
    assert response.status_code == 401
    assert "That name and password do not match" in response.get_data(as_text=True)


def test_sign_in_needs_the_form_s_token(client):
    add_staff("Zawadi", "a good password")
    response = client.post("/signin", data={"username": "zawadi", "password": "a good password"})
    assert response.status_code == 400


def test_sign_in_only_follows_local_next_links(client):
    add_staff("Zawadi", "a good password")
    client.get("/signin")
    response = client.post(
        "/signin?next=//evil.example/x",
        data={"username": "zawadi", "password": "a good password", "csrf_token": token(client)},
    )
    assert response.headers["Location"] == "/"


def test_a_hub_asks_to_join_and_staff_approve_it(tmp_path, staff, central):
    hub = FakeHub(tmp_path / "asking", "Village school")
    staff.keys = hub.keys
    asked = staff.post("/api/sync/join", json=hub.identity())
    assert asked.status_code == 202
    assert asked.get_json()["status"] == "pending"
    assert asked.get_json()["central"]["central_id"] == central.central_id
    page = staff.get("/hubs").get_data(as_text=True)
    assert "Village school" in page and "waiting for approval" in page
    dashboard = staff.get("/").get_data(as_text=True)
    assert "1 hub(s) asked to join" in dashboard
    csrf = form_token(staff, "/hubs")
    approved = staff.post(f"/hubs/{hub.hub_id}/approve", data={"csrf_token": csrf})
    assert approved.status_code == 302
    assert Hub.by_id(hub.hub_id).status == "approved"
    assert staff.post("/api/sync/join", json=hub.identity()).status_code == 200
    staff.post(f"/hubs/{hub.hub_id}/revoke", data={"csrf_token": csrf})
    assert staff.post("/api/sync/join", json=hub.identity()).status_code == 403


def test_approving_needs_the_form_s_token(tmp_path, staff):
    hub = FakeHub(tmp_path / "asking", "Asking")
    request_join(hub.identity(), max_waiting=10)
    assert staff.post(f"/hubs/{hub.hub_id}/approve").status_code == 400
    assert Hub.by_id(hub.hub_id).status == "pending"


def test_a_join_with_a_bad_identity_is_one_sentence(client):
    response = client.post("/api/sync/join", json={"format": "learnhub-identity/1"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_identity"
    assert client.post("/api/sync/join", data="x").status_code == 415


def two_hubs_of_progress(tmp_path, central):
    a = FakeHub(tmp_path / "a", "=Alpha school").enrol()
    b = FakeHub(tmp_path / "b", "Beta school").enrol()
    amina, baraka = uid(), uid()
    central.apply(
        a.bundle(
            [
                a.event(1, amina, "q1", "attempt", {"score": 1.0, "mastered": True}),
                a.event(2, baraka, "l1", "progress", {"progress": 0.5, "time_spent": 3600}),
            ],
            roster=[roster_record("learner", amina, 1, a.hub_id, name="Amina")],
        )
    )
    with writing():
        roster.send_to("learner", amina, b.hub_id)  # Amina moved: B holds her too
    central.apply(b.bundle([b.event(1, amina, "l1", "completed", {"time_spent": 60})]))
    with writing():
        group = roster.create("class", name="Grade 4")
        roster.create_member(group["uid"], amina)
    return a, b, amina, baraka


def test_dashboards_show_hubs_and_progress_by_hub_class_and_pack(tmp_path, staff, central):
    two_hubs_of_progress(tmp_path, central)
    page = staff.get("/").get_data(as_text=True)
    assert "=Alpha school" in page and "Beta school" in page
    assert re.search(r'id="status-events">3<', page)
    by_hub = staff.get("/progress?by=hub").get_data(as_text=True)
    assert "=Alpha school" in by_hub
    by_class = staff.get("/progress?by=class").get_data(as_text=True)
    assert "Grade 4" in by_class
    by_pack = staff.get("/progress?by=pack").get_data(as_text=True)
    assert "pack-a" in by_pack
    assert staff.get("/progress?by=nothing").status_code == 404


def read_csv(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_exports(tmp_path, staff, central):
    _, _, amina, _ = two_hubs_of_progress(tmp_path, central)
    hubs = read_csv(staff.get("/export/hubs.csv"))
    assert hubs[0][:3] == ["hub_id", "name", "status"]
    names = sorted(row[1] for row in hubs[1:])
    # No formula runs in a spreadsheet. (The signing hub is the test client's own.)
    assert names == ["'=Alpha school", "Beta school", "Signing hub"]
    learners = read_csv(staff.get("/export/learners.csv"))
    assert learners[0][:4] == ["learner_uid", "learner", "pack_id", "lesson_id"]
    rows = {(row[0], row[3]): row for row in learners[1:]}
    assert rows[(amina, "q1")][1] == "Amina"
    assert rows[(amina, "l1")][5] == "1"  # completed at hub B
    by_pack = read_csv(staff.get("/export/progress-by-pack.csv"))
    assert by_pack[1][:4] == ["pack-a", "2", "3", "2"]
    by_class = read_csv(staff.get("/export/progress-by-class.csv"))
    assert by_class[1][1:3] == ["Grade 4", "1"]
    by_hub = read_csv(staff.get("/export/progress-by-hub.csv"))
    assert len(by_hub) == 3
    assert staff.get("/export/secrets.csv").status_code == 404


# ----------------------------------------------------------------------------- sync API


def open_upload(client, data, **extra):
    return client.post(
        "/api/sync/uploads",
        json={"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), **extra},
    )


def put(client, upload_id, data, start, end):
    return client.put(
        f"/api/sync/uploads/{upload_id}",
        data=data[start : end + 1],
        headers={"Content-Range": f"bytes {start}-{end}/{len(data)}"},
    )


def upload_in_chunks(client, data, size=4096):
    upload_id = open_upload(client, data).get_json()["upload_id"]
    for start in range(0, len(data), size):
        end = min(start + size, len(data)) - 1
        assert put(client, upload_id, data, start, end).get_json() == {"received": end + 1}
    return upload_id


def hub_bundle_bytes(hub, events=30):
    learner = uid()
    return hub.bundle([hub.event(n, learner, f"l{n % 5}") for n in range(1, events + 1)])


def test_a_chunked_upload_is_applied_with_a_signed_receipt_and_a_reply(tmp_path, client, central):
    hub = FakeHub(tmp_path / "hub", "Hub").enrol()
    client.keys = hub.keys
    data = hub_bundle_bytes(hub).read_bytes()
    upload_id = upload_in_chunks(client, data, size=1000)
    answer = client.post(f"/api/sync/uploads/{upload_id}/finish").get_json()
    receipt = answer["receipt"]
    assert verify_receipt(central_key(central), receipt)
    assert (receipt["hub_id"], receipt["high_water"]) == (hub.hub_id, 30)
    assert answer["applied"]["accepted"] == 30
    reply = client.get(answer["reply_url"])
    assert reply.status_code == 200
    assert reply.headers["Accept-Ranges"] == "bytes"
    saved = tmp_path / "reply.lhb"
    saved.write_bytes(reply.get_data())
    assert read_bundle(saved, central_key(central)).manifest["recipient"] == hub.hub_id
    tail = client.get(answer["reply_url"], headers={"Range": "bytes=100-"})
    assert tail.status_code == 206
    assert tail.get_data() == reply.get_data()[100:]
    # The answer was lost on the way: finishing again gives it again, nothing counted twice.
    assert client.post(f"/api/sync/uploads/{upload_id}/finish").get_json() == answer
    assert client.get(f"/api/sync/uploads/{upload_id}").get_json()["finished"] is True
    assert central.status()["events"] == 30


def test_a_dropped_link_resumes_from_the_last_acknowledged_chunk(tmp_path, client):
    hub = FakeHub(tmp_path / "hub", "Hub").enrol()
    client.keys = hub.keys
    data = hub_bundle_bytes(hub).read_bytes()
    upload_id = open_upload(client, data).get_json()["upload_id"]
    assert put(client, upload_id, data, 0, 999).get_json() == {"received": 1000}
    # The hub thinks the first chunk was lost and sends it again: told where to go on.
    again = put(client, upload_id, data, 0, 999)
    assert again.status_code == 409
    assert again.get_json()["received"] == 1000
    assert again.get_json()["error"]["code"] == "wrong_offset"
    ahead = put(client, upload_id, data, 2000, 2999)
    assert (ahead.status_code, ahead.get_json()["received"]) == (409, 1000)
    assert client.get(f"/api/sync/uploads/{upload_id}").get_json() == {
        "received": 1000,
        "finished": False,
    }
    assert put(client, upload_id, data, 1000, len(data) - 1).status_code == 200
    assert client.post(f"/api/sync/uploads/{upload_id}/finish").status_code == 200


def test_finishing_early_or_with_the_wrong_bytes_is_refused(tmp_path, client):
    hub = FakeHub(tmp_path / "hub", "Hub").enrol()
    client.keys = hub.keys
    data = hub_bundle_bytes(hub).read_bytes()
    upload_id = open_upload(client, data).get_json()["upload_id"]
    put(client, upload_id, data, 0, 999)
    early = client.post(f"/api/sync/uploads/{upload_id}/finish")
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "incomplete"
    wrong = bytearray(data)
    wrong[-1500] ^= 1
    put(client, upload_id, bytes(wrong), 1000, len(data) - 1)
    mismatch = client.post(f"/api/sync/uploads/{upload_id}/finish")
    assert mismatch.status_code == 400
    assert mismatch.get_json()["error"]["code"] == "sha256_mismatch"
    assert client.get(f"/api/sync/uploads/{upload_id}").status_code == 404


def test_upload_limits(tmp_path, client):
    too_big = client.post("/api/sync/uploads", json={"size": 200_001, "sha256": "0" * 64})
    assert too_big.status_code == 413
    bad = client.post("/api/sync/uploads", json={"size": "ten", "sha256": "0" * 64})
    assert bad.status_code == 400
    bad_sha = client.post("/api/sync/uploads", json={"size": 10, "sha256": "nope"})
    assert bad_sha.status_code == 400
    data = bytes(9000)
    upload_id = open_upload(client, data).get_json()["upload_id"]
    assert put(client, upload_id, data, 0, 4096).status_code == 413  # 4097 bytes > 4096
    no_range = client.put(f"/api/sync/uploads/{upload_id}", data=b"abc")
    assert no_range.status_code == 400
    lying = client.put(
        f"/api/sync/uploads/{upload_id}", data=b"abc", headers={"Content-Range": "bytes 0-9/9000"}
    )
    assert lying.status_code == 400
    assert open_upload(client, data).get_json()["upload_id"] == upload_id  # the same file
    for fill in range(1, 3):
        assert open_upload(client, bytes([fill]) * 9000).status_code == 201
    full = open_upload(client, bytes([9]) * 9000)
    assert full.status_code == 503
    assert full.get_json()["error"]["code"] == "too_many_uploads"
    assert client.get("/api/sync/uploads/" + "0" * 32).status_code == 404
    assert client.get("/api/sync/uploads/../../etc").status_code == 404


def test_uploads_are_swept_after_a_day(client, app):
    data = bytes(100)
    upload_id = open_upload(client, data).get_json()["upload_id"]
    store = app.extensions["uploads"]
    assert store.sweep(time.time() + 3600) == 0
    assert store.sweep(time.time() + 2 * 24 * 3600) == 1
    assert client.get(f"/api/sync/uploads/{upload_id}").status_code == 404
    assert list(store.root.iterdir()) == []


def test_an_upload_from_an_unknown_or_revoked_hub_is_refused(tmp_path, client):
    stranger = FakeHub(tmp_path / "stranger", "Stranger")
    client.keys = stranger.keys
    data = hub_bundle_bytes(stranger).read_bytes()
    early = open_upload(client, data, hub_id=stranger.hub_id)
    assert early.status_code == 403
    assert "not enrolled here" in early.get_json()["error"]["message"]
    hub = FakeHub(tmp_path / "hub", "Hub").enrol()
    client.keys = hub.keys
    upload_id = upload_in_chunks(client, hub_bundle_bytes(hub).read_bytes())
    set_status(hub.hub_id, "revoked")
    late = client.post(f"/api/sync/uploads/{upload_id}/finish")
    assert late.status_code == 403
    assert late.get_json()["error"]["code"] == "revoked_hub"


def test_a_damaged_bundle_upload_is_refused_in_one_sentence(tmp_path, client, central):
    hub = FakeHub(tmp_path / "hub", "Hub").enrol()
    client.keys = hub.keys
    data = bytearray(hub_bundle_bytes(hub).read_bytes())
    data[700] ^= 1  # inside the manifest: the signature no longer matches
    upload_id = upload_in_chunks(client, bytes(data))
    refused = client.post(f"/api/sync/uploads/{upload_id}/finish")
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["code"] == "bad_bundle"
    assert error["message"].count(".") >= 1 and "\n" not in error["message"]
    assert central.status()["events"] == 0


def test_an_unknown_reply_is_404(client):
    assert client.get("/api/sync/replies/" + "0" * 32).status_code == 404


def test_the_identity_endpoint_gives_a_pinnable_key(client, central):
    doc = client.get("/api/sync/identity").get_json()
    assert parse_identity(doc)[1] == central_key(central)
    assert doc["central_id"] == central.central_id
    assert json.loads(json.dumps(doc)) == central.identity()
