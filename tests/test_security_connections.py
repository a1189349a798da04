"""One client cannot shut others out (docs/security.md), against real servers on 127.0.0.1.

127.0.0.2 (and 127.0.0.4-6, so the tests' attacks stay apart in one server's books) plays a
phone that holds hundreds of idle or half-sent connections; 127.0.0.1 is everyone else.
Every socket has a timeout and every wait a deadline.
"""

from __future__ import annotations

import json
import os
import re
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.people.roster import MAX_CSV_BYTES
from hub.web.views.admin import UPLOAD_SLACK
from sync.central.uploads import UploadLimits
from tests.central_helpers import CentralServer
from tests.conftest import LiveServer, ServerProcess
from tests.content_helpers import PACK_ID, sample_files, write_pack_dir

HEADER_TIMEOUT = 2  # seconds, the servers' `header_timeout` here (10 by default)
IDLE_TIMEOUT = 5  # seconds, the servers' `idle_timeout` here (20 by default)
PER_ADDRESS = 64  # the default `connections_per_address`
SMALL_LIMIT = 1024 * 1024  # the default `max_body_bytes`
ROSTER_LIMIT = MAX_CSV_BYTES + UPLOAD_SLACK  # the roster import's CSV and the form around it
CHUNK_LIMIT = UploadLimits().max_chunk + 64 * 1024  # one chunk of a hub's sync upload
VIDEO_BYTES = 32 * 1024 * 1024
HALF_SENT = b"GET / HTTP/1.1\r\nHost: hub\r\nUser-Agent: slow"


@dataclass
class Served:
    server: ServerProcess
    tmpdir: Path  # the server's TMPDIR: where waitress would buffer a large body

    @property
    def port(self) -> int:
        return self.server.port

    def temp_files(self) -> list[str]:
        """What the server holds open in its temp dir (a TemporaryFile has no name to list)."""
        fds = Path(f"/proc/{self.server.process.pid}/fd")
        found = list(map(str, self.tmpdir.iterdir()))
        for fd in fds.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:  # closed while we looked
                continue
            if target.startswith(str(self.tmpdir)):
                found.append(target)
        return found


def _environment(tmpdir: Path) -> dict[str, str]:
    return {
        "TMPDIR": str(tmpdir),
        "LEARNHUB_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "LEARNHUB_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
        "LEARNHUB_LOAD_SAMPLES": "false",
    }


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("guarded-hub")
    (root / "tmp").mkdir()
    # A video far larger than the socket buffers, so a download can be paused half-way.
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(VIDEO_BYTES)
    pack = write_pack_dir(root / "pack", files={**sample_files(), "v/intro.mp4": video})
    learnhub = [sys.executable, "-m", "hub", "content", "import", str(pack)]
    subprocess.run([*learnhub, "--data", str(root / "data")], check=True, timeout=120)
    server = LiveServer(root / "data", env=_environment(root / "tmp"))
    try:
        server.wait_until_ready()
        yield Served(server, root / "tmp")
    finally:
        server.stop()


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("guarded-central")
    (root / "tmp").mkdir()
    server = CentralServer(root / "data", None, env=_environment(root / "tmp"))
    try:
        server.wait_until_ready()
        yield Served(server, root / "tmp")
    finally:
        server.stop()


def connect(port: int, source: str = "127.0.0.1", timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(
        ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
    )


def status_of(sock: socket.socket, timeout: float = 2.0) -> int | None:
    """The status code of the answer on `sock`, or None when it closes without one."""
    sock.settimeout(timeout)
    head = b""
    try:
        while b"\r\n" not in head:
            data = sock.recv(4096)
            if not data:
                return None
            head += data
    except ConnectionResetError:
        return None
    return int(head.split(b" ", 2)[1])


def answer_of(sock: socket.socket, timeout: float = 2.0) -> tuple[int, bytes]:
    """The status and body of the answer on `sock`, read to the end of the connection."""
    sock.settimeout(timeout)
    answer = b""
    while data := sock.recv(65536):
        answer += data
    head, body = answer.split(b"\r\n\r\n", 1)
    return int(head.split(b" ", 2)[1]), body


def get(port: int, path: str = "/healthz", source: str = "127.0.0.1") -> int | None:
    with connect(port, source, timeout=2.0) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n".encode())
        return status_of(sock)


def is_closed(sock: socket.socket) -> bool:
    """True when the server has closed `sock` (it reads as end of file or a reset)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def closed_of(socks: list[socket.socket], wanted: int, seconds: float) -> list[socket.socket]:
    """Those of `socks` the server closes within `seconds` (stops early at `wanted`)."""
    deadline = time.monotonic() + seconds
    open_ = list(socks)
    closed: list[socket.socket] = []
    while len(closed) < wanted and time.monotonic() < deadline:
        readable, _, _ = select.select(open_, [], [], 0.2)
        for sock in readable:
            if is_closed(sock):
                closed.append(sock)
                open_.remove(sock)
    return closed


def closed_after(sock: socket.socket, seconds: float, drip: bytes = b"") -> float | None:
    """Seconds until the server closes `sock`, sending one byte of `drip` every 0.3 s meanwhile;
    None when it is still open after `seconds`."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if is_closed(sock):
            return time.monotonic() - began
        if drip:
            try:
                sock.sendall(drip[:1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - began
            drip = drip[1:]
        select.select([sock], [], [], 0.3)
    return None


@contextmanager
def paused_download(hub: Served, source: str) -> Iterator[socket.socket]:
    """The intro video asked for and not read: a student paused it."""
    lesson = f"/api/lessons/{PACK_ID}/intro-video"
    with urllib.request.urlopen(f"http://127.0.0.1:{hub.port}{lesson}", timeout=5) as answer:
        path = json.load(answer)["files"]["main"]
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)  # before connecting
        sock.settimeout(5.0)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", hub.port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: hub\r\n\r\n".encode())
        yield sock


def read_download(sock: socket.socket) -> tuple[int, int]:
    """Read a download to its end: (its Content-Length, the body bytes that came)."""
    answer = b""
    while b"\r\n\r\n" not in answer and (data := sock.recv(65536)):
        answer += data
    head, body = answer.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])
    received = len(body)
    while received < length and (data := sock.recv(1024 * 1024)):
        received += len(data)
    return length, received


def hold(stack: ExitStack, port: int, source: str, count: int, send: bytes = b"") -> list:
    socks = []
    for _ in range(count):
        sock = stack.enter_context(connect(port, source))
        if send:
            sock.sendall(send)
        socks.append(sock)
    return socks


def post_head(path: str, length: int, method: str = "POST") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def send_until_answered(sock: socket.socket, data: bytes, seconds: float = 2.0) -> bool:
    """Send `data` piece by piece until the server answers or closes; True when it did so
    before all of `data` was sent."""
    deadline = time.monotonic() + seconds
    view = memoryview(data)
    sock.setblocking(False)
    try:
        while view and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 0.1)
            if readable:
                return True
            if writable:
                try:
                    view = view[sock.send(view[:65536]) :]
                except (BrokenPipeError, ConnectionResetError):
                    return True
        return select.select([sock], [], [], max(0.0, deadline - time.monotonic()))[0] != []
    finally:
        sock.setblocking(True)


# --- connections --------------------------------------------------------------------------


def test_hundreds_of_idle_and_half_sent_connections_do_not_block_another_address(
    hub: Served,
) -> None:
    with ExitStack() as stack:
        hold(stack, hub.port, "127.0.0.2", 300)
        hold(stack, hub.port, "127.0.0.2", 300, send=HALF_SENT)
        began = time.monotonic()
        assert get(hub.port) == 200
        assert time.monotonic() - began < 2.0
        assert get(hub.port, source="127.0.0.3") == 200


def test_connections_over_one_address_s_share_are_closed_at_once(hub: Served) -> None:
    with ExitStack() as stack:
        began = time.monotonic()
        socks = hold(stack, hub.port, "127.0.0.4", 300)
        closed = closed_of(socks, 300 - PER_ADDRESS, seconds=2.0)
        assert len(closed) == 300 - PER_ADDRESS
        # Its own share is served as anyone's: closed only at the header deadline.
        share = [sock for sock in socks if sock not in closed]
        first = closed_of(share, 1, seconds=HEADER_TIMEOUT + 3)
        assert first != []
        assert time.monotonic() - began > HEADER_TIMEOUT - 0.2
        rest = [sock for sock in share if sock not in first]
        assert len(closed_of(rest, len(rest), seconds=3.0)) == len(rest)
        # Once they are gone the address has its whole share again: nothing was miscounted.
        again = hold(stack, hub.port, "127.0.0.4", PER_ADDRESS)
        assert closed_of(again, 1, seconds=0.5) == []


def test_half_sent_headers_are_closed_at_the_header_deadline_however_slowly_dripped(
    hub: Served,
) -> None:
    with connect(hub.port, "127.0.0.5") as idle, connect(hub.port, "127.0.0.5") as dripping:
        dripping.sendall(b"GET / HTTP/1.1\r\n")
        drip = b"X-Slow: " + b"a" * 100
        waited = closed_after(dripping, HEADER_TIMEOUT + 5, drip=drip)
        assert waited is not None and waited > HEADER_TIMEOUT - 0.5
        assert closed_after(idle, 1.0) is not None  # a connection that never spoke


def test_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout_a_paused_video_is_not(
    hub: Served,
) -> None:
    with connect(hub.port, "127.0.0.5") as sock, paused_download(hub, "127.0.0.6") as video:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
        assert status_of(sock) == 200
        # Past the header deadline it is still open: waiting between requests is not sending
        # headers slowly. Then the idle timeout closes it.
        assert closed_after(sock, HEADER_TIMEOUT + 1) is None
        # Waitress's maintenance, once a second, closes it; the margin is for a busy machine.
        assert closed_after(sock, IDLE_TIMEOUT + 6) is not None
        # The video, not read for as long, waits for its reader (`send_timeout`, 120 s).
        length, received = read_download(video)
        assert received == length > VIDEO_BYTES


# --- bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [SMALL_LIMIT + 1, 500_000_000])
def test_a_body_over_the_routes_limit_is_refused_as_the_headers_arrive(
    hub: Served, length: int
) -> None:
    with connect(hub.port) as sock:
        sock.sendall(post_head("/api/progress", length))
        began = time.monotonic()
        status, body = answer_of(sock)
        assert status == 413
        assert time.monotonic() - began < 2.0
        error = json.loads(body)["error"]
        assert error["code"] == "too_large" and f"{SMALL_LIMIT:,} bytes" in error["message"]


def test_a_refused_body_is_never_written_to_the_servers_temp_dir(hub: Served) -> None:
    with connect(hub.port) as sock:
        head = post_head("/api/progress", 100_000_000)
        send_until_answered(sock, head + b"x" * (4 * 1024 * 1024), seconds=3.0)
        assert hub.temp_files() == []
        assert status_of(sock) in (413, None)  # the rest of the body may reset the answer


def test_a_chunked_body_is_refused_as_it_passes_the_limit(hub: Served) -> None:
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
    body = chunk * 48  # 3 MiB, and never the last chunk: waitress alone waits for it
    head = (
        b"POST /api/progress HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    with connect(hub.port) as sock:
        assert send_until_answered(sock, head + body, seconds=3.0)
        assert status_of(sock) in (413, None)
        assert hub.temp_files() == []


def test_the_roster_import_has_its_own_larger_limit(hub: Served) -> None:
    with connect(hub.port) as sock:
        sock.sendall(post_head("/admin/import", ROSTER_LIMIT + 1))
        assert status_of(sock) == 413
    with connect(hub.port) as sock:  # a CSV of 1 MB passes the server to the app's own checks
        sock.sendall(post_head("/admin/import", SMALL_LIMIT + 1000) + b"x" * (SMALL_LIMIT + 1000))
        assert status_of(sock) not in (413, None)


# --- central ------------------------------------------------------------------------------


def test_central_serves_another_address_while_one_holds_hundreds(central: Served) -> None:
    with ExitStack() as stack:
        hold(stack, central.port, "127.0.0.2", 300)
        hold(stack, central.port, "127.0.0.2", 300, send=HALF_SENT)
        began = time.monotonic()
        assert get(central.port) == 200
        assert time.monotonic() - began < 2.0


@pytest.mark.parametrize(
    ("method", "path", "length"),
    [
        ("PUT", "/api/sync/uploads/0123456789abcdef", CHUNK_LIMIT + 1),
        ("POST", "/api/sync/join", SMALL_LIMIT + 1),
        ("POST", "/api/sync/uploads", 500_000_000),
    ],
)
def test_central_refuses_a_body_over_the_routes_limit_as_the_headers_arrive(
    central: Served, method: str, path: str, length: int
) -> None:
    with connect(central.port) as sock:
        sock.sendall(post_head(path, length, method))
        began = time.monotonic()
        assert status_of(sock) == 413
        assert time.monotonic() - began < 2.0
    with connect(central.port) as sock:
        send_until_answered(sock, post_head(path, length, method) + b"x" * 4 * 1024**2, 3.0)
        assert central.temp_files() == []
