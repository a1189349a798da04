"""Staging a pack: validate everything, copy each referenced file while hashing, then publish
the new blobs by atomic rename. The hub wraps publish and its database transaction:

    staged = stage_pack(source, store, staging_root)
    try:
        added = staged.publish()
        ... write the rows in one transaction; on failure: staged.unpublish(); raise
    finally:
        staged.discard()
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from io import BufferedIOBase
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, cast

from content import durable
from content.blobstore import CHUNK, BlobStore
from content.epub import read_epub
from content.errors import PackError, PackProblems
from content.exercise import Exercise, parse_exercise
from content.h5p import read_h5p
from content.html_refs import MAX_PAGE_BYTES, PageFiles
from content.manifest import MAX_PROBLEMS, LessonEntry, Manifest, parse_manifest
from content.source import (
    DEFAULT_LIMITS,
    MANIFEST_NAME,
    Limits,
    PackSource,
    open_source,
    quote,
    reason,
    size_text,
)

MAX_MANIFEST_BYTES = 8 * 1024**2
MAX_EXERCISE_BYTES = 4 * 1024**2
APP_ENTRY = "index.html"
MEDIA_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".epub": "application/epub+zip",
    ".h5p": "application/zip",
}
DEFAULT_MEDIA_TYPE = "application/octet-stream"
MAX_NAMED = 10  # files named in one note; the rest are counted
# Files copied at once: the disk reads one while others are hashed and written (the hash and
# the copies release the GIL). Each holds one CHUNK buffer.
STAGE_THREADS = 3
# Left free after staging a pack: the database, its journal and the search index still write.
FREE_SPACE_MARGIN = 64 * 1024**2
Progress = Callable[[int, int], None]  # told (bytes copied, bytes in all) as a pack is staged


def media_type(path: str) -> str:
    """The media type served for a pack file, by extension (explicit table, no guessing)."""
    return MEDIA_TYPES.get(PurePosixPath(path).suffix.lower(), DEFAULT_MEDIA_TYPE)


@dataclass(frozen=True)
class StagedFile:
    path: str
    sha256: str
    size: int
    media_type: str


class StagedPack:
    """A validated pack whose files sit hashed in a staging folder, ready to publish."""

    def __init__(
        self,
        manifest: Manifest,
        files: dict[str, StagedFile],
        exercises: dict[str, Exercise],
        store: BlobStore,
        folder: Path,
        notes: list[str] | None = None,
        unflushed: frozenset[str] = frozenset(),
    ) -> None:
        self.manifest = manifest
        self.notes = notes or []  # what staging did on its own, such as files a page uses
        self.files = files  # every path the manifest references
        self.exercises = exercises  # lesson id -> parsed exercise
        self.store = store
        self.folder = folder
        self.unflushed = unflushed  # staged but not flushed: the store held them when staged
        self._added: list[str] = []

    def __enter__(self) -> StagedPack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def publish(self) -> list[str]:
        """Move the staged blobs into the store; the shas that were NOT there before. If a
        move fails, what this call added is removed again and PackError is raised."""
        added: list[str] = []
        try:
            # Content the store held when it was staged, gone since (a failed import beside
            # this one took back what it added): flushed now, as it will be stored.
            late = [sha for sha in self.unflushed if not self.store.has(sha)]
            durable.fsync_files(self.folder / sha for sha in late)
            for sha in dict.fromkeys(staged.sha256 for staged in self.files.values()):
                if self.store.put(self.folder / sha, sha, sync=False):
                    added.append(sha)
            durable.fsync_dirs(self.store.folders(added))  # each folder once, not each blob
        except OSError as err:
            for sha in added:
                self.store.delete(sha)
            raise PackError(
                f"could not store the files of pack {quote(self.manifest.id)}: {reason(err)}."
            ) from None
        self._added += added
        return added

    def unpublish(self) -> None:
        """Delete the blobs publish() added (when the database transaction failed)."""
        for sha in self._added:
            self.store.delete(sha)
        self._added = []

    def discard(self) -> None:
        """Delete the staging folder (always, in a finally)."""
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class CheckedPack:
    """A pack whose pack.json, files, quizzes and pages were checked (nothing copied yet)."""

    manifest: Manifest  # with the files its pages use added to their lessons' assets
    exercises: dict[str, Exercise]  # lesson id -> parsed exercise
    notes: list[str] = field(default_factory=list)


def stage_pack(
    source: PackSource,
    store: BlobStore,
    staging_root: Path,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress | None = None,
    checked: CheckedPack | None = None,
    manifest: Manifest | None = None,
) -> StagedPack:
    """Validate a pack and stage its files; PackError if anything is wrong (PackProblems
    listing every problem check_pack finds), and then nothing is left behind. `limits` apply
    to the zips of app lessons. `checked` is check_pack(source) when the caller has it
    already, else check_pack runs while the files pack.json names are copied (a folder's
    checks read its pages and quizzes from the disk, which the copy leaves idle between
    reads); a pack that fails them is refused as before and its copies deleted. `manifest`
    is pack.json already read (it is parsed once: a 2,000-lesson one takes a quarter of a
    second). A zip is checked before it is copied (its entries share one file object)."""
    manifest = checked.manifest if checked else manifest or read_manifest(source)
    if not source.parallel_reads:  # a zip's entries share one file: its checks come first
        checked = checked or check_pack(source, manifest)
    listed = sorted(path for path in manifest.paths() if source.has(path))  # check_pack says
    folder = _make_staging_folder(Path(staging_root))
    try:
        counter = _Counter(progress, sum(source.size(path) for path in listed))
        _check_space(source, listed, folder)
        with _Copying(source, listed, folder, counter, store.has) as copying:
            checked = checked or check_pack(source, manifest)
            files, unflushed = copying.result()
        # Files only the pages use (check_pack added them): copied once they are known.
        added = sorted(set(checked.manifest.paths()) - set(listed))
        if added:
            counter.grow(sum(source.size(path) for path in added))
            _check_space(source, added, folder)
            more, more_unflushed = _stage_files(source, added, folder, counter, store.has)
            files, unflushed = {**files, **more}, unflushed | more_unflushed
        _check_apps(source, checked.manifest, files, folder, limits)
        _check_archives(source, checked.manifest, files, folder, limits)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    manifest, exercises, notes = checked.manifest, checked.exercises, checked.notes
    return StagedPack(manifest, files, exercises, store, folder, notes, unflushed)


class _Counter:
    """Bytes copied of bytes in all, told to `progress` one call at a time from any thread,
    in the order the bytes were counted. `stop()` makes the next count raise _Stopped: a
    copy no longer wanted (its pack failed its checks) ends at its next chunk."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def add(self, count: int) -> None:
        if self._stopped.is_set():
            raise _Stopped
        with self._lock:
            self.done += count
            if self.progress:
                self.progress(self.done, self.total)

    def grow(self, count: int) -> None:
        with self._lock:
            self.total += count

    def stop(self) -> None:
        self._stopped.set()


class _Stopped(Exception):
    """A copy stopped because its pack was refused meanwhile."""


class _Copying:
    """_stage_files in a thread of its own while the caller checks the pack; result() waits
    for it. Leaving the block early (the checks failed) stops the copy and waits for it, so
    nothing writes into the staging folder once the caller deletes it."""

    def __init__(
        self,
        source: PackSource,
        paths: list[str],
        folder: Path,
        counter: _Counter,
        stored: Callable[[str], bool],
    ) -> None:
        self._counter = counter
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._future = self._pool.submit(_stage_files, source, paths, folder, counter, stored)

    def __enter__(self) -> _Copying:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._future.done():
            self._counter.stop()
        self._pool.shutdown(wait=True)

    def result(self) -> tuple[dict[str, StagedFile], frozenset[str]]:
        return self._future.result()


def check_pack(source: PackSource, manifest: Manifest | None = None) -> CheckedPack:
    """Everything about a pack that needs no copy: its pack.json (unless `manifest` is it,
    already read), that the files it names exist, its quizzes, and the files its pages use
    (added when the pack holds them). PackProblems lists every problem found."""
    manifest = manifest or read_manifest(source)
    problems = _missing_files(source, manifest)
    manifest, notes = _complete_pages(source, manifest, problems)
    exercises = _parse_exercises(source, manifest, problems)
    if problems:
        raise PackProblems(problems[:MAX_PROBLEMS])
    return CheckedPack(manifest, exercises, notes)


def read_manifest(source: PackSource) -> Manifest:
    """The pack's parsed and validated pack.json."""
    if not source.has(MANIFEST_NAME):
        raise PackError(f"{source.name} is not a content pack: there is no pack.json at its root.")
    origin = f"{source.name}/{MANIFEST_NAME}"
    if source.size(MANIFEST_NAME) > MAX_MANIFEST_BYTES:
        raise PackError(f"{origin} is larger than {size_text(MAX_MANIFEST_BYTES)}.")
    return parse_manifest(source.read(MANIFEST_NAME), origin)


def _missing_files(source: PackSource, manifest: Manifest) -> list[str]:
    by_lower = {path.lower(): path for path in source.paths()}
    problems = []
    for lesson in manifest.lessons:
        for path in lesson.paths():
            if source.has(path):
                continue
            near = by_lower.get(path.lower())
            hint = f" (there is {quote(near)}: names are case-sensitive)" if near else ""
            problems.append(
                f"{source.name}: the file {quote(path)} of lesson {quote(lesson.id)} "
                f"is not in the pack{hint}."
            )
    if manifest.thumbnail and not source.has(manifest.thumbnail):
        problems.append(f"{source.name}: the cover {quote(manifest.thumbnail)} is not in the pack.")
    return problems


def _complete_pages(
    source: PackSource, manifest: Manifest, problems: list[str]
) -> tuple[Manifest, list[str]]:
    """Add to each article the files its page uses that pack.json does not list (an
    index.html brings the pages it links to as well); a used file the pack lacks is a
    problem. Nothing a page uses is ever silently left behind."""
    pages = PageFiles(source.has, lambda path: _head(source, path))
    lessons, notes = [], []
    for lesson in manifest.lessons:
        if lesson.kind == "article" and source.has(lesson.file):
            is_index = PurePosixPath(lesson.file).stem.lower() == "index"
            used = pages.used(lesson.file, whole_site=is_index)
            listed = set(lesson.paths())
            for missing in (path for path in used.missing if path not in listed):
                problems.append(
                    f"{source.name}: the page {quote(lesson.file)} of lesson {quote(lesson.id)} "
                    f"uses {quote(missing)}, which is not in the pack."
                )
            added = [path for path in used.found if path not in listed]
            if added:
                notes.append(_added_note(lesson, added))
                lesson = replace(lesson, assets=(*lesson.assets, *added))
        lessons.append(lesson)
    if not notes:
        return manifest, notes
    return replace(manifest, lessons=tuple(lessons), raw=_raw_with(manifest.raw, lessons)), notes


def _added_note(lesson: LessonEntry, added: list[str]) -> str:
    named = ", ".join(quote(path) for path in added[:MAX_NAMED])
    more = f" and {len(added) - MAX_NAMED} more" if len(added) > MAX_NAMED else ""
    return (
        f"lesson {quote(lesson.id)}: added {len(added)} file(s) its page uses that pack.json "
        f"does not list: {named}{more}."
    )


def _raw_with(raw: dict[str, Any], lessons: list[LessonEntry]) -> dict[str, Any]:
    """pack.json as installed: each lesson's assets as completed (the hub keeps this copy)."""
    assets = {lesson.id: list(lesson.assets) for lesson in lessons if lesson.assets}
    completed = [
        {**entry, "assets": assets[entry["id"]]} if entry["id"] in assets else entry
        for entry in raw["lessons"]
    ]
    return {**raw, "lessons": completed}


def _head(source: PackSource, path: str) -> bytes:
    with source.open(path) as stream:
        return stream.read(MAX_PAGE_BYTES)


def _parse_exercises(
    source: PackSource, manifest: Manifest, problems: list[str]
) -> dict[str, Exercise]:
    exercises = {}
    for lesson in manifest.lessons:
        if lesson.kind != "exercise" or not source.has(lesson.file):
            continue
        origin = f"{source.name}/{lesson.file}"
        if source.size(lesson.file) > MAX_EXERCISE_BYTES:
            problems.append(f"{origin} is larger than {size_text(MAX_EXERCISE_BYTES)}.")
            continue
        try:
            exercises[lesson.id] = parse_exercise(source.read(lesson.file), origin)
        except PackProblems as err:
            problems.extend(err.problems)
        except PackError as err:
            problems.append(str(err))
    return exercises


def _make_staging_folder(staging_root: Path) -> Path:
    try:
        staging_root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="stage-", dir=staging_root))
    except OSError as err:
        raise PackError(
            f"cannot create a staging folder in {staging_root}: {reason(err)}."
        ) from None


def _check_space(source: PackSource, paths: list[str], folder: Path) -> None:
    """Refuse before copying a pack the disk cannot hold (whole, plus FREE_SPACE_MARGIN)."""
    size = sum(source.size(path) for path in paths)
    try:
        free = shutil.disk_usage(folder).free
    except OSError as err:
        raise PackError(f"cannot read the free space in {folder}: {reason(err)}.") from None
    if size + FREE_SPACE_MARGIN > free:
        raise PackError(
            f"{source.name} needs {size_text(size + FREE_SPACE_MARGIN)} of free disk space and "
            f"the hub has {size_text(free)}; nothing was copied."
        )


def _stage_files(
    source: PackSource,
    paths: list[str],
    folder: Path,
    counter: _Counter,
    stored: Callable[[str], bool],
) -> tuple[dict[str, StagedFile], frozenset[str]]:
    """Copy every file and flush it to the disk; each is flushed while the next ones are
    copied, and all are flushed when this returns, except those whose content is `stored`
    already (returned): publish leaves them, so an upgrade adding one file to a 2 GB folder
    does not wait for 2 GB to reach the disk (deleted soon, most never do)."""
    unflushed: set[str] = set()  # a sha in both (the store changed meanwhile) stays here

    def flush(sha: str) -> None:
        if stored(sha):
            unflushed.add(sha)
        else:
            flusher.add(folder / sha)

    try:
        with durable.Flusher() as flusher:
            files = _copy_files(source, paths, folder, counter, flush)
            flusher.wait()
    except OSError as err:
        raise PackError(f"could not stage the files from {source.name}: {reason(err)}.") from None
    return files, frozenset(unflushed)


def _copy_files(
    source: PackSource,
    paths: list[str],
    folder: Path,
    counter: _Counter,
    flush: Callable[[str], None],
) -> dict[str, StagedFile]:
    """Copy every file, STAGE_THREADS at a time when the source allows: one file at a time,
    the disk waited while a chunk was hashed and written, and the CPU while the next was
    read (a 2 GB folder imported at half the speed of cp). Measured on 2 cores, cold cache,
    2 GB in 2,000 files: 3 files at once 5.7-6.2 s, 2 at once 6.2-7.2 s, 1 at once 10.4 s,
    and 1 file whose chunks a second thread hashed while the first read and wrote the next
    9.6-21 s (handing each chunk between threads costs more than it overlaps)."""
    copied = counter.add

    def stage(path: str) -> StagedFile:
        staged = _stage_file(source, path, folder, copied)
        flush(staged.sha256)
        return staged

    if not source.parallel_reads:
        return {path: stage(path) for path in paths}
    with ThreadPoolExecutor(max_workers=STAGE_THREADS) as pool:
        futures = [pool.submit(stage, path) for path in paths]
        try:
            return {path: future.result() for path, future in zip(paths, futures, strict=True)}
        except BaseException:
            pool.shutdown(cancel_futures=True)  # the staging folder goes once they stop
            raise


def _stage_file(
    source: PackSource, path: str, folder: Path, copied: Callable[[int], None]
) -> StagedFile:
    """Copy one file into folder/<sha256>, hashing as it streams (the caller flushes it)."""
    partial = folder / f".part-{uuid.uuid4().hex}"
    try:
        with source.open(path) as stream, open(partial, "wb") as out:
            sha, size = _copy(stream, out, source.size(path), copied)
        os.replace(partial, folder / sha)  # the same content twice in a pack is stored once
    except OSError as err:
        raise PackError(
            f"could not stage {quote(path)} from {source.name}: {reason(err)}."
        ) from None
    return StagedFile(path, sha, size, media_type(path))


def _copy(
    stream: BinaryIO, out: BinaryIO, expected: int, copied: Callable[[int], None]
) -> tuple[str, int]:
    """(sha256 hex, size) of a stream copied to `out` in chunks, saying each chunk's size.
    Every chunk is read into the same buffer, hashed and written from it, with no new 1 MiB
    object each. The buffer holds one byte more than `expected` (at most CHUNK), so a file
    longer than listed is still read past its end and refused."""
    hashed, size = hashlib.sha256(), 0
    buffer = memoryview(bytearray(min(CHUNK, expected + 1)))
    readinto = cast(BufferedIOBase, stream).readinto  # what every source's open() returns
    while count := readinto(buffer):
        chunk = buffer[:count]
        hashed.update(chunk)
        out.write(chunk)
        size += count
        copied(count)
    return hashed.hexdigest(), size


def _check_apps(
    source: PackSource,
    manifest: Manifest,
    files: dict[str, StagedFile],
    folder: Path,
    limits: Limits,
) -> None:
    for lesson in manifest.lessons:
        if lesson.kind != "app":
            continue
        name = f"{source.name}/{lesson.file}"
        with open_source(folder / files[lesson.file].sha256, limits, name) as app:
            if not app.has(APP_ENTRY):
                raise PackError(
                    f"{name}, the app of lesson {quote(lesson.id)}, has no {APP_ENTRY} at its root."
                )


# Lesson kinds whose file is an archive read whole: checked as staged, since a zip inside a
# pack zip cannot be opened in place.
ARCHIVE_CHECKS = {"epub": read_epub, "h5p": read_h5p}


def _check_archives(
    source: PackSource,
    manifest: Manifest,
    files: dict[str, StagedFile],
    folder: Path,
    limits: Limits,
) -> None:
    for lesson in manifest.lessons:
        check = ARCHIVE_CHECKS.get(lesson.kind)
        if check is not None:
            check(folder / files[lesson.file].sha256, limits, f"{source.name}/{lesson.file}")
