"""Files written whole or not at all, for everything the hub and central keep on disk.

A power cut, a full disk or a pulled USB stick must never leave a half-written file under a
name that is read later (an empty secret key made `/admin/setup` fail on every start). So a file
is written beside its target under a temporary name, flushed to the disk, renamed over the
target in one step, and the folder is flushed so the rename itself survives; on any error the
temporary file is removed and the target is exactly as it was.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
SYNC_THREADS = 16  # fsyncs waiting at once: the file system commits them together


@contextmanager
def atomic_write(path: Path, *, mode: int = 0o644, exclusive: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write; it replaces `path` when the block ends without error.

    With `exclusive`, the file is only created: FileExistsError if `path` appeared meanwhile
    (two processes making the same secret keep the first one's).
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if the name exists: create-only, unlike rename
            tmp.unlink()
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_bytes(path: Path, data: bytes, *, mode: int = 0o644, exclusive: bool = False) -> None:
    with atomic_write(path, mode=mode, exclusive=exclusive) as out:
        out.write(data)


def write_text(path: Path, text: str, *, mode: int = 0o644) -> None:
    write_bytes(path, text.encode("utf-8"), mode=mode)


def copy_file(source: Path, dest: Path, *, mode: int = 0o644) -> None:
    """Copy `source` to `dest` so that `dest` is either the old file or the whole copy."""
    with open(source, "rb") as src, atomic_write(dest, mode=mode) as out:
        shutil.copyfileobj(src, out, CHUNK)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in `folder` durable (a no-op where unsupported: some
    drivers for FAT USB sticks refuse to open or fsync a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_files(paths: Iterable[Path]) -> None:
    """Flush many files to the disk at once (OSError if one cannot be). The fsyncs wait in
    parallel threads, so the file system commits them in a few journal transactions instead
    of one each: one at a time, they were most of the time a 20,000-file import took."""
    with ThreadPoolExecutor(max_workers=SYNC_THREADS) as pool:
        for _ in pool.map(_fsync_file, paths):
            pass


class Flusher:
    """Flushes files to the disk as they are finished, SYNC_THREADS at a time, while the
    caller writes the next ones: the disk writes one file while the next is read, instead
    of every file waiting for one flush at the end (2 of the 11 s a 2 GB folder took).
    wait() returns when all are on the disk (OSError if one could not be); use as a
    context manager, which stops the threads."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=SYNC_THREADS)
        self._pending: list[Future[None]] = []  # one per file: bounded by the pack's files
        self._lock = threading.Lock()

    def __enter__(self) -> Flusher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def add(self, path: Path) -> None:
        """Flush `path` soon (it must not be written any more); safe from any thread."""
        future = self._pool.submit(_fsync_file, path)
        with self._lock:
            self._pending.append(future)

    def wait(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()


def fsync_dirs(folders: Iterable[Path]) -> None:
    """fsync_dir for many folders, in parallel as fsync_files."""
    with ThreadPoolExecutor(max_workers=SYNC_THREADS) as pool:
        for _ in pool.map(fsync_dir, folders):
            pass


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
