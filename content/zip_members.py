"""The members of a zip read once from its central directory, to serve them without reopening
the zip: a stored (uncompressed) member by its place in the file, so the server sends its bytes
straight from disk with Range; a compressed one as a stream of decompressed pieces.

    index = ZipIndex(path)            # PackError if the file is not a zip
    member = index.member("a/b.mp4")  # None when absent
    index.data_offset(member)         # where a stored member's bytes begin in the file
    index.chunks(member, start, length)

Only for zips the import already checked (content.h5p): names, sizes and types were judged
there; here the file is only located.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from content.errors import PackError

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length
_LOCAL_SIGNATURE = b"PK\x03\x04"
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Member:
    name: str
    header_offset: int  # where the member's local header begins
    size: int  # uncompressed
    stored: bool  # kept as it is (no compression): its bytes lie in the file


class ZipIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except (OSError, zipfile.BadZipFile) as err:
            raise PackError(f"{path.name} is not a readable zip file: {err}.") from None
        self._members = {
            info.filename: Member(
                info.filename,
                info.header_offset,
                info.file_size,
                info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1,
            )
            for info in infos
            if not info.is_dir()
        }

    def __len__(self) -> int:
        return len(self._members)

    def member(self, name: str) -> Member | None:
        return self._members.get(name)

    def data_offset(self, member: Member) -> int:
        """Where the stored member's bytes begin; PackError if its local header is not where
        the central directory says or its bytes run past the end of the file."""
        with open(self.path, "rb") as handle:
            handle.seek(member.header_offset)
            header = handle.read(_LOCAL_HEADER.size)
            end = os.fstat(handle.fileno()).st_size
        if len(header) != _LOCAL_HEADER.size:
            raise PackError(f"{self.path.name}: {member.name} lies past the end of the zip.")
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        offset = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length
        if signature != _LOCAL_SIGNATURE or offset + member.size > end:
            raise PackError(f"{self.path.name}: {member.name} is not where the zip says.")
        return offset

    def chunks(self, member: Member, start: int, length: int) -> Iterator[bytes]:
        """`length` decompressed bytes of the member from `start`, a piece at a time (a
        compressed stream is read from its beginning: the bytes before `start` are skipped)."""
        with zipfile.ZipFile(self.path) as archive, archive.open(member.name) as stream:
            while start > 0:
                skipped = stream.read(min(CHUNK, start))
                if not skipped:
                    return
                start -= len(skipped)
            while length > 0:
                piece = stream.read(min(CHUNK, length))
                if not piece:
                    return
                length -= len(piece)
                yield piece
