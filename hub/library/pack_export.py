"""An installed pack as a pack .zip for another hub: its pack.json as installed and every
file at its path, from the blob store. Importing the zip elsewhere gives the same pack (same
id, version, lessons and files). Written as a stream of pieces, so the admin page sends it as
it is made and the command line writes it to a file: no copy of the pack waits on disk or in
memory. Files are stored, not compressed: they are mostly media already compressed, and the
import's zip-bomb ratio check must never refuse a pack the hub itself wrote.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content.blobstore import BlobStore
from content.errors import PackError
from content.source import MANIFEST_NAME
from hub.core.db import connected
from hub.core.translate import gettext
from hub.library.models import Pack, PackFile

PIECE = 1024**2
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # the same pack makes the same zip


@dataclass(frozen=True)
class PackZip:
    """What to write: read from the database up front, so the stream needs no connection."""

    pack_id: str
    version: str
    manifest: dict[str, Any]
    files: list[tuple[str, Path, int]]  # path in the pack, blob, size

    @property
    def file_name(self) -> str:
        return f"{self.pack_id}-{self.version}.zip"


def pack_zip(store: BlobStore, pack_id: str) -> PackZip:
    """PackError when no such pack is installed or one of its files is missing."""
    with connected():
        pack = Pack.with_manifest(pack_id)
        if pack is None:
            raise PackError(gettext("No pack with id %(pack)r is installed.", pack=pack_id))
        rows = list(PackFile.select().where(PackFile.pack == pack_id).order_by(PackFile.path))
    files = [(row.path, store.path(row.sha256), row.size) for row in rows]
    for path, blob, _size in files:
        if not blob.is_file():
            raise PackError(
                gettext(
                    "The file %(path)s of %(pack)s is missing; run learnhub content verify.",
                    path=path,
                    pack=pack_id,
                )
            )
    return PackZip(pack.id, pack.version, pack.manifest, files)


def zip_pieces(packed: PackZip) -> Iterator[bytes]:
    """The zip, piece by piece."""
    out = _Pieces()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        manifest = json.dumps(packed.manifest, ensure_ascii=False, indent=2).encode("utf-8")
        archive.writestr(zipfile.ZipInfo(MANIFEST_NAME, _ZIP_TIME), manifest)
        yield out.take()
        for path, blob, size in packed.files:
            info = zipfile.ZipInfo(path, _ZIP_TIME)
            info.file_size = size
            with open(blob, "rb") as source, archive.open(info, "w", force_zip64=True) as entry:
                while piece := source.read(PIECE):
                    entry.write(piece)
                    yield out.take()
    yield out.take()


def write_zip(packed: PackZip, target: Path) -> None:
    """Write the zip to `target` (through a temporary name, so a failure leaves nothing)."""
    partial = target.with_name(target.name + ".partial")
    try:
        with open(partial, "wb") as out:
            for piece in zip_pieces(packed):
                out.write(piece)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


class _Pieces:
    """A write-only, unseekable file that hands out what was written since the last take:
    zipfile then writes each entry's sizes after its data, as a stream needs."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._written = 0

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass  # nothing is held back: take() hands out everything written

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data
