"""Checking a ZIM whole before the hub trusts it.

Two passes. The first streams every byte (while copying it into the data dir, or in place for
`content verify`), computing the MD5 the file's header promises and reporting progress: a
truncated, badly joined or flipped file is caught here, with a progress bar an operator can
watch. The second is libzim's own `Archive.check()` (dirent and cluster pointers, MIME list,
ordering, redirects), run in a child process: it holds the GIL for its whole run (measured: a
thread beside it got 1% of its turns), and a hostile file must never be able to crash the hub.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

from content.durable import fsync_dir
from content.zim.errors import ZimError
from content.zim.files import ZimFile
from content.zim.format import HEADER_SIZE, Header, parse_header

CHUNK = 1024 * 1024
# What the structural check may take before it is taken for stuck: a start-up allowance plus
# a reading speed well below an SD card's.
CHECK_BASE_SECONDS = 60
CHECK_BYTES_PER_SECOND = 5 * 1024 * 1024

# (phase, done, total): "copy" counts bytes copied and checksummed; "structure" is 0 of 1
# while libzim checks the structure and 1 of 1 when it has.
Progress = Callable[[str, int, int], None]


def _quiet(phase: str, done: int, total: int) -> None:
    pass


def copy_checked(zim: ZimFile, dest: Path, progress: Progress = _quiet) -> None:
    """Copy a ZIM (joining a split set) into `dest`, a new file, fsynced; then check it whole.
    ZimError (one sentence) if anything is wrong, and then `dest` does not exist."""
    try:
        with ExitStack() as stack:
            parts = [stack.enter_context(_open(part, zim.name)) for part in zim.parts]
            out = stack.enter_context(_create(dest))
            _stream_checked(zim.name, parts, zim.size(), progress, out)
            out.flush()
            os.fsync(out.fileno())
        fsync_dir(dest.parent)
        check_structure(dest, zim.name, progress)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def check_file(path: Path, progress: Progress = _quiet, name: str | None = None) -> None:
    """Check a stored ZIM again (checksum and structure); ZimError if it is damaged."""
    label = name or str(path)
    with _open(path, label) as stream:
        _stream_checked(label, [stream], _size(path, label), progress, None)
    check_structure(path, label, progress)


def check_structure(path: Path, name: str, progress: Progress = _quiet) -> None:
    """libzim's full check of one file, in a child process."""
    progress("structure", 0, 1)
    size = _size(path, name)
    timeout = CHECK_BASE_SECONDS + size / CHECK_BYTES_PER_SECOND
    command = [sys.executable, "-m", "content.zim.verdict", str(path)]
    env = {**os.environ, "PYTHONPATH": _package_root()}
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise ZimError(
            f"{name} could not be checked: libzim took longer than {timeout:.0f} seconds."
        ) from None
    if done.returncode != 0:
        reason = done.stdout.decode("utf-8", "replace").strip().splitlines()
        said = reason[0] if reason else f"the checker stopped with code {done.returncode}"
        raise ZimError(f"{name} is damaged: {said}.")
    progress("structure", 1, 1)


def _stream_checked(
    name: str, parts: list[BinaryIO], size: int, progress: Progress, out: BinaryIO | None
) -> None:
    """Read every byte in order (writing it to `out` if given) and compare the MD5 of all but
    the last 16 bytes with those 16 bytes, where the header says the checksum is."""
    chunks = _chunks(parts)
    head = b""
    md5 = hashlib.md5(usedforsecurity=False)
    done = 0
    header: Header | None = None
    tail = b""
    progress("copy", 0, size)
    for chunk in chunks:
        if header is None:
            head += chunk
            if len(head) < HEADER_SIZE:
                continue
            header = parse_header(head, name)
            if header.checksum_pos + 16 != size:
                raise ZimError(
                    f"{name} is damaged: it is {size} bytes long and its header says "
                    f"{header.checksum_pos + 16} (a truncated copy, or a split set joined "
                    "wrongly)."
                )
            chunk, head = head, b""
        if out is not None:
            out.write(chunk)
        keep = header.checksum_pos - done
        md5.update(chunk[: max(0, min(len(chunk), keep))])
        if keep < len(chunk):
            tail += chunk[max(0, keep) :]
        done += len(chunk)
        progress("copy", done, size)
    if header is None:
        raise ZimError(f"{name} is not a ZIM file: it is shorter than a ZIM header.")
    if tail != md5.digest():
        raise ZimError(f"{name} is damaged: its checksum does not match its content.")


def _chunks(parts: list[BinaryIO]) -> Iterator[bytes]:
    for part in parts:
        while chunk := _read(part):
            yield chunk


def _read(stream: BinaryIO) -> bytes:
    try:
        return stream.read(CHUNK)
    except OSError as err:
        raise ZimError(
            f"cannot read {getattr(stream, 'name', 'a ZIM file')}: {err.strerror or err}."
        ) from None


def _open(path: Path, name: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as err:
        raise ZimError(f"cannot read {name}: {err.strerror or err}.") from None


def _create(dest: Path) -> BinaryIO:
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as err:
        raise ZimError(f"cannot create {dest}: {err.strerror or err}.") from None
    return os.fdopen(fd, "wb")


def _size(path: Path, name: str) -> int:
    try:
        return path.stat().st_size
    except OSError as err:
        raise ZimError(f"cannot read {name}: {err.strerror or err}.") from None


def _package_root() -> str:
    root = str(Path(__file__).resolve().parents[2])
    current = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{current}" if current else root
