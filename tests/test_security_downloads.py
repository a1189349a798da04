"""The hub cannot be poisoned by what it downloads (docs/security.md): answers from a fake
central or a hostile neighbour are capped in bytes and in time, central's key is pinned from
a file or confirmed by its fingerprint, and names from outside never reach the terminal raw.

The hostile servers run on 127.0.0.1; the hub runs as the operator runs it (`learnhub ...` in
its own process, its peak memory read by the process itself, or `learnhub serve`)."""

from __future__ import annotations

import dataclasses
import hashlib
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from zeroconf import IPVersion, ServiceInfo, Zeroconf

from hub.central.app import create_central_app
from hub.cli.main import main
from hub.core.db import connected
from hub.hubsync.models import SentBundle
from hub.hubsync.push import push
from hub.hubsync.service import SyncError, SyncService
from hub.neighbours import discovery
from hub.neighbours.discovery import HUB_TYPE
from hub.people.models import StaffUser
from sync.central.db import central_db
from sync.central.service import Central
from sync.central.staff import add_staff
from sync.fingerprint import fingerprint
from sync.identity import public_identity
from tests.conftest import LiveServer
from tests.content_helpers import sample_files, sample_manifest, write_pack_dir
from tests.fake_central import FakeCentral
from tests.hostile_server import MB, HostileServer, drip, good_json, huge, json_answer
from tests.sync_hub_helpers import learner, new_keys, service_of
from tests.test_admin import staff_sign_in
from tests.test_discovery import OTHER_ID
from tests.waiting import eventually

DEADLINE = 2  # download_seconds for these tests
PASSWORD = "operator-pw"
# The hub's command, reporting its own peak memory (ru_maxrss, KiB) as its last stderr line.
MEASURED = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: print('PEAK_RSS_KB', "
    "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr))\n"
    "from hub.cli.main import main\n"
    "main(prog_name='learnhub')\n"
)


@dataclass
class Run:
    code: int
    out: str
    err: str
    peak_kb: int
    seconds: float

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def hub_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNHUB_")}
    env.update(
        LC_ALL="C.UTF-8",
        LEARNHUB_LOAD_SAMPLES="false",
        LEARNHUB_ADVERTISE="false",
        LEARNHUB_DOWNLOAD_SECONDS=str(DEADLINE),
    )
    return {**env, **extra}


def learnhub(data: Path, *args: str, timeout: float = 60.0) -> Run:
    """`learnhub ARGS --data DATA` in its own process; a hang past `timeout` fails the test."""
    started = time.monotonic()
    argv = [sys.executable, "-c", MEASURED, *args, "--data", str(data)]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, env=hub_env(), timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"learnhub {' '.join(args)} was still running after {timeout} seconds")
    seconds = time.monotonic() - started
    lines = done.stderr.splitlines()
    peak = int(lines.pop().split()[1]) if lines and lines[-1].startswith("PEAK_RSS_KB") else 0
    return Run(done.returncode, done.stdout, "\n".join(lines), peak, seconds)


def files_in(data: Path) -> set[str]:
    """What the data dir holds, apart from the database and the lock files' own churn."""
    return {
        str(p.relative_to(data))
        for p in data.rglob("*")
        if p.is_file() and not p.name.startswith("learnhub.db") and not p.name.endswith(".lock")
    }


def assert_one_sentence(run: Run, *words: str) -> None:
    assert run.code == 1, (run.out, run.err)
    assert len(run.error_lines) == 1, run.err
    assert "Traceback" not in run.err
    for word in words:
        assert word in run.err, run.err


# --- a fake central ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["declared", "chunked", "false_length"])
def test_a_400_mb_answer_from_central_is_refused_and_memory_stays_flat(
    tmp_path: Path, kind: str
) -> None:
    answer = {
        "declared": huge(400 * MB),
        "chunked": huge(400 * MB, declared=None, chunked=True),
        "false_length": huge(400 * MB, declared="200", chunked=True),  # says 200 bytes
    }[kind]
    data = tmp_path / "hub"
    baseline = learnhub(data, "sync", "status")
    before = files_in(data)
    with HostileServer({"/api/sync/identity": answer}) as central:
        run = learnhub(data, "sync", "push", central.url)
        sent = central.sent
    assert_one_sentence(run, f"Central at {central.url}", "sent more than 4.0 MB")
    grown_mb = (run.peak_kb - baseline.peak_kb) / 1024
    assert grown_mb < 48, f"the hub grew by {grown_mb:.0f} MB"
    assert sent < 100 * MB  # the hub stopped reading, it did not drain the answer
    assert files_in(data) == before  # nothing half-written


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_a_dripping_central_is_cut_off_at_the_deadline(tmp_path: Path, in_headers: bool) -> None:
    data = tmp_path / "hub"
    learnhub(data, "sync", "status")
    before = files_in(data)
    with HostileServer({"/api/sync/identity": drip(in_headers=in_headers)}) as central:
        run = learnhub(data, "sync", "push", central.url, timeout=40)
    assert_one_sentence(run, f"Central at {central.url}", "did not finish answering within")
    assert run.seconds < DEADLINE + 10
    assert files_in(data) == before
    status = learnhub(data, "sync", "status")
    assert "did not finish answering" in status.out  # the admin page and status say why


def test_deeply_nested_json_from_central_is_one_sentence(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    learnhub(data, "sync", "status")
    nested = "[" * 200_000 + "]" * 200_000

    def deep(handler: Any, hostile: HostileServer) -> None:
        body = nested.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with HostileServer({"/api/sync/identity": deep}) as central:
        run = learnhub(data, "sync", "push", central.url)
    assert_one_sentence(run, "identity is not usable")


def test_a_reply_over_the_limit_is_refused_before_a_byte_is_written(
    app: Flask, tmp_path: Path
) -> None:
    service = with_settings(service_of(app), sync_reply_max_bytes=MB)
    learner()
    folder = tmp_path / "central"
    folder.mkdir()
    with FakeCentral(new_keys(), app.extensions["keys"], folder) as central:
        central.reply_size = 400 * MB
        with pytest.raises(SyncError, match=r"over this hub's limit of 1\.0 MB"):
            push(service, central.url)
    assert list(service.inbox.glob("*")) == []  # no part, no note to resume
    with connected():
        assert SentBundle.waiting() == []  # progress went up (and was receipted) first


def with_settings(service: SyncService, **values: Any) -> SyncService:
    config = dataclasses.replace(service.config, **values)
    return SyncService(config, service.keys, service.library)


# --- a hostile neighbour ----------------------------------------------------------------------


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob(data: bytes) -> Any:
    def answer(handler: Any, hostile: HostileServer) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return answer


def neighbour_answers(title: str = "Fractions") -> dict[str, Any]:
    """A neighbour offering the sample pack; its biggest file drips."""
    manifest = {**sample_manifest(), "title": title}
    files = sample_files()
    big = max(files, key=lambda path: len(files[path]))
    doc = {
        "format": "learnhub-share/1",
        "id": manifest["id"],
        "version": manifest["version"],
        "title": title,
        "size": sum(map(len, files.values())),
        "manifest": manifest,
        "files": [{"path": p, "sha256": sha(d), "size": len(d)} for p, d in files.items()],
    }
    offer = {k: doc[k] for k in ("id", "version", "title", "size")}
    offer |= {"description": "", "language": "en", "lessons": 4}
    answers: dict[str, Any] = {
        "/api/share/packs": good_json({"format": "learnhub-share/1", "packs": [offer]}),
        f"/api/share/packs/{manifest['id']}": good_json(doc),
    }
    for path, content in files.items():
        answer = drip(declared=len(content)) if path == big else blob(content)
        answers[f"/api/share/blobs/{sha(content)}"] = answer
    return answers


def test_a_neighbour_dripping_a_file_is_cut_off_and_the_library_is_untouched(
    tmp_path: Path,
) -> None:
    data = tmp_path / "hub"
    learnhub(data, "content", "list")
    with HostileServer(neighbour_answers()) as neighbour:
        run = learnhub(data, "content", "fetch", neighbour.url, "fractions-en", timeout=40)
        sent = neighbour.sent
    assert run.code == 1
    assert "did not finish answering within" in run.err, run.err
    assert "Traceback" not in run.err
    assert run.seconds < DEADLINE + 10
    assert learnhub(data, "content", "list").out.strip() == "The library is empty."
    assert [p for p in (data / "blobs").rglob("*") if p.is_file()] == []
    # What stays is the documented resume folder: whole files checked against their sha256,
    # and the cut file's part, no longer than what the neighbour dripped.
    kept = list((data / "neighbours" / "downloads").glob("*"))
    parts = [p for p in kept if p.name.endswith(".part")]
    assert len(parts) == 1 and parts[0].stat().st_size <= sent
    assert all(sha(p.read_bytes()) == p.name for p in kept if p not in parts)


@pytest.fixture
def hub_server(tmp_path: Path) -> Iterator[tuple[LiveServer, urllib.request.OpenerDirector]]:
    data = tmp_path / "served"
    add = learnhub(data, "users", "add", "olive", "--role", "operator", "--password", PASSWORD)
    assert add.code == 0, add.err
    server = LiveServer(data, env=hub_env())
    try:
        server.wait_until_ready()
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        body = json.dumps({"username": "olive", "password": PASSWORD}).encode()
        request = urllib.request.Request(
            server.url + "/api/session", body, {"Content-Type": "application/json"}
        )
        with opener.open(request, timeout=10) as response:
            assert response.status in (200, 201)
        yield server, opener
    finally:
        server.stop()


def vm_hwm_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1])


def test_the_hub_keeps_serving_while_a_neighbour_drips_or_floods(
    hub_server: tuple[LiveServer, urllib.request.OpenerDirector],
) -> None:
    server, opener = hub_server
    flood = {"/api/share/packs": huge(400 * MB, declared=None, chunked=True)}
    with HostileServer({"/api/share/packs": drip()}) as neighbour, HostileServer(flood) as flooder:
        pages: dict[str, Any] = {}

        def operator_opens(url: str) -> None:
            page = server.url + "/admin/neighbours/packs?url=" + urllib.parse.quote(url)
            with opener.open(page, timeout=60) as response:
                pages[url] = response.read().decode()

        peak_before = vm_hwm_kb(server.process.pid)
        waiting = threading.Thread(target=operator_opens, args=(neighbour.url,), daemon=True)
        waiting.start()
        eventually(lambda: "/api/share/packs" in neighbour.requests)
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as health:
            assert health.status == 200  # answered while a worker waits on the drip
        waiting.join(DEADLINE + 15)
        assert not waiting.is_alive(), "the neighbours page still waits on the dripping hub"
        assert "did not finish answering within" in pages[neighbour.url]
        # a 400 MB catalog: refused after the cap, and the hub's memory does not follow it
        operator_opens(flooder.url)
        assert "sent more than 4.0 MB" in pages[flooder.url]
        grown_mb = (vm_hwm_kb(server.process.pid) - peak_before) / 1024
        assert grown_mb < 48, f"the hub grew by {grown_mb:.0f} MB"


# --- central's key ----------------------------------------------------------------------------


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    server = Central.open(tmp_path / "central")
    central_db.connect(reuse_if_open=True)
    try:
        yield server
    finally:
        server.close()


def central_identity_file(runner: CliRunner, central: Central, path: Path) -> str:
    """`learnhub central identity > path`; the fingerprint it shows on stderr."""
    result = runner.invoke(main, ["central", "identity", "--data", str(central.data_dir)])
    assert result.exit_code == 0, result.output
    central_db.connect(reuse_if_open=True)  # the command closed it when it ended
    path.write_text(result.stdout)
    return re.search(r"fingerprint ([A-Z2-7-]+)", result.stderr)[1]


def test_pin_from_a_usb_file_shows_the_same_fingerprint_on_both_sides(
    tmp_path: Path, central: Central, runner: CliRunner
) -> None:
    shown_by_central = central_identity_file(runner, central, tmp_path / "central.json")
    assert shown_by_central == fingerprint(central.keys.public_key)
    assert shown_by_central in central_dashboard(central)

    data = str(tmp_path / "hub")
    pinned = runner.invoke(main, ["sync", "pin", str(tmp_path / "central.json"), "--data", data])
    assert pinned.exit_code == 0, pinned.output
    assert f"fingerprint {shown_by_central} (confirmed)" in pinned.stdout
    status = runner.invoke(main, ["sync", "status", "--data", data])
    assert f"central's key: {shown_by_central} (confirmed)" in status.stdout
    doc = json.loads(runner.invoke(main, ["sync", "status", "--json", "--data", data]).stdout)
    assert (doc["central_fingerprint"], doc["central_confirmed"]) == (shown_by_central, True)


def central_dashboard(central: Central) -> str:
    client = create_central_app(central).test_client()
    add_staff("Zawadi", "a good password")
    client.get("/signin")
    with client.session_transaction() as session:
        token = session.get("csrf", "")
    form = {"username": "zawadi", "password": "a good password", "csrf_token": token}
    assert client.post("/signin", data=form).status_code == 302
    return client.get("/").get_data(as_text=True)


def test_first_contact_is_not_confirmed_until_the_fingerprints_are_compared(
    app: Flask, client: FlaskClient, tmp_path: Path, runner: CliRunner
) -> None:
    service = service_of(app)
    learner()
    folder = tmp_path / "central"
    folder.mkdir()
    with FakeCentral(new_keys(), app.extensions["keys"], folder) as central:
        push(service, central.url)
    shown = fingerprint(central.keys.public_key)
    data = str(service.config.data_dir)
    status = runner.invoke(main, ["sync", "status", "--data", data]).stdout
    assert f"central's key: {shown} (NOT CONFIRMED" in status

    wrong = runner.invoke(main, ["sync", "confirm", "AAAA-BBBB-CCCC-DDDD-EEEE", "--data", data])
    assert wrong.exit_code == 1 and "is not the fingerprint of the key" in wrong.output
    assert "NOT CONFIRMED" in runner.invoke(main, ["sync", "status", "--data", data]).stdout

    with connected():
        StaffUser.add("Olive Operator", "operator", PASSWORD)
    staff_sign_in(client, "olive-operator", PASSWORD)
    page = client.get("/admin/sync/").text
    assert shown in page and "This fingerprint matches central" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    answer = client.post(
        "/admin/sync/confirm-key", data={"csrf_token": token, "fingerprint": shown}
    )
    assert answer.status_code == 303
    assert f"central's key: {shown} (confirmed)" in (
        runner.invoke(main, ["sync", "status", "--data", data]).stdout
    )


def test_a_server_with_another_key_is_refused_after_pinning(
    app: Flask, tmp_path: Path, central: Central, runner: CliRunner
) -> None:
    central_identity_file(runner, central, tmp_path / "central.json")
    service = service_of(app)
    data = str(service.config.data_dir)
    pinned = runner.invoke(main, ["sync", "pin", str(tmp_path / "central.json"), "--data", data])
    assert pinned.exit_code == 0, pinned.output
    learner()
    folder = tmp_path / "impostor"
    folder.mkdir()
    with FakeCentral(new_keys(), app.extensions["keys"], folder) as impostor:
        result = runner.invoke(main, ["sync", "push", impostor.url, "--data", data])
    assert result.exit_code == 1
    assert f"The server at {impostor.url} presents another key" in result.output
    assert fingerprint(central.keys.public_key) in result.output
    assert impostor.uploads == {}  # refused before anything was sent


# --- names from outside on the terminal ------------------------------------------------------

HOSTILE_TITLE = "Fractions\x1b[2J\x1b]0;owned\x07 \u202eevil\u2066 \x9b31m"


def assert_escaped(text: str) -> None:
    for raw in ("\x1b", "\x07", "\u202e", "\u2066", "\x9b"):
        assert raw not in text, repr(text)


def test_pack_titles_print_escaped_in_content_list(tmp_path: Path, runner: CliRunner) -> None:
    manifest = sample_manifest(title=HOSTILE_TITLE)
    folder = write_pack_dir(tmp_path / "pack", manifest, sample_files())
    data = str(tmp_path / "hub")
    env = {"LEARNHUB_LOAD_SAMPLES": "false"}
    assert (
        runner.invoke(main, ["content", "import", str(folder), "--data", data], env=env).exit_code
        == 0
    )
    listed = runner.invoke(main, ["content", "list", "--data", data], env=env).output
    assert_escaped(listed)
    assert "Fractions\\x1b[2J\\x1b]0;owned\\x07 \\u202eevil\\u2066 \\x9b31m" in listed
    as_json = runner.invoke(main, ["content", "list", "--json", "--data", data], env=env).output
    assert_escaped(as_json)
    assert json.loads(as_json)[0]["title"] == HOSTILE_TITLE  # scripts still read the real title


def test_neighbour_offers_print_escaped_in_content_fetch(tmp_path: Path) -> None:
    with HostileServer(neighbour_answers(HOSTILE_TITLE)) as neighbour:
        run = learnhub(tmp_path / "hub", "content", "fetch", neighbour.url)
    assert run.code == 0, run.err
    assert_escaped(run.out)
    assert "\\x1b[2J" in run.out


def test_a_neighbours_name_prints_escaped_in_discover(monkeypatch: pytest.MonkeyPatch) -> None:
    real = discovery.browse
    monkeypatch.setattr(
        "hub.cli.neighbours.browse", lambda timeout: real(timeout, interfaces=["127.0.0.1"])
    )
    # A record as a hostile hub would send it: zeroconf refuses controls in the instance name,
    # not in the TXT record's name.
    properties = {"txtvers": "1", "id": OTHER_ID, "name": "Evil\x1b[2J\u202eHub", "packs": "1"}
    record = ServiceInfo(
        HUB_TYPE,
        f"Evil.{HUB_TYPE}",
        parsed_addresses=["127.0.0.1"],
        port=8080,
        properties={k: v.encode() for k, v in properties.items()},
        server="evil.local.",
    )
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    try:
        zc.register_service(record)
        for _attempt in range(3):  # a busy machine may miss an answer once
            text = CliRunner().invoke(main, ["discover", "--timeout", "2"]).output
            if OTHER_ID in text:
                break
        as_json = CliRunner().invoke(main, ["discover", "--json", "--timeout", "2"]).output
    finally:
        zc.close()
    line = next(line for line in text.splitlines() if OTHER_ID in line)
    assert_escaped(text + as_json)
    assert line.startswith("Evil\\x1b[2J\\u202eHub  http://127.0.0.1:8080")


def test_a_central_error_message_prints_escaped(tmp_path: Path) -> None:
    def refuse(handler: Any, hostile: HostileServer) -> None:
        json_answer(handler, 500, {"error": {"code": "x", "message": "no\x1b[2J\u202e"}})

    key = new_keys()
    identity = {**public_identity(key, "Fake"), "central_id": "central-x"}
    answers = {"/api/sync/identity": good_json(identity), "/api/sync/uploads": refuse}
    with HostileServer(answers) as central:
        run = learnhub(tmp_path / "hub", "sync", "push", central.url)
    assert run.code == 1
    assert_escaped(run.err)
