"""Central cannot be jammed or poisoned: sync calls signed by an enrolled hub, joins limited per
address, upload slots and bytes per hub, every number range-checked, a hub changing only what
it may (the rest quarantined and shown to staff), staff names in any script. HTTP promises
against `learnhub central serve` on 127.0.0.1; the rest in process. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hub.central.app import create_central_app
from hub.central.cli import central as central_cli
from hub.people.models import slug
from sync.bundle import BundleError, PartSpec, _write, bundle_name, write_bundle
from sync.central import quarantine, roster
from sync.central.db import connected, writing
from sync.central.errors import CentralError
from sync.central.hubs import request_join
from sync.central.models import PENDING, Event, Hub, QuarantineItem, Roster
from sync.central.service import Central
from sync.central.staff import add_staff
from sync.hlc import pack
from sync.identity import load_or_create
from sync.records import RecordError, roster_record
from sync.request_auth import signed_headers
from tests.central_helpers import (
    NOW_MS,
    CentralServer,
    FakeHub,
    http_call,
    totals,
    uid,
)

pytest_plugins = ["tests.central_fixtures"]

GIB = 1024 * 1024 * 1024


@pytest.fixture
def server(tmp_path: Path, central_url: str | None) -> Iterator[CentralServer]:
    """`learnhub central serve` on 127.0.0.1."""
    data = tmp_path / "central"
    Central.open(data, central_url).close()
    running = CentralServer(data, central_url)
    running.database = central_url
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


def enrolled(tmp_path: Path, running: CentralServer, name: str) -> FakeHub:
    """A hub enrolled at the running central (through its database, in this process)."""
    hub = FakeHub(tmp_path / name, name)
    with _central(tmp_path / "central", running.database):
        hub.enrol()
    return hub


class _central:
    """Central's database, opened in this process for a moment (the server runs beside)."""

    def __init__(self, data: Path, url: str | None) -> None:
        self.service = Central.open(data, url)
        self.opened = connected()

    def __enter__(self) -> Central:
        self.opened.__enter__()
        return self.service

    def __exit__(self, *exc: object) -> None:
        self.opened.__exit__(*exc)
        self.service.close()


def open_upload(base: str, size: int, sha: str, keys: Any = None) -> tuple[int, dict]:
    body = json.dumps({"size": size, "sha256": sha}).encode()
    headers = {"Content-Type": "application/json"}
    return http_call(base + "/api/sync/uploads", "POST", body, headers, keys=keys)


# ------------------------------------------------------------------ signed requests, joins


def test_opening_an_upload_needs_a_request_signed_by_an_enrolled_hub(tmp_path, server):
    url = server.url
    hub = enrolled(tmp_path, server, "hub")
    sha = "0" * 64
    assert open_upload(url, 100, sha)[0] == 401  # unsigned
    stranger = load_or_create(tmp_path)  # a key central never enrolled
    assert open_upload(url, 100, sha, stranger)[0] == 403
    forged = signed_headers(stranger, "POST", "/api/sync/uploads", b"{}")
    forged["X-Learnhub-Hub"] = hub.hub_id  # claims to be the enrolled hub
    body = json.dumps({"size": 100, "sha256": sha}).encode()
    headers = {"Content-Type": "application/json", **forged}
    assert http_call(url + "/api/sync/uploads", "POST", body, headers)[0] == 401
    status, opened = open_upload(url, 100, sha, hub.keys)
    assert status == 201, opened
    # The upload is the hub's own: another enrolled hub cannot see, feed or finish it.
    other = enrolled(tmp_path, server, "other")
    upload = f"{url}/api/sync/uploads/{opened['upload_id']}"
    assert http_call(upload, keys=other.keys)[0] == 404
    assert http_call(upload)[0] == 401
    assert http_call(upload + "/finish", "POST", b"", keys=other.keys)[0] == 404


def test_a_join_flood_from_one_address_is_cut_off(tmp_path, server):
    url = server.url + "/api/sync/join"
    answers = []
    for n in range(8):
        hub = FakeHub(tmp_path / f"join-{n}", f"Join {n}")
        body = json.dumps(hub.identity()).encode()
        headers = {"Content-Type": "application/json"}
        answers.append(http_call(url, "POST", body, headers, keys=hub.keys)[0])
    assert answers[:5] == [202] * 5
    assert answers[5:] == [429] * 3
    unsigned = FakeHub(tmp_path / "unsigned", "Unsigned").identity()
    body = json.dumps(unsigned).encode()
    status, _ = http_call(url, "POST", body, {"Content-Type": "application/json"})
    assert status == 401


def test_central_takes_its_limits_from_its_settings(tmp_path, central_url):
    """learnhub.toml in central's data dir sets the join rate and the waiting hubs' cap."""
    data = tmp_path / "central"
    Central.open(data, central_url).close()
    (data / "learnhub.toml").write_text("central_joins_per_hour = 3\ncentral_hubs_waiting = 2\n")
    running = CentralServer(data, central_url)
    try:
        running.wait_until_ready()
        url = running.url + "/api/sync/join"
        answers = []
        for n in range(4):
            hub = FakeHub(tmp_path / f"join-{n}", f"Join {n}")
            body = json.dumps(hub.identity()).encode()
            headers = {"Content-Type": "application/json"}
            answers.append(http_call(url, "POST", body, headers, keys=hub.keys)[0])
    finally:
        running.stop()
    assert answers == [202, 202, 503, 429]


def test_old_join_requests_cannot_keep_the_queue_full(tmp_path, central):
    waiting = 20
    for n in range(waiting):
        request_join(FakeHub(tmp_path / f"junk-{n}", f"Junk {n}").identity(), max_waiting=waiting)
    with pytest.raises(CentralError, match="Too many hubs are waiting"):
        request_join(FakeHub(tmp_path / "late", "Late").identity(), max_waiting=waiting)
    with writing():
        Hub.update(requested_at=NOW_MS - 30 * 24 * 3600 * 1000).execute()
    fresh = request_join(FakeHub(tmp_path / "fresh", "Fresh").identity(), max_waiting=waiting)
    assert fresh.status == PENDING
    assert Hub.select().count() == 1


def test_one_hub_cannot_take_another_hub_s_upload_slots_or_quota(tmp_path, server):
    url = server.url
    greedy = enrolled(tmp_path, server, "greedy")
    fair = enrolled(tmp_path, server, "fair")
    # 512 MiB each (a whole bundle): two fill the hub's quota of 1 GiB of open uploads.
    sizes = [GIB // 2, GIB // 2]
    for n, size in enumerate(sizes):
        assert open_upload(url, size, f"{n:064x}", greedy.keys)[0] == 201
    status, refused = open_upload(url, 10, "a" * 64, greedy.keys)
    assert (status, refused["error"]["code"]) == (413, "hub_quota")
    # Opening the same file again is the same upload, not a new slot.
    again = open_upload(url, GIB // 2, f"{0:064x}", greedy.keys)
    assert again[0] == 201
    small = [open_upload(url, 10, f"{n:064x}", fair.keys)[0] for n in range(10, 15)]
    assert small == [201, 201, 201, 201, 429]


# ------------------------------------------------------------------ numbers in range


def hostile_bundle(
    hub: FakeHub, lines: list[list[Any]], roster: list[dict] | None = None, **header: Any
) -> Path:
    """A bundle signed by an enrolled hub whose numbers no hub would write (the writer's
    checks are bypassed: events go as raw lines)."""
    seqs = header.pop("seq_range", None)
    hlcs = header.pop("hlc_range", None)
    manifest = {
        "kind": "hub",
        "sender": hub.hub_id,
        "recipient": "central",
        "hub_id": hub.hub_id,
        "epoch": hub.epoch,
        "seq": seqs,
        "hlc": hlcs,
        "previous": None,
        "created": NOW_MS,
        **header,
    }
    parts = [PartSpec("events", "events", records=lines)] if lines else []
    if roster:
        parts.append(PartSpec("roster", "roster", records=roster))
    path = hub.folder / "hostile" / f"{uid()}-{bundle_name(manifest)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bundle(path, hub.keys, manifest, parts)
    return path


def event_bundle(
    hub: FakeHub,
    seq: int = 1,
    hlc: int | None = None,
    wall: int | None = None,
    fields: dict | None = None,
    **header: Any,
) -> Path:
    hlc = pack(NOW_MS, 0) if hlc is None else hlc
    wall_offset = 0 if wall is None else wall - (hlc >> 16)
    line = [seq, hlc, wall_offset, uid(), "pack-a", "l1", "progress", fields or {}]
    span = {"first": max(seq, 1), "last": max(seq, 1)}  # the manifest's shape stays valid
    ranges = {"seq_range": span, "hlc_range": {"first": hlc, "last": hlc}}
    return hostile_bundle(hub, [line], **{**ranges, **header})


def hostile_cases(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Bundles a hostile hub could write; the writer's check (which would refuse them, as
    central's reader does) is switched off for that."""
    monkeypatch.setattr(_write, "_check_written", lambda *args: None)
    far = pack(NOW_MS + 10 * 365 * 24 * 3600 * 1000, 0)  # ten years on
    now_ok = pack(NOW_MS, 0)
    learner = {  # raw: the writer's own check would refuse this record
        "t": "learner",
        "uid": uid(),
        "hlc": 2**63 - 1,
        "origin": hub.hub_id,
        "deleted": False,
        "display_name": "Poison",
    }
    return {
        "event hlc 2**63-1": event_bundle(hub, hlc=2**63 - 1),
        "event hlc ten years ahead": event_bundle(hub, hlc=far),
        "roster hlc 2**63-1": hostile_bundle(hub, [], roster=[learner]),
        "roster hlc ten years ahead": hostile_bundle(
            hub, [], roster=[hub.learner_record(uid(), "Later", far)]
        ),
        "seq 2**50": event_bundle(hub, seq=2**50),
        "negative seq": event_bundle(hub, seq=-3),
        "wall ten years ahead": event_bundle(hub, hlc=now_ok, wall=(far >> 16)),
        "created 2**62": event_bundle(hub, created=2**62),
        "time_spent negative": event_bundle(hub, fields={"time_spent": -5}),
        "time_spent a year": event_bundle(hub, fields={"time_spent": 365 * 86400}),
        "score 7": event_bundle(hub, fields={"score": 7, "mastered": True}),
        "score negative": event_bundle(hub, fields={"score": -1}),
        "progress 3": event_bundle(hub, fields={"progress": 3}),
    }


def test_numbers_out_of_range_refuse_the_bundle_and_change_nothing(tmp_path, central, monkeypatch):
    bad = FakeHub(tmp_path / "bad", "Bad hub").enrol()
    good = FakeHub(tmp_path / "good", "Good hub").enrol()
    central.apply(good.bundle([good.event(1, uid())]))
    before = totals()
    roster_before = Roster.select().count()
    for case, path in hostile_cases(bad, monkeypatch).items():
        with pytest.raises((CentralError, BundleError, RecordError)) as refused:
            central.apply(path)
        message = str(refused.value)
        assert "\n" not in message and message.endswith("."), (case, message)
        assert totals() == before, case
        assert Roster.select().count() == roster_before, case
        assert Hub.by_id(bad.hub_id).last_contact is None, case
    # Nothing was poisoned: other hubs' bundles and staff's roster commands still work.
    learner = uid()
    applied = central.apply(good.bundle([good.event(2, learner)]))
    assert applied.accepted == 1
    with writing():
        made = roster.create("learner", name="Baraka")
        roster.send_to("learner", made["uid"], good.hub_id)
    assert made["hlc"] < pack(NOW_MS * 2, 0)
    _, replies = central.exchange(good.bundle([good.event(3, learner)]))
    assert replies and Event.select().count() == 3


def test_a_poisoned_stamp_over_http_is_one_sentence_and_central_stays_up(
    tmp_path, server, monkeypatch
):
    bad = enrolled(tmp_path, server, "bad")
    good = enrolled(tmp_path, server, "good")
    for path, hub in (
        (hostile_cases(bad, monkeypatch)["roster hlc 2**63-1"], bad),
        (good.bundle([good.event(1, uid())]), good),
    ):
        body = path.read_bytes()
        sha = hashlib.sha256(body).hexdigest()
        status, opened = open_upload(server.url, len(body), sha, hub.keys)
        assert status == 201, opened
        upload = f"{server.url}/api/sync/uploads/{opened['upload_id']}"
        headers = {"Content-Range": f"bytes 0-{len(body) - 1}/{len(body)}"}
        assert http_call(upload, "PUT", body, headers, keys=hub.keys)[0] == 200
        status, answer = http_call(upload + "/finish", "POST", b"", keys=hub.keys)
        if hub is bad:
            assert status == 400, answer
            assert "\n" not in answer["error"]["message"]
        else:
            assert status == 200, answer
            assert answer["applied"]["accepted"] == 1


# ------------------------------------------------------------------ ownership


def test_a_hub_cannot_fill_the_quarantine(central):
    """Items kept aside are capped per hub: the newest stay, another hub's are untouched."""
    with writing():
        for n in range(12):
            quarantine.hold("hub-a", f"bundle-{n}", "learner", f"uid-{n}", "not its own", {})
        quarantine.hold("hub-b", "bundle-b", "learner", "uid-b", "not its own", {})
        quarantine.prune("hub-a", keep=10)
    kept = {item.uid for item in QuarantineItem.select().where(QuarantineItem.hub_id == "hub-a")}
    assert kept == {f"uid-{n}" for n in range(2, 12)}
    assert QuarantineItem.select().where(QuarantineItem.hub_id == "hub-b").count() == 1


def test_a_hub_changing_another_hub_s_learners_and_classes_is_quarantined_and_shown(
    tmp_path, central, central_url
):
    a = FakeHub(tmp_path / "a", "Alpha").enrol()
    b = FakeHub(tmp_path / "b", "Beta").enrol()
    amina, grade = uid(), uid()
    central.apply(
        a.bundle(
            [a.event(1, amina)],
            roster=[
                a.learner_record(amina, "Amina", 100),
                roster_record("class", grade, 100, a.hub_id, name="Grade 4"),
            ],
        )
    )
    before = totals()
    joined = uid()
    hijack = [
        b.learner_record(amina, "Stolen", 10**12),
        roster_record("class", grade, 10**12, b.hub_id, name="Taken"),
        roster_record(
            "member",
            roster.member_uid(grade, joined),
            10**12,
            b.hub_id,
            class_uid=grade,
            learner_uid=joined,
        ),
    ]
    path = b.bundle([b.event(1, amina, "l9")], roster=hijack)
    applied = central.apply(path)
    assert applied.accepted == 0 and applied.roster_applied == 0
    assert applied.quarantined == 4
    assert Roster.find("learner", amina).name == "Amina"
    assert Roster.find("class", grade).name == "Grade 4"
    assert totals()["progress"] == before["progress"]
    status = central.status()
    assert status["quarantined_by_kind"] == {
        "event_conflict": 0,
        "learner": 1,
        "class": 1,
        "member": 1,
        "progress": 1,
    }
    central.apply(path)  # the same bundle again keeps nothing twice
    assert central.status()["quarantined_by_kind"]["learner"] == 1
    # Staff see each item with its hub, kind and reason.
    app = create_central_app(central)
    client = app.test_client()
    add_staff("Zawadi", "a good password")
    client.get("/signin")
    with client.session_transaction() as session:
        csrf = session.get("csrf", "")
    client.post(
        "/signin", data={"username": "zawadi", "password": "a good password", "csrf_token": csrf}
    )
    page = client.get("/quarantine").get_data(as_text=True)
    assert page.count(b.hub_id) == 4
    for kind in ("learner", "class", "member", "progress"):
        assert f"<td>{kind}</td>" in page
    assert f"this learner belongs to {a.hub_id}" in page
    assert f"progress for a learner of {a.hub_id}" in page
    # `learnhub central status --json` counts them (last: the command binds its own database).
    argv = ["status", "--json", "--data", str(central.data_dir)]
    argv += ["--database", central_url] if central_url else []
    central.close()  # the command opens (and closes) a database of its own
    shown = CliRunner().invoke(central_cli, argv, catch_exceptions=False)
    assert json.loads(shown.output)["quarantined"] == 4


# ------------------------------------------------------------------ staff names


@pytest.mark.parametrize("name", ["أمينة", "张伟"])
def test_staff_names_in_any_script_work_end_to_end(central, name):
    staff = add_staff(name, "a good password")
    assert staff.username == name == slug(name)  # one rule for hubs and central
    client = create_central_app(central).test_client()
    client.get("/signin")
    with client.session_transaction() as session:
        csrf = session.get("csrf", "")
    signed = client.post(
        "/signin", data={"username": name, "password": "a good password", "csrf_token": csrf}
    )
    assert signed.status_code == 302
    assert client.get("/").status_code == 200
