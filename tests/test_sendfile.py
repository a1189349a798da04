"""File answers go from the file to the socket by os.sendfile (hub/web/zerocopy.py): whole files,
ranges, many readers at once, a paused reader, one that leaves, HEAD and 304, against a real
`learnhub serve` on 127.0.0.1; and, in this process, proof that sendfile does the sending.
Every socket has a timeout and every wait a deadline.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request
from waitress import wasyncore
from waitress.buffers import ReadOnlyFileBasedBuffer

from hub.web import zerocopy
from hub.web.sendfile import send_path
from hub.web.server import BodyLimits, Guard, create_server
from tests.conftest import LiveServer
from tests.content_helpers import PACK_ID, sample_files, write_pack_dir
from tests.waiting import eventually

VIDEO_BYTES = 32 * 1024 * 1024
TIMEOUT = 30.0  # seconds for any one socket operation or download


def _video() -> bytes:
    # Random bytes: a piece sent from the wrong offset cannot look right by chance.
    return b"\x00\x00\x00\x18ftypmp42" + random.Random(7).randbytes(VIDEO_BYTES - 12)


@dataclass
class Hub:
    server: LiveServer
    video: bytes
    path: str  # the video's URL path

    @property
    def port(self) -> int:
        return self.server.port

    def video_fds(self) -> int:
        """Descriptors the server holds open on the video's blob."""
        name = hashlib.sha256(self.video).hexdigest()
        fds = Path(f"/proc/{self.server.process.pid}/fd")
        return sum(1 for target in _fd_targets(fds) if target.endswith(name))

    def socket_fds(self) -> int:
        """Sockets the server holds open (a worker thread's database files, opened on its first
        request, are not what a leaving client could leak)."""
        fds = Path(f"/proc/{self.server.process.pid}/fd")
        return sum(1 for target in _fd_targets(fds) if target.startswith("socket:"))


def _fd_targets(fds: Path) -> list[str]:
    targets = []
    for fd in fds.iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:  # closed while we looked
            continue
    return targets


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    root = tmp_path_factory.mktemp("sendfile-hub")
    video = _video()
    pack = write_pack_dir(root / "pack", files={**sample_files(), "v/intro.mp4": video})
    learnhub = [sys.executable, "-m", "hub", "content", "import", str(pack)]
    subprocess.run([*learnhub, "--data", str(root / "data")], check=True, timeout=120)
    server = LiveServer(root / "data", env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        server.wait_until_ready()
        status, _, body = request_once(server.port, f"/api/lessons/{PACK_ID}/intro-video")
        assert status == 200
        yield Hub(server, video, json.loads(body)["files"]["main"])
    finally:
        server.stop()


def request_once(
    port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request(method, path, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        connection.close()


def download_digest(port: int, path: str) -> tuple[int, str]:
    """(status, sha256 of the body) of a GET, read in pieces as a browser would."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        digest = hashlib.sha256()
        while piece := answer.read(256 * 1024):
            digest.update(piece)
        return answer.status, digest.hexdigest()
    finally:
        connection.close()


def raw_get(port: int, path: str, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)  # before connecting
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: hub\r\n\r\n".encode())
    return sock


def read_head(sock: socket.socket) -> tuple[int, bytes]:
    """(Content-Length, the body bytes that came with the head)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        data = sock.recv(65536)
        assert data, "closed before the head"
        answer += data
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 ")
    return int(re.search(rb"(?i)content-length: *(\d+)", head)[1]), body


def read_exactly(sock: socket.socket, count: int) -> bytes:
    parts = []
    while count > 0:
        data = sock.recv(min(count, 1024 * 1024))
        assert data, f"closed with {count} bytes still owed"
        parts.append(data)
        count -= len(data)
    return b"".join(parts)


# --- a real `learnhub serve` ----------------------------------------------------------------


def test_a_whole_file_arrives_byte_for_byte(hub: Hub) -> None:
    status, headers, body = request_once(hub.port, hub.path)
    assert status == 200
    assert int(headers["Content-Length"]) == VIDEO_BYTES
    assert hashlib.sha256(body).digest() == hashlib.sha256(hub.video).digest()


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=1000000-1999999", 1_000_000, 2_000_000),
        ("bytes=-500", VIDEO_BYTES - 500, VIDEO_BYTES),
        ("bytes=31000000-", 31_000_000, VIDEO_BYTES),
    ],
)
def test_a_range_sends_exactly_its_bytes(hub: Hub, header: str, start: int, stop: int) -> None:
    status, headers, body = request_once(hub.port, hub.path, {"Range": header})
    assert status == 206
    assert headers["Content-Range"] == f"bytes {start}-{stop - 1}/{VIDEO_BYTES}"
    assert int(headers["Content-Length"]) == stop - start
    assert body == hub.video[start:stop]


def test_many_downloads_at_once_all_arrive_whole(hub: Hub) -> None:
    expected = hashlib.sha256(hub.video).hexdigest()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: download_digest(hub.port, hub.path), range(16)))
    assert results == [(200, expected)] * 16


def test_a_paused_reader_gets_the_rest_when_it_reads_again(hub: Hub) -> None:
    with raw_get(hub.port, hub.path, receive_buffer=16 * 1024) as paused:
        length, first = read_head(paused)
        first += read_exactly(paused, 1024 * 1024 - len(first))
        # While it reads nothing (its socket and the server's fill up and sendfile finds no
        # room), the server serves another reader the whole file.
        assert download_digest(hub.port, hub.path) == (200, hashlib.sha256(hub.video).hexdigest())
        rest = read_exactly(paused, length - len(first))
    assert length == VIDEO_BYTES
    assert first + rest == hub.video


def test_clients_that_leave_mid_file_leave_nothing_open_and_no_traceback(hub: Hub) -> None:
    eventually(lambda: hub.video_fds() == 0, 10)
    before = hub.socket_fds()
    for reset in (False, True) * 4:
        sock = raw_get(hub.port, hub.path, receive_buffer=64 * 1024)
        _, body = read_head(sock)
        read_exactly(sock, 512 * 1024 - len(body))
        if reset:  # an abrupt reset rather than an orderly close, as a phone leaving Wi-Fi
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    assert download_digest(hub.port, hub.path) == (200, hashlib.sha256(hub.video).hexdigest())
    eventually(
        lambda: hub.video_fds() == 0 and hub.socket_fds() <= before,
        10,
        what=lambda: f"(video fds {hub.video_fds()}, sockets {hub.socket_fds()}, before {before})",
    )
    log = hub.server.log.read_text()
    assert "Traceback" not in log
    assert "Socket error" not in log


def test_head_sends_the_length_and_no_body(hub: Hub) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=TIMEOUT)
    try:
        connection.request("HEAD", hub.path)
        answer = connection.getresponse()
        assert answer.status == 200
        assert int(answer.headers["Content-Length"]) == VIDEO_BYTES
        assert answer.read() == b""
        # Had a body been sent after all, it would be read here as the next answer's head.
        connection.request("GET", hub.path, headers={"Range": "bytes=0-9"})
        following = connection.getresponse()
        assert following.status == 206
        assert following.read() == hub.video[:10]
    finally:
        connection.close()


def test_a_matching_etag_answers_304_without_a_body(hub: Hub) -> None:
    _, headers, _ = request_once(hub.port, hub.path, method="HEAD")
    connection = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=TIMEOUT)
    try:
        connection.request("GET", hub.path, headers={"If-None-Match": headers["ETag"]})
        answer = connection.getresponse()
        assert answer.status == 304
        assert answer.read() == b""
        connection.request("GET", hub.path, headers={"Range": "bytes=-4"})
        following = connection.getresponse()
        assert following.status == 206
        assert following.read() == hub.video[-4:]
    finally:
        connection.close()


# --- in this process: which way the bytes go ------------------------------------------------


@dataclass
class Calls:
    """What os.sendfile was asked: (offset, count) and the bytes it sent, per call."""

    asked: list[tuple[int, int]] = field(default_factory=list)
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def sendfile_calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls = Calls()
    real = os.sendfile

    def counting(out_fd: int, in_fd: int, offset: int, count: int) -> int:
        sent = real(out_fd, in_fd, offset, count)
        with calls.lock:
            calls.asked.append((offset, count))
            calls.sent += sent
        return sent

    monkeypatch.setattr(os, "sendfile", counting)
    return calls


def sent_by_sendfile(calls: Calls, expected: int, timeout: float = 5.0) -> int:
    """The bytes os.sendfile sent, once they reach `expected` or the time is up: the client
    can hold the last byte before the server's thread has counted the call that sent it."""
    with contextlib.suppress(AssertionError):  # fewer is for the caller to judge
        eventually(lambda: calls.sent >= expected, timeout, interval=0.01)
    return calls.sent


@dataclass
class InProcess:
    port: int
    data: bytes


def _app(path: Path, data: bytes) -> Flask:
    app = Flask(__name__)

    @app.get("/file")
    def whole_or_range() -> Response:
        return send_path(path, etag="e", media_type="video/mp4")

    @app.get("/memory")
    def memory() -> Response:
        wrapper = request.environ["wsgi.file_wrapper"](io.BytesIO(data))
        response = Response(wrapper, mimetype="video/mp4", direct_passthrough=True)
        response.content_length = len(data)
        return response

    return app


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    data = random.Random(3).randbytes(4 * 1024 * 1024)
    path = tmp_path_factory.mktemp("in-process") / "video.mp4"
    path.write_bytes(data)
    guard = Guard(
        connection_limit=100,
        per_address=64,
        header_timeout=10,
        idle_timeout=20,
        send_timeout=120,
        bodies=BodyLimits(1024 * 1024),
    )
    server = create_server(
        _app(path, data), host="127.0.0.1", port=0, threads=2, ident="test", guard=guard
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield InProcess(server.effective_port, data)
    finally:
        # Closed from inside the server's own loop, as tests/fake_central.py explains.
        server.trigger.pull_trigger(lambda: _stop(server))
        thread.join(10)
        assert not thread.is_alive()


def _stop(server: Any) -> None:
    server.task_dispatcher.shutdown()
    wasyncore.close_all(server._map)


def test_a_file_goes_by_sendfile_not_through_python(
    in_process: InProcess, sendfile_calls: Calls
) -> None:
    status, _, body = request_once(in_process.port, "/file")
    assert status == 200
    assert body == in_process.data
    assert sent_by_sendfile(sendfile_calls, len(in_process.data)) == len(in_process.data)
    assert sendfile_calls.asked[0][0] == 0


def test_a_range_goes_by_sendfile_from_its_first_byte(
    in_process: InProcess, sendfile_calls: Calls
) -> None:
    status, _, body = request_once(in_process.port, "/file", {"Range": "bytes=1000-2999999"})
    assert status == 206
    assert body == in_process.data[1000:3_000_000]
    assert sent_by_sendfile(sendfile_calls, 3_000_000 - 1000) == 3_000_000 - 1000
    assert sendfile_calls.asked[0][0] == 1000
    assert max(offset + count for offset, count in sendfile_calls.asked) == 3_000_000


def test_a_wrapper_on_memory_goes_waitress_s_own_way(
    in_process: InProcess, sendfile_calls: Calls
) -> None:
    status, _, body = request_once(in_process.port, "/memory")
    assert status == 200
    assert body == in_process.data
    assert sendfile_calls.asked == []


# --- the buffer on its own -----------------------------------------------------------------


def _wrapped(path: Path) -> zerocopy.SendfileBuffer:
    wrapper = ReadOnlyFileBasedBuffer(path.open("rb"))
    wrapper.prepare()
    buffer = zerocopy.zero_copy(wrapper)
    assert isinstance(buffer, zerocopy.SendfileBuffer)
    return buffer


def test_a_full_socket_takes_part_and_the_rest_follows_from_where_it_stopped(
    tmp_path: Path,
) -> None:
    data = random.Random(5).randbytes(3 * 1024 * 1024)
    (tmp_path / "f").write_bytes(data)
    buffer = _wrapped(tmp_path / "f")
    ours, theirs = socket.socketpair()
    with ours, theirs, buffer.file:
        ours.setblocking(False)
        theirs.settimeout(TIMEOUT)
        received = bytearray()
        first, gone = zerocopy.send_file_some(buffer, ours.fileno())
        assert not gone
        assert 0 < first < len(data)  # the socket filled: a partial count, not an error
        assert (buffer.file.tell(), buffer.remain) == (first, len(data) - first)
        deadline = time.monotonic() + TIMEOUT
        while buffer.remain and time.monotonic() < deadline:
            received += theirs.recv(1024 * 1024)
            zerocopy.send_file_some(buffer, ours.fileno())
        ours.shutdown(socket.SHUT_WR)
        while piece := theirs.recv(1024 * 1024):
            received += piece
    assert bytes(received) == data


def test_a_file_cut_short_is_an_error_not_a_silent_short_answer(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(bytes(1000))
    buffer = _wrapped(tmp_path / "f")
    os.truncate(tmp_path / "f", 400)
    ours, theirs = socket.socketpair()
    with ours, theirs, buffer.file:
        ours.setblocking(False)
        with pytest.raises(EOFError):
            zerocopy.send_file_some(buffer, ours.fileno())
        assert buffer.remain == 600


def test_a_pipe_or_memory_is_left_to_waitress(tmp_path: Path) -> None:
    memory = ReadOnlyFileBasedBuffer(io.BytesIO(b"x"))
    assert zerocopy.zero_copy(memory) is memory
    read_end, write_end = os.pipe()
    with open(read_end, "rb") as pipe, open(write_end, "wb"):
        wrapped = ReadOnlyFileBasedBuffer(pipe)
        assert zerocopy.zero_copy(wrapped) is wrapped
    assert zerocopy.zero_copy(b"bytes") == b"bytes"
