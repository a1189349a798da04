"""Reading a pack safely from a folder or a zip file.

Nothing is extracted wholesale: a source lists its regular files once, refusing anything
hostile (links, traversal, bombs), and opens entries on demand through a reader that stops
at the declared size. Paths are posix, relative, and compared after Unicode NFC
normalisation (macOS writes NFD names into zips and onto exFAT sticks).
"""

from __future__ import annotations

import copy
import io
import lzma
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from content.errors import PackError

MANIFEST_NAME = "pack.json"
PACKS_FOLDER = "learnhub-packs"
_READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
_ENCRYPTED_FLAG = 0x1
_LOCAL_HEADER_BYTES = 30
_MAC_JUNK = "__MACOSX"
_DRIVE = re.compile(r"[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_READ_ERRORS = (zipfile.BadZipFile, EOFError, OSError, zlib.error, lzma.LZMAError)


@dataclass(frozen=True)
class Limits:
    max_total_bytes: int = 4 * 1024**3  # unpacked size of one pack
    max_file_bytes: int = 2 * 1024**3
    max_files: int = 20_000
    max_ratio: int = 200  # uncompressed / compressed, per entry and total
    # Small entries (blank padding, repeated markup) legitimately compress past max_ratio and
    # cannot make a bomb, so the ratio is only checked from this many unpacked bytes up.
    ratio_min_bytes: int = 1024**2


DEFAULT_LIMITS = Limits()


def path_problem(path: str) -> str | None:
    """Why `path` is not a safe relative posix path inside a pack (a phrase), or None."""
    if not path:
        return "is empty"
    if "\x00" in path:
        return "contains a NUL character"
    if "\\" in path:
        return "contains a backslash"
    if path.startswith("/"):
        return "is an absolute path"
    if _DRIVE.match(path):
        return "starts with a drive letter"
    if _CONTROL.search(path):
        return "contains a control character"
    parts = path.split("/")
    if ".." in parts:
        return "climbs out of the pack with .."
    if "" in parts or "." in parts:
        return "has an empty or . part"
    return None


def nfc(path: str) -> str:
    return unicodedata.normalize("NFC", path)


def quote(text: str) -> str:
    """Quote a name for a one-line message, escaping anything unprintable."""
    escaped = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return f'"{escaped}"'


def reason(err: OSError) -> str:
    """The plain words of an OS error, without the errno and path noise."""
    return err.strerror or str(err) or type(err).__name__


def size_text(count: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


class PackSource:
    """A folder or a zip, listed once; use as a context manager."""

    # Whether open() may be called from several threads at once (staging copies files in
    # parallel when it may); a zip shares one file object between its entries.
    parallel_reads = False

    def __init__(self, name: str) -> None:
        self.name = name
        self._sizes: dict[str, int] = {}

    def __enter__(self) -> PackSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def paths(self) -> list[str]:
        """Every regular file, as sorted posix relative paths."""
        return sorted(self._sizes)

    def has(self, path: str) -> bool:
        return nfc(path) in self._sizes

    def size(self, path: str) -> int:
        return self._sizes[self._key(path)]

    def open(self, path: str) -> BinaryIO:
        """A reader that raises PackError if the file is damaged or not its listed size."""
        key = self._key(path)
        label = f"{self.name}: {quote(key)}"
        raw = _CheckedReader(self._open_entry(key), self._sizes[key], label)
        return io.BufferedReader(raw)

    def read(self, path: str) -> bytes:
        with self.open(path) as stream:
            return stream.read()

    def close(self) -> None:
        pass

    def _key(self, path: str) -> str:
        key = nfc(path)
        if key not in self._sizes:
            raise PackError(f"{self.name} has no file {quote(path)}.")
        return key

    def _open_entry(self, key: str) -> io.RawIOBase:
        raise NotImplementedError


class FolderSource(PackSource):
    """A pack folder. Any symbolic link or special file anywhere inside is refused (lstat,
    never followed); files are opened with O_NOFOLLOW through directory descriptors."""

    parallel_reads = True  # each open() is a file descriptor of its own

    def __init__(
        self, root: Path, limits: Limits = DEFAULT_LIMITS, name: str | None = None
    ) -> None:
        super().__init__(name or str(root))
        self.root = Path(root).resolve()  # the operator's own path may be a link; inside may not
        self._real: dict[str, str] = {}
        self.modified: dict[str, int] = {}  # path -> mtime in ns, to tell a changed folder
        self._scan(limits)

    def _scan(self, limits: Limits) -> None:
        total = 0
        for rel, info in self._walk():
            key = nfc(rel)
            if key in self._sizes:
                raise PackError(f"{self.name} holds two files named {quote(key)}.")
            self._sizes[key], self._real[key] = info.st_size, rel
            self.modified[key] = info.st_mtime_ns
            total += info.st_size
            _check_file_limits(self.name, key, info.st_size, limits)
            if len(self._sizes) > limits.max_files:
                raise PackError(f"{self.name} has more than {limits.max_files} files.")
            if total > limits.max_total_bytes:
                raise PackError(
                    f"{self.name} holds more than {size_text(limits.max_total_bytes)} of files."
                )

    def _walk(self) -> Iterator[tuple[str, os.stat_result]]:
        pending = [""]
        while pending:
            folder = pending.pop()
            try:
                with os.scandir(self.root / folder) as entries:
                    children = [
                        (entry.name, entry.stat(follow_symlinks=False)) for entry in entries
                    ]
            except OSError as err:
                raise PackError(f"cannot read {self.name}: {reason(err)}.") from None
            for name, info in sorted(children):
                rel = f"{folder}/{name}" if folder else name
                _check_folder_name(self.name, rel)
                if stat.S_ISLNK(info.st_mode):
                    msg = f"{self.name} contains a symbolic link at {quote(rel)}; packs may not."
                    raise PackError(msg)
                if stat.S_ISDIR(info.st_mode):
                    pending.append(rel)
                elif stat.S_ISREG(info.st_mode):
                    yield rel, info
                else:
                    raise PackError(f"{self.name} contains a special file at {quote(rel)}.")

    def open_file(self, path: str) -> BinaryIO:
        """The file itself, seekable, for readers that jump about (a PDF's or a zip's index);
        unlike open(), its size is not checked."""
        return io.BufferedReader(self._open_entry(self._key(path)))

    def _open_entry(self, key: str) -> io.RawIOBase:
        try:
            return _open_nofollow(self.root, self._real[key])
        except OSError as err:
            raise PackError(f"cannot read {quote(key)} in {self.name}: {reason(err)}.") from None


class ZipSource(PackSource):
    """A pack zip, read entry by entry. If its root lacks pack.json but it holds exactly one
    folder that has it (someone zipped the folder), that folder is the pack's root."""

    def __init__(
        self, path: Path, limits: Limits = DEFAULT_LIMITS, name: str | None = None
    ) -> None:
        super().__init__(name or str(path))
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        try:
            self._zip = self._open_zip(limits)
            self._infos = self._list(limits)
        except BaseException:
            self._file.close()
            raise

    def close(self) -> None:
        self._file.close()

    def _open_zip(self, limits: Limits) -> zipfile.ZipFile:
        declared = _declared_entries(self._file)
        if declared is None:
            raise PackError(f"{self.name} is neither a folder nor a zip file.")
        if declared > 2 * limits.max_files:  # before zipfile reads the whole directory
            raise PackError(f"{self.name} has more than {limits.max_files} files.")
        try:
            return zipfile.ZipFile(self._file)
        except Exception:  # hostile bytes can break the parser in many ways; all mean the same
            raise PackError(f"{self.name} is not a readable zip file (damaged?).") from None

    def _list(self, limits: Limits) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if not infos:
            raise PackError(f"{self.name} is an empty zip file.")
        files: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            key = _check_zip_entry(self.name, info, limits)
            if key is None:
                continue
            if key in files:
                raise PackError(f"{self.name} holds the name {quote(key)} twice.")
            files[key] = info
        self._check_totals(files, limits)
        prefix = _wrapping_folder(infos, files)
        picked = {key[len(prefix) :]: info for key, info in files.items() if key.startswith(prefix)}
        self._sizes = {key: info.file_size for key, info in picked.items()}
        return picked

    def _check_totals(self, files: dict[str, zipfile.ZipInfo], limits: Limits) -> None:
        if len(files) > limits.max_files:
            raise PackError(f"{self.name} has more than {limits.max_files} files.")
        total = sum(info.file_size for info in files.values())
        if total > limits.max_total_bytes:
            limit = size_text(limits.max_total_bytes)
            raise PackError(f"{self.name} unpacks to {size_text(total)}; the limit is {limit}.")
        archive = max(os.fstat(self._file.fileno()).st_size, 1)
        if total >= limits.ratio_min_bytes and total > limits.max_ratio * archive:
            raise PackError(
                f"{self.name} unpacks to {total // archive} times its size "
                f"(the limit is {limits.max_ratio}); it looks like a zip bomb."
            )
        _check_no_overlap(self.name, list(files.values()))

    def _open_entry(self, key: str) -> io.RawIOBase:
        # zipfile silently stops at the declared size and checks the CRC there; asking for one
        # byte more (and checking the CRC ourselves) lets the size check see an entry whose
        # real content is larger than its header says.
        declared = self._infos[key]
        info = copy.copy(declared)
        info.file_size += 1
        del info.CRC  # zipfile checks no CRC on an entry without one
        label = f"{self.name}: {quote(key)}"
        try:
            return _ZipEntryReader(self._zip.open(info), declared.CRC, label)
        except _READ_ERRORS:
            raise PackError(f"{label} is damaged and cannot be read.") from None


def open_source(path: Path, limits: Limits = DEFAULT_LIMITS, name: str | None = None) -> PackSource:
    """A folder or a zip file (recognised by its content, not its name); raises PackError.
    `name` is how messages call it (default: the path)."""
    path = Path(path)
    name = name or str(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise PackError(f"{name} does not exist.") from None
    except OSError as err:
        raise PackError(f"cannot read {name}: {reason(err)}.") from None
    if stat.S_ISDIR(mode):
        return FolderSource(path, limits, name)
    if stat.S_ISREG(mode):
        try:
            return ZipSource(path, limits, name)
        except OSError as err:
            raise PackError(f"cannot read {name}: {reason(err)}.") from None
    raise PackError(f"{name} is neither a folder nor a zip file.")


def find_packs(path: Path) -> list[Path]:
    """A pack (a folder with pack.json, or a file) -> [path]; a folder holding packs, such as a
    USB mount, -> each pack folder and .zip in it and in its learnhub-packs/ folder, sorted."""
    path = Path(path)
    if not path.exists():
        raise PackError(f"{path} does not exist.")
    if not path.is_dir() or (path / MANIFEST_NAME).is_file():
        return [path]
    found = _packs_in(path)
    inner = path / PACKS_FOLDER
    if inner.is_dir() and not inner.is_symlink():
        found += _packs_in(inner)
    return sorted(found)


def _packs_in(folder: Path) -> list[Path]:
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError as err:
        raise PackError(f"cannot read {folder}: {reason(err)}.") from None
    for entry in entries:
        if entry.name.startswith("."):  # ._name.zip are macOS resource forks on USB sticks
            continue
        if _looks_like_pack(entry):
            found.append(Path(entry.path))
    return found


def _looks_like_pack(entry: os.DirEntry[str]) -> bool:
    if entry.is_file(follow_symlinks=False):
        return entry.name.lower().endswith(".zip")
    return entry.is_dir(follow_symlinks=False) and os.path.isfile(
        os.path.join(entry.path, MANIFEST_NAME)
    )


def _check_folder_name(name: str, rel: str) -> None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(rel).decode("utf-8", "replace")
        raise PackError(
            f"{name} has a file name that is not valid UTF-8: {quote(shown)}."
        ) from None


def _check_file_limits(name: str, key: str, size: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        limit = size_text(limits.max_file_bytes)
        raise PackError(f"{name}: {quote(key)} is {size_text(size)}; the limit is {limit}.")


def _check_zip_entry(name: str, info: zipfile.ZipInfo, limits: Limits) -> str | None:
    """The entry's NFC key, None for a folder entry; PackError if it is unsafe."""
    raw = info.orig_filename  # zipfile cuts names at NUL; the original keeps it
    is_dir = raw.endswith("/")
    problem = path_problem(raw[:-1] if is_dir else raw)
    if problem:
        raise PackError(f"{name} holds an entry whose name {problem}: {quote(raw)}.")
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise PackError(f"{name} holds a symbolic link at {quote(raw)}; packs may not.")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise PackError(f"{name} holds a special file at {quote(raw)}.")
    if is_dir:
        return None
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise PackError(f"{name}: {quote(raw)} is encrypted; packs must not use passwords.")
    if info.compress_type not in _READABLE_METHODS:
        raise PackError(
            f"{name}: {quote(raw)} uses a compression method this hub cannot read "
            f"(number {info.compress_type}); zip it with ordinary deflate."
        )
    _check_file_limits(name, raw, info.file_size, limits)
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= limits.ratio_min_bytes and ratio > limits.max_ratio:
        raise PackError(
            f"{name}: {quote(raw)} expands {int(ratio)} times (the limit is "
            f"{limits.max_ratio}); it looks like a zip bomb."
        )
    return nfc(raw)


def _check_no_overlap(name: str, infos: list[zipfile.ZipInfo]) -> None:
    """Entries sharing compressed bytes are how non-recursive zip bombs multiply output."""
    previous_end = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset < previous_end:
            raise PackError(f"{name} has overlapping entries; it looks like a zip bomb.")
        previous_end = info.header_offset + _LOCAL_HEADER_BYTES + info.compress_size


def _wrapping_folder(infos: list[zipfile.ZipInfo], files: dict[str, zipfile.ZipInfo]) -> str:
    if MANIFEST_NAME in files:
        return ""
    tops = {nfc(info.orig_filename).split("/", 1)[0] for info in infos} - {_MAC_JUNK}
    if len(tops) == 1:
        prefix = f"{tops.pop()}/"
        if f"{prefix}{MANIFEST_NAME}" in files:
            return prefix
    return ""


def _declared_entries(stream: BinaryIO) -> int | None:
    """The entry count from the end-of-central-directory record, or None if there is none."""
    size = stream.seek(0, os.SEEK_END)
    tail_size = min(size, 22 + 0xFFFF)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or tail_size - at < 22:
        return None
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    locator = tail[at - 20 : at] if at >= 20 else b""
    if count == 0xFFFF and locator.startswith(b"PK\x06\x07"):
        stream.seek(int.from_bytes(locator[8:16], "little"))
        record = stream.read(56)
        if record.startswith(b"PK\x06\x06") and len(record) == 56:
            count = int.from_bytes(record[32:40], "little")
    return count


def _open_nofollow(root: Path, rel: str) -> io.FileIO:
    """Open root/rel refusing a link at any step, even one swapped in after the listing."""
    nofollow = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    dir_flags = os.O_RDONLY | nofollow | getattr(os, "O_DIRECTORY", 0)
    parts = rel.split("/")
    fd = os.open(root, dir_flags)
    try:
        for part in parts[:-1]:
            inner = os.open(part, dir_flags, dir_fd=fd)
            os.close(fd)
            fd = inner
        file_fd = os.open(parts[-1], os.O_RDONLY | nofollow, dir_fd=fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(os.fstat(file_fd).st_mode):
        os.close(file_fd)
        raise OSError(0, "not a regular file")
    if hasattr(os, "posix_fadvise"):  # read whole, in order: the kernel reads further ahead
        os.posix_fadvise(file_fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    return os.fdopen(file_fd, "rb", buffering=0)


class _ZipEntryReader(io.RawIOBase):
    """Turns the zip module's errors (truncated or corrupt streams) and a CRC mismatch at the
    end into one-sentence PackErrors."""

    def __init__(self, inner: IO[bytes], crc: int, label: str) -> None:
        super().__init__()
        self._inner, self._label = inner, label
        self._expected_crc, self._crc = crc, zlib.crc32(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except _READ_ERRORS:
            raise PackError(f"{self._label} is damaged and cannot be read.") from None
        self._crc = zlib.crc32(data, self._crc)
        if not data and len(buffer) and self._crc != self._expected_crc:
            raise PackError(f"{self._label} is damaged (its checksum does not match).")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


class _CheckedReader(io.RawIOBase):
    """Yields exactly the listed number of bytes: more is a lying header (or a file that grew
    after it was listed), fewer a truncated entry; both raise PackError."""

    def __init__(self, inner: io.RawIOBase, expected: int, label: str) -> None:
        super().__init__()
        self._inner, self._expected, self._label = inner, expected, label
        self._seen = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if len(buffer) == 0:
            return 0
        try:
            # None comes only from a non-blocking stream, which no entry is.
            count = self._inner.readinto(buffer) or 0
        except OSError as err:
            raise PackError(f"{self._label} cannot be read: {reason(err)}.") from None
        self._seen += count
        if self._seen > self._expected:
            raise PackError(f"{self._label} holds more bytes than its declared {self._expected}.")
        if count == 0 and self._seen < self._expected:
            raise PackError(f"{self._label} ends before its declared {self._expected} bytes.")
        return count

    def close(self) -> None:
        self._inner.close()
        super().close()
