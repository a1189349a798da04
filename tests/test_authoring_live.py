"""Uploads into a draft pack through the real server (`learnhub serve` on 127.0.0.1): a large
file in pieces whose connection is cut in the middle of a piece (a real socket closed
mid-body, as a phone leaving the Wi-Fi does) resumes from where the hub stands and arrives
whole; a piece larger than the route allows is refused by the server before it is read."""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, LiveServer
from tests.waiting import eventually

PASSWORD = "operator-pw"
PIECE = 4 * 1024 * 1024
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Hub:
    server: LiveServer
    opener: urllib.request.OpenerDirector
    jar: http.cookiejar.CookieJar

    def open(self, path: str, data: bytes | None = None, method: str | None = None, **headers: str):
        request = urllib.request.Request(self.server.url + path, data, headers, method=method)
        return self.opener.open(request, timeout=30)

    def token(self) -> str:
        with self.open("/admin/own-packs/") as page:
            return TOKEN.search(page.read().decode())[1]

    def form(self, path: str, **fields: str):
        body = urllib.parse.urlencode({"csrf_token": self.token(), **fields}).encode()
        return self.open(path, body, Accept="application/json")

    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


@contextmanager
def operator_hub(data: Path, env: dict[str, str]) -> Iterator[Hub]:
    """`learnhub serve` over a new data dir with `env`, and an operator signed in to it."""
    add = [sys.executable, "-m", "hub", "users", "add", "Olive", "--role", "operator"]
    done = subprocess.run(
        [*add, "--password", PASSWORD, "--data", str(data)], cwd=ROOT, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    server = LiveServer(data, env={"LEARNHUB_LOAD_SAMPLES": "false", **env})
    try:
        server.wait_until_ready()
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        hub = Hub(server, opener, jar)
        body = json.dumps({"username": "olive", "password": PASSWORD}).encode()
        with hub.open("/api/session", body, **{"Content-Type": "application/json"}):
            pass
        yield hub
    finally:
        server.stop()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data = tmp_path_factory.mktemp("authoring") / "data"
    with operator_hub(data, {"LEARNHUB_FORM_UPLOAD_BYTES": str(1024 * 1024)}) as hub:
        yield hub


def new_draft(hub: Hub, title: str) -> int:
    fields = {"title": title, "language": "en", "license": "CC-BY-4.0", "author": "Olive"}
    with hub.form("/admin/own-packs/", **fields) as answer:
        return int(answer.url.rstrip("/").rsplit("/", 1)[1])


def put_piece(hub: Hub, url: str, body: bytes, start: int, size: int) -> dict:
    headers = {
        "Content-Range": f"bytes {start}-{start + len(body) - 1}/{size}",
        "X-CSRF-Token": hub.token(),
        "Accept": "application/json",
        "Content-Type": "application/octet-stream",
    }
    with hub.open(url, body, "PUT", **headers) as answer:
        return json.loads(answer.read())


def raw_request(hub: Hub, head: str, body: bytes = b"", read: bool = False) -> bytes:
    """Send a request by hand on a real socket: its headers and `body` (maybe less than it
    declares), then close it, or read what the server answers first."""
    with socket.create_connection(("127.0.0.1", hub.server.port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        if not read:
            sock.shutdown(socket.SHUT_RDWR)
            return b""
        return sock.recv(4096)


def read_json(hub: Hub, url: str) -> dict:
    with hub.open(url, Accept="application/json") as answer:
        return json.loads(answer.read())


def status(hub: Hub, url: str) -> int:
    with hub.open(url, Accept="application/json") as answer:
        return json.loads(answer.read())["received"]


def test_a_large_file_cut_in_the_middle_of_a_piece_resumes_and_arrives_whole(hub: Hub) -> None:
    draft_id = new_draft(hub, "Field trip")
    video = os.urandom(2 * PIECE + 12345)
    with hub.form(
        f"/admin/own-packs/{draft_id}/uploads", name="Field trip.mp4", size=str(len(video))
    ) as answer:
        upload = json.loads(answer.read())
    url = f"/admin/own-packs/{draft_id}/uploads/{upload['upload_id']}"
    assert put_piece(hub, url, video[:PIECE], 0, len(video))["received"] == PIECE
    # The Wi-Fi drops: the second piece's headers and a quarter of its bytes, then nothing.
    head = (
        f"PUT {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {hub.cookie()}\r\n"
        f"Content-Range: bytes {PIECE}-{2 * PIECE - 1}/{len(video)}\r\n"
        f"X-CSRF-Token: {hub.token()}\r\nContent-Length: {PIECE}\r\n"
        "Content-Type: application/octet-stream\r\n"
    )
    raw_request(hub, head, video[PIECE : PIECE + PIECE // 4])
    eventually(lambda: status(hub, url) == PIECE, 10, what="the upload to stand at one piece")
    # Starting the same file again (a reloaded page) gives the same upload, where it stands.
    with hub.form(
        f"/admin/own-packs/{draft_id}/uploads", name="Field trip.mp4", size=str(len(video))
    ) as answer:
        assert json.loads(answer.read()) == {**upload, "received": PIECE}
    assert put_piece(hub, url, video[PIECE : 2 * PIECE], PIECE, len(video))["done"] is False
    last = put_piece(hub, url, video[2 * PIECE :], 2 * PIECE, len(video))
    assert last == {"received": len(video), "size": len(video), "done": True}
    kept = hub.server.data_dir / "drafts" / str(draft_id) / "files" / "Field trip.mp4"
    assert hashlib.sha256(kept.read_bytes()).digest() == hashlib.sha256(video).digest()
    with hub.form(f"/admin/own-packs/{draft_id}/publish") as answer:
        followed = urllib.parse.urlsplit(answer.url).path + ".json"  # the publishing job
    job = eventually(lambda: (found := read_json(hub, followed))["finished"] and found)
    assert job["outcome"] == ["Published version 1: learners see it now."], job
    with hub.open("/api/packs") as answer:
        packs = json.loads(answer.read())["packs"]
    assert any(p["id"] == "own-field-trip" for p in packs), packs


def test_the_server_refuses_a_piece_too_large_before_reading_it(hub: Hub) -> None:
    draft_id = new_draft(hub, "Too big")
    head = (
        f"PUT /admin/own-packs/{draft_id}/uploads/{'0' * 32} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {hub.cookie()}\r\nContent-Length: {100 * 1024 * 1024}\r\n"
    )
    answer = raw_request(hub, head, read=True)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_plain_form_larger_than_its_setting_is_refused_in_words(hub: Hub) -> None:
    draft_id = new_draft(hub, "Plain form")
    boundary = "x-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{hub.token()}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + b"x" * (2 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        hub.open(f"/admin/own-packs/{draft_id}/files", body, **headers)
    assert refused.value.code == 413
    assert "too large to send with a plain form" in refused.value.read().decode()
