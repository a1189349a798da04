"""The few parts of the ZIM format (openzim.org/wiki/ZIM_file_format) the hub reads itself:
the header, and where an uncompressed entry's bytes lie in the file, so a video is sent by
sendfile from the ZIM instead of through memory (libzim's Python binding does not expose
`getDirectAccessInformation`). Everything else goes through libzim."""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path

from content.zim.errors import ZimError

MAGIC = 72173914
HEADER_SIZE = 80
_HEADER = struct.Struct("<IHH16sIIQQQQIIQ")
_UNCOMPRESSED = (0, 1)
_EXTENDED = 0x10
_NOT_CONTENT = 0xFFFD  # 0xffff redirect, 0xfffe link target, 0xfffd deleted


@dataclass(frozen=True)
class Header:
    major: int
    minor: int
    entry_count: int
    cluster_count: int
    path_ptr_pos: int
    cluster_ptr_pos: int
    checksum_pos: int


def parse_header(data: bytes, name: str) -> Header:
    if len(data) < HEADER_SIZE:
        raise ZimError(f"{name} is not a ZIM file: it is shorter than a ZIM header.")
    fields = _HEADER.unpack_from(data)
    if fields[0] != MAGIC:
        raise ZimError(f"{name} is not a ZIM file (its first bytes are not a ZIM header).")
    major, minor, _, entries, clusters, path_ptr, _, cluster_ptr, _, _, _, checksum = fields[1:]
    return Header(major, minor, entries, clusters, path_ptr, cluster_ptr, checksum)


@dataclass(frozen=True)
class Identity:
    """What one hub tells another of a ZIM it offers, and checks again once it arrived."""

    uuid: str
    md5: str  # the checksum the file ends with, as hex (check_file compares it with the bytes)
    size: int


def identity(path: Path, name: str) -> Identity:
    """The UUID in the header and the MD5 in the last 16 bytes, without reading the rest."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEADER_SIZE)
            header = parse_header(head, name)
            size = os.fstat(handle.fileno()).st_size
            if header.checksum_pos + 16 != size:
                raise ZimError(f"{name} does not end where its header says (a truncated copy?).")
            handle.seek(header.checksum_pos)
            checksum = handle.read(16)
    except OSError as err:
        raise ZimError(f"cannot read {name}: {err.strerror or err}.") from None
    return Identity(str(uuid.UUID(bytes=head[8:24])), checksum.hex(), size)


def direct_span(fd: int, header: Header, index: int, size: int) -> int | None:
    """The file offset of entry `index`'s bytes when it is stored uncompressed, else None.
    The span is checked against `size` (libzim's own count) and the file's end: anything odd
    answers None, and the caller reads through libzim instead."""
    try:
        dirent = _u64(fd, header.path_ptr_pos + 8 * index)
        head = os.pread(fd, 16, dirent)
        if len(head) < 16:
            return None
        mime, _, _, _, cluster, blob = struct.unpack("<HBcIII", head)
        if mime >= _NOT_CONTENT or cluster >= header.cluster_count:
            return None
        cluster_pos = _u64(fd, header.cluster_ptr_pos + 8 * cluster)
        info = os.pread(fd, 1, cluster_pos)
        if not info or info[0] & 0x0F not in _UNCOMPRESSED:
            return None
        width = 8 if info[0] & _EXTENDED else 4
        pair = os.pread(fd, 2 * width, cluster_pos + 1 + width * blob)
        if len(pair) < 2 * width:
            return None
        start, end = struct.unpack("<QQ" if width == 8 else "<II", pair)
        offset = cluster_pos + 1 + start
        if end - start != size or offset + size > header.checksum_pos:
            return None
        return offset
    except (OSError, struct.error):
        return None


def _u64(fd: int, position: int) -> int:
    data = os.pread(fd, 8, position)
    if len(data) < 8:
        raise OSError("short read")
    return int(struct.unpack("<Q", data)[0])
