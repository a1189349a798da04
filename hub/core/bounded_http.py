"""The one way the hub reads an HTTP answer from another machine (central's replies, receipts
and identity; a neighbour's offers, catalogs and files): capped in bytes and in time.

- Bytes: a JSON answer is read into memory only up to `download_json_bytes` (a Content-Length
  over it is refused before the body is read); big answers (a reply bundle, a pack's file) are
  streamed to disk piece by piece, up to the size the caller expects.
- Time: a socket timeout only bounds one read, so a server sending a byte every few seconds
  would hold the thread for ever. A watchdog thread per exchange shuts the socket down when
  the exchange falls behind its deadline: `download_seconds`, plus the time the bytes moved so
  far need at `download_min_rate`. An honest slow link keeps moving the deadline on; a stalled
  or dripping server is cut off, in the middle of its headers if need be.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol
from urllib.parse import SplitResult

from content.source import size_text
from hub.core.settings import Config

PIECE = 64 * 1024
READ_TIMEOUT = 30.0  # one read; the watchdog bounds the whole exchange
ERROR_BODY_BYTES = 64 * 1024  # an error answer is read only this far, for its code


class Sink(Protocol):
    """Where a streamed body goes: a file, or one that also counts what is written."""

    def write(self, data: bytes, /) -> int: ...


class TransferError(Exception):
    """An exchange failed; str() is one sentence naming the other side."""


class TooLarge(TransferError):
    """The answer is (or says it is) larger than the hub accepts."""


class TooSlow(TransferError):
    """The exchange fell behind its deadline and was cut off."""


class LinkFailed(TransferError):
    """The network failed (refused, reset, cut); `reason` says how, in a few words."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Bounds:
    json_bytes: int
    seconds: float
    min_rate: int  # bytes per second; 0 = only the fixed `seconds`

    @classmethod
    def of(cls, config: Config, slowest: int = 0) -> Bounds:
        """The settings; `slowest` (a bandwidth cap the hub itself keeps) lowers the rate."""
        rate = max(0, config.download_min_rate)
        if slowest > 0:
            rate = min(rate, slowest) if rate else slowest
        return cls(max(1, config.download_json_bytes), max(1.0, config.download_seconds), rate)

    @classmethod
    def defaults(cls) -> Bounds:
        return cls.of(default_config())

    def within(self, seconds: float | None) -> Bounds:
        """These bounds, the fixed time shortened to `seconds` when given (a page or a probe
        waiting on the answer)."""
        if seconds is None:
            return self
        return dataclasses.replace(self, seconds=min(self.seconds, seconds))

    def max_seconds(self, size: int) -> float:
        """The longest an exchange moving `size` bytes may take."""
        return self.seconds + (size / self.min_rate if self.min_rate else 0.0)


def default_config() -> Config:
    """The settings' defaults, for callers that have no configuration at hand (scripts)."""
    return Config(Path("."))


class Watchdog:
    """Shuts `sock` down once the clock passes `seconds` + moved / `min_rate`."""

    def __init__(self, bounds: Bounds, clock: Callable[[], float] = time.monotonic) -> None:
        self.bounds = bounds
        self._clock = clock
        self.start = clock()
        self.moved = 0
        self.fired = False
        self._sock: socket.socket | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def due(self) -> float:
        return self.start + self.bounds.max_seconds(self.moved)

    def elapsed(self) -> float:
        return self._clock() - self.start

    def watch(self, sock: socket.socket) -> None:
        """Guard `sock` from now on; TooSlow-worthy (fired) if the deadline already passed."""
        with self._lock:
            self._sock = sock
            if self._clock() >= self.due():
                self._fire_locked()
        self._thread = threading.Thread(target=self._run, name="learnhub-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        # Sleeps until the deadline, then looks again: bytes that arrived meanwhile moved it.
        while not self._done.wait(max(self.due() - self._clock(), 0.05)):
            if self._clock() >= self.due():
                with self._lock:
                    self._fire_locked()
                return

    def _fire_locked(self) -> None:
        self.fired = True
        if self._sock is not None:
            with suppress(OSError):  # already closed: nothing left to cut
                self._sock.shutdown(socket.SHUT_RDWR)


class Exchange:
    """One request and its answer on one connection, bounded; use as a context manager.

    `who` starts every sentence ("Central at http://...", "The hub at http://...")."""

    def __init__(self, parts: SplitResult, bounds: Bounds, who: str) -> None:
        self.parts = parts
        self.bounds = bounds
        self.who = who
        self.watchdog = Watchdog(bounds)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        timeout = min(READ_TIMEOUT, bounds.seconds)
        if not parts.hostname:  # the clients refuse such an address before any exchange
            raise ValueError(f"{who}: the address names no host.")
        self.connection = kind(parts.hostname, parts.port, timeout=timeout)

    def __enter__(self) -> Exchange:
        with self.guard():
            self.connection.connect()
            assert self.connection.sock is not None
            self.watchdog.watch(self.connection.sock)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.watchdog.stop()
        self.connection.close()

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Network failures as one TransferError; after the watchdog fired, TooSlow."""
        try:
            yield
            if self.watchdog.fired:
                raise ConnectionAbortedError("cut off")  # a read that ended at the shutdown
        except (OSError, http.client.HTTPException) as err:
            if self.watchdog.fired:
                raise self.too_slow() from None
            why = _reason(err)
            raise LinkFailed(f"{self.who} could not be reached or was cut off ({why}).", why) from (
                None
            )

    def too_slow(self) -> TooSlow:
        return TooSlow(
            f"{self.who} did not finish answering within {self.watchdog.elapsed():.0f} seconds "
            "(it stalled or sent too slowly), so the hub stopped waiting."
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> http.client.HTTPResponse:
        """Send the request (the body's bytes count as progress) and read the headers."""
        if isinstance(body, bytes):
            self.watchdog.moved += len(body)
        elif body is not None:
            body = self._counted(body)
        with self.guard():
            self.connection.request(method, path, body=body, headers=headers or {})
            return self.connection.getresponse()

    def _counted(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self.watchdog.moved += len(piece)
            yield piece

    def read_json_bytes(self, response: http.client.HTTPResponse, what: str) -> bytes:
        """The whole (small) body, at most `json_bytes` of it; TooLarge beyond."""
        cap = self.bounds.json_bytes
        if declared_length(response) > cap:
            raise self.too_large(what, cap)
        body = bytearray()
        with self.guard():
            while piece := response.read1(min(PIECE, cap + 1 - len(body))):
                self.watchdog.moved += len(piece)
                body += piece
                if len(body) > cap:
                    raise self.too_large(what, cap)
        return bytes(body)

    def read_error_bytes(self, response: http.client.HTTPResponse, cap: int) -> bytes:
        """The start of an error answer, for its code; never more than `cap`."""
        with suppress(TransferError), self.guard():
            return response.read1(cap) if declared_length(response) <= cap else b""
        return b""

    def read_error_code(self, response: http.client.HTTPResponse) -> str:
        """The code of an error answer ({"error": {"code": ...}}), or "" for any other body."""
        try:
            doc = json.loads(self.read_error_bytes(response, ERROR_BODY_BYTES))
            return str(doc["error"]["code"])
        except Exception:  # any body at all: only a well-formed error shape tells us a code
            return ""

    def stream(
        self,
        response: http.client.HTTPResponse,
        out: Sink,
        limit: int,
        grant: Callable[[int], int] = lambda want: want,
        piece_bytes: int = PIECE,
    ) -> int:
        """Write the body to `out` piece by piece (never whole in memory); TooLarge when more
        than `limit` bytes come. `grant` paces (a bandwidth cap). Returns the bytes written."""
        written = 0
        with self.guard():
            while piece := response.read1(grant(min(piece_bytes, limit - written + 1))):
                self.watchdog.moved += len(piece)
                written += len(piece)
                if written > limit:
                    raise TooLarge(f"{self.who} sent more than the {limit} bytes it announced.")
                out.write(piece)
        return written

    def too_large(self, what: str, cap: int) -> TooLarge:
        return TooLarge(f"{self.who} sent more than {size_text(cap)} for {what}; it was refused.")


def declared_length(response: http.client.HTTPResponse) -> int:
    """The Content-Length the server announced (-1 when none or unreadable)."""
    text = (response.headers.get("Content-Length") or "").strip()
    return int(text) if text.isdigit() and len(text) < 20 else -1


def _reason(err: BaseException) -> str:
    if isinstance(err, TimeoutError | socket.timeout):
        return "no answer in time"
    return getattr(err, "strerror", None) or str(err) or type(err).__name__
