"""Streaming checks on a part's bytes: every chunk against its hash, and xz NDJSON decoded to
JSON values within the size, ratio and line limits (a bomb stops early)."""

from __future__ import annotations

import hashlib
import json
import lzma
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sync.bundle._format import CHUNK_SIZE, BundleError, Limits, member_name

XZ_MEMLIMIT = 128 * 1024 * 1024  # enough for any `xz -9` stream, refuses a forged huge one


def no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def checked_chunks(
    pieces: Iterable[bytes], entry: dict[str, Any], refuse: Callable[[str], BundleError]
) -> Iterator[bytes]:
    """The pieces, each checked against its chunk hash, then the whole against sha256."""
    whole = hashlib.sha256()
    for index, piece in enumerate(pieces):
        if hashlib.sha256(piece).hexdigest() != entry["chunks"][index]:
            raise refuse(f"chunk {index} of {member_name(entry)} does not match its hash")
        whole.update(piece)
        yield piece
    if whole.hexdigest() != entry["sha256"]:
        raise refuse(f"{member_name(entry)} does not match its sha256")


class Decoder:
    """xz NDJSON to JSON values, within the size, ratio and line limits (a bomb stops early)."""

    def __init__(
        self, entry: dict[str, Any], limits: Limits, refuse: Callable[[str], BundleError]
    ) -> None:
        self.name = member_name(entry)
        self.refuse = refuse
        self.limits = limits
        self.xz = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT)
        ratio_cap = max(limits.ratio * entry["size"], limits.ratio_floor)
        self.ceiling = min(limits.decoded_bytes, ratio_cap)
        self.decoded = 0
        self.pending = b""

    def feed(self, piece: bytes) -> Iterator[Any]:
        data = piece
        while not self.xz.eof:
            try:
                out = self.xz.decompress(data, max_length=CHUNK_SIZE * 4)
            except lzma.LZMAError as err:
                if "memory" in str(err).lower():
                    raise self.refuse(f"{self.name} needs too much memory to decompress") from None
                raise self.refuse(f"{self.name} is not a valid xz stream") from None
            data = b""
            yield from self._lines(out)
            if self.xz.needs_input:
                return
        if self.xz.unused_data or data:
            raise self.refuse(f"{self.name} has bytes after its xz stream")

    def _lines(self, out: bytes) -> Iterator[Any]:
        self.decoded += len(out)
        if self.decoded > self.ceiling:
            raise self.refuse(f"{self.name} decompresses to more than {self.ceiling} bytes")
        *complete, self.pending = (self.pending + out).split(b"\n")
        for line in (*complete, self.pending):
            if len(line) > self.limits.line_bytes:
                limit = self.limits.line_bytes
                raise self.refuse(f"{self.name} has a record longer than {limit} bytes")
        for line in complete:
            yield self._parse(line)

    def _parse(self, line: bytes) -> Any:
        try:
            return json.loads(line, parse_constant=no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):  # hostile nesting
            raise self.refuse(f"{self.name} has a line that is not JSON") from None

    def finish(self) -> Iterator[Any]:
        """Nothing more, once the stream is complete (a generator, so it checks when drawn)."""
        if not self.xz.eof:
            raise self.refuse(f"{self.name} ends inside its xz stream")
        if self.pending:
            raise self.refuse(f"{self.name} does not end with a newline")
        yield from ()
