"""The bundle's tar, by hand: ustar headers for the writer, and a strict walk for the reader that
takes checksummed headers of regular files in the expected order and nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from sync.bundle._format import CHUNK_SIZE, BundleError, printable

BLOCK = 512
MAX_TRAILER = 1024 * 1024  # zeros a tar tool may add after the end-of-archive marker
OCTAL = re.compile(rb"[0-7]{1,12}")


def tar_header(name: str, size: int, created_ms: int) -> bytes:
    header = bytearray(BLOCK)
    header[0 : len(name)] = name.encode("ascii")
    header[100:108] = b"0000644\0"
    header[108:116] = b"0000000\0"
    header[116:124] = b"0000000\0"
    header[124:136] = b"%011o\0" % size
    header[136:148] = b"%011o\0" % (max(created_ms, 0) // 1000)
    header[148:156] = b" " * 8
    header[156:157] = b"0"
    header[257:265] = b"ustar\x0000"
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def padding(size: int) -> int:
    return -size % BLOCK


TYPE_NAMES = {
    b"1": "a hard link",
    b"2": "a symbolic link",
    b"3": "a character device",
    b"4": "a block device",
    b"5": "a directory",
    b"6": "a FIFO",
    b"x": "a pax extended header",
    b"g": "a pax global header",
    b"L": "a GNU long name",
    b"K": "a GNU long link name",
}


class TarReader:
    """Walks the tar strictly: checksummed ustar headers of regular files, in the order
    expected, zero padding, the end-of-archive marker, nothing after it but zeros."""

    def __init__(self, handle: BinaryIO, label: str, expected: list[str]) -> None:
        self.handle = handle
        self.label = label
        self.expected = expected
        self.seen: set[str] = set()
        self.offset = 0

    def refuse(self, reason: str) -> BundleError:
        return BundleError(f"{self.label} is refused: {reason}.")

    def read_exact(self, size: int, where: str) -> bytes:
        data = self.handle.read(size)
        self.offset += len(data)
        if len(data) < size:
            raise self.refuse(f"it is truncated (it ends inside {where})")
        return data

    def member(self, name: str, largest: int) -> int:
        """The size of the next member, which must be `name`."""
        block = self.read_exact(BLOCK, f"the tar header of {name}")
        if block == bytes(BLOCK):
            raise self.refuse(f"it is incomplete ({name} is missing)")
        found, size = self._parse_header(block)
        if found != name:
            raise self.refuse(self._misplaced(found, name))
        self.seen.add(found)
        if size > largest:
            raise self.refuse(f"{name} is larger than {largest} bytes")
        return size

    def _misplaced(self, found: str, wanted: str) -> str:
        if found in self.seen:
            return f"the member {found} appears twice"
        if found in self.expected:
            return f"its members are out of order ({found} comes where {wanted} should)"
        return f"it holds an unexpected member {found}"

    def _parse_header(self, block: bytes) -> tuple[str, int]:
        where = f"the tar header at byte {self.offset - BLOCK}"
        stored, size = _octal(block[148:156]), _octal(block[124:136])
        if stored is None or size is None:
            raise self.refuse(f"{where} is damaged")
        if stored != sum(block[:148]) + 32 * 8 + sum(block[156:]):
            raise self.refuse(f"{where} is damaged (its checksum does not match)")
        if block[257:265] != b"ustar\x0000":
            raise self.refuse(f"{where} is not a POSIX ustar header")
        name = self._name(block, where)
        kind = block[156:157]
        if kind not in (b"0", b"\0"):
            what = TYPE_NAMES.get(kind, "not a regular file")
            raise self.refuse(f"the member {name} is {what}, which a bundle never holds")
        return name, size

    def _name(self, block: bytes, where: str) -> str:
        prefix = block[345:500].split(b"\0", 1)[0]
        base = block[0:100].split(b"\0", 1)[0]
        try:
            name = printable((prefix + b"/" + base if prefix else base).decode("utf-8"))
        except UnicodeDecodeError:
            raise self.refuse(f"{where} names a member in bytes that are not text") from None
        if name.startswith("/"):
            raise self.refuse(f"the member {name} has an absolute path")
        if ".." in name.split("/"):
            raise self.refuse(f"the member {name} points outside the bundle")
        return name

    def data(self, name: str, size: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The member's bytes in chunk_size pieces, then its padding (which must be zero)."""
        left = size
        while left:
            piece = self.read_exact(min(chunk_size, left), name)
            left -= len(piece)
            yield piece
        if self.read_exact(padding(size), f"the tar padding after {name}").strip(b"\0"):
            raise self.refuse(f"the tar padding after {name} is not zero")

    def end(self) -> None:
        block = self.read_exact(BLOCK, "the end-of-archive marker")
        if block != bytes(BLOCK):
            found, _ = self._parse_header(block)
            raise self.refuse(self._misplaced(found, "the end of the archive"))
        if self.read_exact(BLOCK, "the end-of-archive marker") != bytes(BLOCK):
            raise self.refuse("its end-of-archive marker is damaged")
        # Tar tools pad an archive to their record size (10 KiB by default): zeros only.
        trailer = self.handle.read(MAX_TRAILER + 1)
        if len(trailer) > MAX_TRAILER or trailer.strip(b"\0"):
            raise self.refuse("it has data after the end of the archive")


def _octal(field: bytes) -> int | None:
    """A ustar number: octal digits, ended by NUL or space; None for anything else."""
    digits = field.rstrip(b"\0 ")
    return int(digits, 8) if OCTAL.fullmatch(digits) else None
