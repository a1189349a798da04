"""A small HTTP/1.1 load generator: asyncio, keep-alive, loopback only, bounded in time.

Each client is one keep-alive connection that sends its next request as soon as the previous
answer is read (a closed loop), so requests/s is what the server sustains at that concurrency.
One thread drives every connection, which leaves the other core of a 2-core machine to the
server.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from benchlib.server import HOST

READ_CHUNK = 256 * 1024
STREAM_LIMIT = 256 * 1024
MAX_REQUESTS = 2_000_000  # a safety bound; the duration ends a run long before this


class ProtocolError(Exception):
    """The server's answer was not HTTP/1.1 we can parse."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes


def expect_ok(response: Response) -> str | None:
    """The default check: a 200 with a body. Returns what is wrong, or None."""
    if response.status != 200:
        return f"status {response.status}"
    return None if response.body else "empty body"


@dataclass(frozen=True)
class Request:
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    check: Callable[[Response], str | None] = expect_ok

    def encode(self, port: int) -> bytes:
        lines = [f"GET {self.path} HTTP/1.1", f"Host: {HOST}:{port}", "User-Agent: learnhub-bench"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int):
        self.reader = reader
        self.writer = writer
        self.port = port
        self.closing = False  # the server said it will close after this answer

    @classmethod
    async def open(cls, port: int, receive_buffer: int | None = None) -> Connection:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if receive_buffer:
            # Set before connecting, so the TCP window really is this small.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, (HOST, port))
        except BaseException:
            sock.close()
            raise
        reader, writer = await asyncio.open_connection(sock=sock, limit=STREAM_LIMIT)
        return cls(reader, writer, port)

    async def send(self, request: Request) -> None:
        self.writer.write(request.encode(self.port))
        await self.writer.drain()

    async def read_head(self) -> tuple[int, dict[str, str]]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"bad status line {status_line!r}")
        headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if headers.get("connection", "").lower() == "close" or parts[0] == "HTTP/1.0":
            self.closing = True
        return int(parts[1]), headers

    async def read_body(self, status: int, headers: dict[str, str]) -> bytes:
        if status in (204, 304) or 100 <= status < 200:
            return b""
        if "content-length" in headers:
            return await self._read_exactly(int(headers["content-length"]))
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await self._read_chunked()
        self.closing = True
        return await self.reader.read()

    async def fetch(self, request: Request) -> Response:
        await self.send(request)
        status, headers = await self.read_head()
        return Response(status, headers, await self.read_body(status, headers))

    async def _read_exactly(self, length: int) -> bytes:
        parts = []
        while length > 0:
            chunk = await self.reader.read(min(length, READ_CHUNK))
            if not chunk:
                raise ProtocolError("connection closed in the middle of a body")
            parts.append(chunk)
            length -= len(chunk)
        return b"".join(parts)

    async def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while await self.reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return b"".join(parts)
            parts.append(await self._read_exactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


NETWORK_ERRORS = (
    OSError,
    EOFError,
    TimeoutError,
    ProtocolError,
    ValueError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
)


@dataclass
class LoadResult:
    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of the answers that passed the check
    body_bytes: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    # CPU used per wall second (1.0 = one core busy), filled in by whoever measured it.
    server_cpu: float | None = None
    client_cpu: float | None = None

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def megabytes_per_second(self) -> float:
        return self.body_bytes / 1e6 / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float | None:
        """Nearest-rank percentile of the latencies, in seconds."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        rank = max(1, round(fraction * len(ordered) + 0.4999999))
        return ordered[min(rank, len(ordered)) - 1]

    def summary(self) -> dict:
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "requests_per_second": round(self.per_second, 1),
            "megabytes_per_second": round(self.megabytes_per_second, 1),
            "p50_ms": _ms(self.percentile(0.50)),
            "p95_ms": _ms(self.percentile(0.95)),
            "p99_ms": _ms(self.percentile(0.99)),
            "max_ms": _ms(max(self.latencies) if self.latencies else None),
            "errors": dict(self.errors),
            "server_cpu": self.server_cpu,
            "client_cpu": self.client_cpu,
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


Picker = Callable[[random.Random], Request]


async def _client(
    port: int,
    pick: Picker,
    rng: random.Random,
    deadline: float,
    timeout: float,
    budget: list[int],
    result: LoadResult,
) -> None:
    loop = asyncio.get_running_loop()
    connection: Connection | None = None
    try:
        while loop.time() < deadline and budget[0] > 0:
            budget[0] -= 1
            request = pick(rng)
            began = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    if connection is None:
                        connection = await Connection.open(port)
                    response = await connection.fetch(request)
            except NETWORK_ERRORS as err:
                result.errors[type(err).__name__] += 1
                if connection is not None:
                    connection.close()
                connection = None
                await asyncio.sleep(0.01)  # a refusing server is not hammered in a tight loop
                continue
            elapsed = time.perf_counter() - began
            problem = request.check(response)
            if problem:
                result.errors[problem] += 1
            else:
                result.latencies.append(elapsed)
                result.body_bytes += len(response.body)
            if connection.closing:
                connection.close()
                connection = None
    finally:
        if connection is not None:
            connection.close()


async def run_load(
    port: int, pick: Picker, clients: int, duration: float, timeout: float = 10.0
) -> LoadResult:
    """`clients` connections for `duration` seconds; answers still in flight are awaited
    (each at most `timeout`), so the run ends by duration + timeout at the latest."""
    loop = asyncio.get_running_loop()
    result = LoadResult(clients)
    budget = [MAX_REQUESTS]
    began = time.perf_counter()
    deadline = loop.time() + duration
    await asyncio.gather(
        *(
            _client(port, pick, random.Random(n), deadline, timeout, budget, result)
            for n in range(clients)
        )
    )
    result.seconds = time.perf_counter() - began
    return result


def load(port: int, pick: Picker, clients: int, duration: float) -> LoadResult:
    return asyncio.run(run_load(port, pick, clients, duration))


# --- slow range downloads (a video player on a slow phone, paused or seeking) -------------

HOLDER_RECEIVE_BUFFER = 64 * 1024


@dataclass
class Holder:
    ranges: int = 0  # range answers (206) received
    received: int = 0  # body bytes read
    streaming: bool = False  # a range response is open right now
    error: str | None = None


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        pass


async def _hold_one_range(
    connection: Connection,
    path: str,
    start: int,
    rate: float,
    stop: asyncio.Event,
    holder: Holder,
) -> None:
    loop = asyncio.get_running_loop()
    await connection.send(Request(path, (("Range", f"bytes={start}-"),)))
    status, headers = await connection.read_head()
    if status != 206:
        raise ProtocolError(f"range answered {status}")
    holder.ranges += 1
    holder.streaming = True
    remaining = int(headers["content-length"])
    began, got = loop.time(), 0
    while remaining > 0 and not stop.is_set():
        chunk = await connection.reader.read(min(remaining, 16 * 1024))
        if not chunk:
            raise ProtocolError("range closed early")
        got += len(chunk)
        remaining -= len(chunk)
        holder.received += len(chunk)
        ahead = got / rate - (loop.time() - began)
        if ahead > 0:
            await _pause(stop, ahead)
    holder.streaming = False


async def hold_range(
    port: int,
    path: str,
    size: int,
    rate: float,
    stop: asyncio.Event,
    holder: Holder,
    rng: random.Random,
) -> None:
    """Read `bytes=N-` (to the end) of `path` at `rate` bytes/s until `stop`; again if done."""
    while not stop.is_set():
        connection = None
        try:
            connection = await Connection.open(port, receive_buffer=HOLDER_RECEIVE_BUFFER)
            await _hold_one_range(connection, path, rng.randrange(size // 8), rate, stop, holder)
        except NETWORK_ERRORS as err:
            holder.error = f"{type(err).__name__}: {err}"
            return
        finally:
            holder.streaming = False
            if connection is not None:
                connection.close()


@dataclass
class HoldReport:
    holders: list[Holder]
    streaming_at_start: int = 0
    streaming_at_end: int = 0

    def summary(self) -> dict:
        return {
            "holders": len(self.holders),
            "streaming_at_start": self.streaming_at_start,
            "streaming_at_end": self.streaming_at_end,
            "received_bytes": sum(h.received for h in self.holders),
            "ranges": sum(h.ranges for h in self.holders),
            "errors": [h.error for h in self.holders if h.error],
        }


async def _load_while_holding(
    port: int,
    pick: Picker,
    clients: int,
    duration: float,
    hold_path: str,
    hold_size: int,
    holders: int,
    rate: float,
) -> tuple[LoadResult, HoldReport]:
    stop = asyncio.Event()
    report = HoldReport([Holder() for _ in range(holders)])
    tasks = [
        asyncio.create_task(hold_range(port, hold_path, hold_size, rate, stop, h, random.Random(n)))
        for n, h in enumerate(report.holders)
    ]
    try:
        for _ in range(500):  # up to 5 s for every range to be streaming
            if all(h.streaming or h.error for h in report.holders):
                break
            await asyncio.sleep(0.01)
        report.streaming_at_start = sum(h.streaming for h in report.holders)
        result = await run_load(port, pick, clients, duration)
        report.streaming_at_end = sum(h.streaming for h in report.holders)
    finally:
        stop.set()
        await asyncio.wait(tasks, timeout=10)
        for task in tasks:
            task.cancel()
    return result, report


def load_while_holding(
    port: int,
    pick: Picker,
    clients: int,
    duration: float,
    hold_path: str,
    hold_size: int,
    holders: int,
    rate: float,
) -> tuple[LoadResult, HoldReport]:
    """Run a load while `holders` connections each trickle a long Range download."""
    return asyncio.run(
        _load_while_holding(port, pick, clients, duration, hold_path, hold_size, holders, rate)
    )
