"""The few parts of the ZIM format (openzim.org/wiki/ZIM_file_format) the hub reads itself:
the header, and where an entry's bytes lie in the file: in an uncompressed cluster, so a video
is sent by sendfile from the ZIM instead of through memory (libzim's Python binding does not
expose `getDirectAccessInformation`), or in a compressed one, which content.zim.clusters
decompresses without holding the interpreter lock. Everything else goes through libzim.

Every number read here comes from a file and is checked before it is used."""

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


@dataclass(frozen=True)
class Place:
    """Where an entry's bytes are: blob `blob` of cluster `cluster`, whose bytes in the file
    run from `start` (its info byte) to `end` (the next cluster, or the checksum)."""

    cluster: int
    blob: int
    compression: int  # the info byte's low 4 bits: 0/1 none, 4 xz, 5 zstd
    width: int  # of each offset in the cluster's list: 4, or 8 when the extended flag is set
    start: int
    end: int

    @property
    def stored_plain(self) -> bool:
        return self.compression in _UNCOMPRESSED


def locate(fd: int, header: Header, index: int) -> Place | None:
    """Where entry `index` (in path order) has its bytes; None for a redirect, an entry
    without content, or any number that points outside the file or its cluster table."""
    found = dirent_place(fd, header, index)
    if found is None:
        return None
    span = cluster_span(fd, header, found[0])
    return None if span is None else Place(found[0], found[1], *span)


def dirent_place(fd: int, header: Header, index: int) -> tuple[int, int] | None:
    """(cluster, blob) of entry `index`, from its dirent; None for a redirect, an entry
    without content, or numbers outside the file or its cluster table."""
    try:
        if not 0 <= index < header.entry_count:
            return None
        head = os.pread(fd, 16, _u64(fd, header.path_ptr_pos + 8 * index))
        if len(head) < 16:
            return None
        mime, _, _, _, cluster, blob = struct.unpack("<HBcIII", head)
    except (OSError, struct.error):
        return None
    if mime >= _NOT_CONTENT or cluster >= header.cluster_count:
        return None
    return cluster, blob


# What cluster_span says of a cluster: (compression, offset width, start, end), as in Place.
ClusterSpan = tuple[int, int, int, int]


def cluster_span(fd: int, header: Header, cluster: int) -> ClusterSpan | None:
    """Where cluster `cluster` lies in the file and how it is stored; None for numbers that
    point outside the file. Its end and info byte read in one go with its start's pointer."""
    try:
        if not 0 <= cluster < header.cluster_count:
            return None
        last = cluster + 1 == header.cluster_count
        pointers = os.pread(fd, 8 if last else 16, header.cluster_ptr_pos + 8 * cluster)
        if len(pointers) < (8 if last else 16):
            return None
        start = struct.unpack_from("<Q", pointers)[0]
        end = header.checksum_pos if last else struct.unpack_from("<Q", pointers, 8)[0]
        if not HEADER_SIZE <= start < end <= header.checksum_pos:
            return None
        info = os.pread(fd, 1, start)
    except (OSError, struct.error):
        return None
    if not info:
        return None
    width = 8 if info[0] & _EXTENDED else 4
    return info[0] & 0x0F, width, start, end


def plain_span(fd: int, place: Place) -> tuple[int, int] | None:
    """(file offset, length) of a blob in an uncompressed cluster, checked to lie inside its
    cluster; None when the cluster's offsets say anything odd."""
    form = "<Q" if place.width == 8 else "<I"
    try:
        first = struct.unpack(form, os.pread(fd, place.width, place.start + 1))[0]
        if first % place.width or place.blob + 1 >= first // place.width:
            return None
        pair = os.pread(fd, 2 * place.width, place.start + 1 + place.width * place.blob)
        start, end = struct.unpack(form[0] + 2 * form[1], pair)
    except (OSError, struct.error):
        return None
    offset = place.start + 1 + start
    if not first <= start <= end or offset + (end - start) > place.end:
        return None
    return offset, end - start


def direct_span(fd: int, header: Header, index: int, size: int) -> int | None:
    """The file offset of entry `index`'s bytes when it is stored uncompressed, else None.
    The span is checked against `size` (libzim's own count) and its cluster's end: anything
    odd answers None, and the caller reads through libzim instead."""
    place = locate(fd, header, index)
    span = plain_span(fd, place) if place is not None and place.stored_plain else None
    if span is None or span[1] != size:
        return None
    return span[0]


def _u64(fd: int, position: int) -> int:
    data = os.pread(fd, 8, position)
    if len(data) < 8:
        raise OSError("short read")
    return int(struct.unpack("<Q", data)[0])
