"""A content-addressed blob store: root/ab/abcdef... named by sha256, shared between packs."""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from content.durable import copy_file, fsync_dir

CHUNK = 1024 * 1024
_SHA = re.compile(r"[0-9a-f]{64}")
_PREFIX = re.compile(r"[0-9a-f]{2}")


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _SHA.fullmatch(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def hash_file(self, path: Path) -> str:
        """The sha256 of a file, streamed (used to verify blobs)."""
        return hash_file(path)

    def shas(self) -> Iterator[str]:
        """Every blob in the store (temporary files and strays are skipped)."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not (_PREFIX.fullmatch(folder.name) and folder.is_dir()):
                continue
            for blob in sorted(folder.iterdir()):
                if _SHA.fullmatch(blob.name) and blob.name.startswith(folder.name):
                    yield blob.name

    def put(self, source: Path, sha256: str, *, sync: bool = True) -> bool:
        """Move a file (already hashed and fsynced) into the store by atomic rename; False if
        the blob was already there (the source is then left alone). With `sync` False the
        caller makes the rename durable: fsync_dirs of the folders() it put blobs in."""
        target = self.path(sha256)
        if target.is_file():
            return False
        folder = target.parent
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            if sync:  # else the root is in the caller's folders(): one fsync, not one per folder
                fsync_dir(folder.parent)
        try:
            os.replace(source, target)
        except OSError as err:
            if err.errno != errno.EXDEV:
                raise
            copy_file(source, target)  # staging on another file system
        if sync:
            fsync_dir(folder)
        return True

    def folders(self, shas: Iterable[str]) -> set[Path]:
        """The folders holding these blobs, and the root (where a new folder is listed)."""
        return {self.root, *(self.path(sha).parent for sha in shas)}


def hash_file(path: Path) -> str:
    """The sha256 hex of a file, read in 1 MiB chunks."""
    with open(path, "rb") as stream:
        return hash_stream(stream)[0]


def hash_stream(stream: BinaryIO, copy_to: BinaryIO | None = None) -> tuple[str, int]:
    """(sha256 hex, size) of a stream read in 1 MiB chunks, optionally copying it."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
    return digest.hexdigest(), size
