"""The one way the hub downloads a file from another machine (a reply from central, a pack's
file from a neighbour hub): resumable, bounded, checked, and renamed into place whole.

- Resumable: what arrived before stays in `<dest>.part`; the next try asks for the rest with
  `Range`. A 206 must say (`Content-Range`) that it starts exactly there and ends at the file's
  total, or the part is thrown away, so the next try starts over rather than splicing two
  files. A 200 to a Range request is the whole file again: the part is restarted from zero.
- Bounded: every byte goes through one bounded exchange (hub.core.bounded_http: capped in time),
  never more than the file's size (known beforehand, or announced and under `max_bytes`), and
  never more than the disk has free.
- Checked and whole: once all bytes are there, the sha256 (when the caller knows it) is
  compared, then the part is flushed to disk and renamed over `dest`, so `dest` is either
  absent or the whole, verified file.

Every failure is a TransferError whose str() is one sentence; callers that speak to their
own readers (sync, copying from a neighbour) turn the kinds below into their own words.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from content.durable import fsync_dir
from content.source import size_text
from hub.core.bounded_http import PIECE, Exchange, LinkFailed, Sink, TooLarge, TransferError

_CONTENT_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19})")


class Refused(TransferError):
    """The answer was neither 200 nor 206; `code` is the error code its body named, if any."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class WrongAnswer(TransferError):
    """The answer's headers do not add up (encoding, Content-Range, Content-Length)."""


class Unsized(WrongAnswer):
    """The size was not known beforehand and the answer did not announce it."""


class Oversized(TooLarge):
    """The announced size is over `max_bytes`; refused before a byte is written."""

    def __init__(self, message: str, announced: int) -> None:
        super().__init__(message)
        self.announced = announced


class NoRoom(TransferError):
    """The disk has less free space than the bytes still to come."""

    def __init__(self, message: str, need: int, free: int) -> None:
        super().__init__(message)
        self.need = need
        self.free = free


class Cut(TransferError):
    """The body stopped before its end; what arrived is kept for the next try. `reason` says
    how the link failed, or is None when the other side simply closed early."""

    def __init__(self, message: str, reason: str | None) -> None:
        super().__init__(message)
        self.reason = reason


class Corrupt(TransferError):
    """The whole file does not match its sha256; the part was thrown away."""


@dataclass(frozen=True)
class Target:
    """Where a file goes and what it must be."""

    dest: Path
    max_bytes: int  # the whole file, at most
    size: int | None = None  # known beforehand (a neighbour's claim): the answer must agree
    sha256: str | None = None  # checked once whole, when known

    @property
    def part(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part")


def _everything(want: int) -> int:
    return want


def _nothing(count: int) -> None:
    return None


@dataclass(frozen=True)
class Pace:
    """`grant` paces the bytes (a bandwidth cap), `on_bytes` reports them (a progress bar)."""

    grant: Callable[[int], int] = _everything
    piece: int = PIECE
    on_bytes: Callable[[int], None] = _nothing


def download(
    exchange: Callable[[], Exchange],
    path: str,
    target: Target,
    headers: Mapping[str, str] | None = None,
    pace: Pace | None = None,
) -> int:
    """Bring `target.dest` into place from `path`, resuming its part; returns the bytes that
    crossed the network this time. `exchange` opens a bounded exchange with the other side."""
    have = _resume_point(target)
    received = 0
    if target.size is None or have < target.size or not have:  # not have: even 0 bytes
        with exchange() as bounded:
            asked = {**(headers or {}), **_range_headers(have)}
            response = bounded.request("GET", path, headers=asked)
            start, total = _vet(bounded, response, target, have)
            received = _receive(bounded, response, target, start, total, pace or Pace())
    _finish(target)
    return received


def _resume_point(target: Target) -> int:
    """The bytes already on disk, or 0 (and no part) when they cannot belong to the file."""
    part = target.part
    have = part.stat().st_size if part.is_file() else 0
    if have > (target.max_bytes if target.size is None else target.size):
        part.unlink()
        return 0
    return have


def _range_headers(have: int) -> dict[str, str]:
    # identity: a compressed body could not be resumed by byte offset, nor capped by size.
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    return headers


def _vet(
    exchange: Exchange, response: http.client.HTTPResponse, target: Target, have: int
) -> tuple[int, int]:
    """(where the body starts in the file, the file's total size), once the headers add up."""
    who = exchange.who
    if response.status not in (200, 206):
        code = exchange.read_error_code(response)
        raise Refused(f"{who} answered with HTTP error {response.status}.", response.status, code)
    if response.headers.get("Content-Encoding", "identity") != "identity":
        raise WrongAnswer(f"{who} sent a file in an unexpected encoding; it was refused.")
    start = have if response.status == 206 else 0
    total = _ranged_total(response, target, have, who) if start else target.size
    total = _checked_length(response, target, start, total, who)
    if total > target.max_bytes:
        raise Oversized(
            f"{who} announced a file of {size_text(total)}, over this hub's limit of "
            f"{size_text(target.max_bytes)}; it was refused.",
            total,
        )
    return start, total


def _ranged_total(response: http.client.HTTPResponse, target: Target, have: int, who: str) -> int:
    """The total a 206 names, once it starts at `have` and ends at the file's last byte. A
    part that does not fit is thrown away: the next try starts over, whole."""
    header = response.headers.get("Content-Range", "")
    match = _CONTENT_RANGE.fullmatch(header.strip())
    first, last, total = map(int, match.groups()) if match else (-1, -1, -1)
    length = response.headers.get("Content-Length", str(total - have)).strip()
    fits = first == have and last == total - 1 and length == str(total - have)
    if not fits or target.size not in (None, total):
        target.part.unlink(missing_ok=True)
        raise WrongAnswer(
            f"{who} answered a resumed download with the wrong part of a file "
            f"(Content-Range {header.strip()[:80]!r} for bytes {have} onwards); what had "
            "arrived was discarded, so the next try starts from the beginning."
        )
    return total


def _checked_length(
    response: http.client.HTTPResponse, target: Target, start: int, total: int | None, who: str
) -> int:
    """The file's total, once Content-Length (when sent) agrees with it."""
    text = response.headers.get("Content-Length")
    length = int(text) if text is not None and text.strip().isdigit() else None
    if total is None:
        if length is None:
            raise Unsized(f"{who} did not say how large its file is; it was refused.")
        return start + length
    if text is not None and length != total - start:
        raise WrongAnswer(
            f"{who} announced {text.strip()[:20]} bytes for a file it said holds "
            f"{total - start} more; it was refused."
        )
    return total


def _receive(
    exchange: Exchange,
    response: http.client.HTTPResponse,
    target: Target,
    start: int,
    total: int,
    pace: Pace,
) -> int:
    """Write the body into the part from `start`; Cut when it ends before `total`."""
    part, expected = target.part, total - start
    part.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(part.parent).free
    if expected > free:
        raise NoRoom(
            f"{exchange.who} has a file of {size_text(expected)} to send and this hub has "
            f"{size_text(free)} of free disk space; it was not downloaded.",
            expected,
            free,
        )
    with open(part, "r+b" if start else "wb") as out:
        out.seek(start)
        out.truncate()  # a 200 restarts the file; a 206 goes on from exactly `start`
        try:
            written = _stream(exchange, response, _Counted(out, pace.on_bytes), expected, pace)
        finally:
            out.flush()
            os.fsync(out.fileno())  # what arrived survives a power cut, to be resumed
    if written < expected:
        raise Cut(f"{exchange.who} closed the connection before the whole file came.", None)
    return written


def _stream(
    exchange: Exchange, response: http.client.HTTPResponse, out: Sink, limit: int, pace: Pace
) -> int:
    try:
        return exchange.stream(response, out, limit, pace.grant, pace.piece)
    except LinkFailed as err:
        raise Cut(str(err), err.reason) from None


def _finish(target: Target) -> None:
    """Check the whole part, then rename it over `dest` in one durable step."""
    if target.sha256 is not None:
        with open(target.part, "rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        if digest != target.sha256:
            target.part.unlink(missing_ok=True)
            raise Corrupt(f"A downloaded file does not match its sha256 {target.sha256[:12]}...")
    os.replace(target.part, target.dest)
    fsync_dir(target.dest.parent)


class _Counted:
    """A file whose writes are reported (a copy's progress)."""

    def __init__(self, out: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        self.out = out
        self.on_bytes = on_bytes

    def write(self, data: bytes) -> int:
        written = self.out.write(data)
        self.on_bytes(len(data))
        return written
