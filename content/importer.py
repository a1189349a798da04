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

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from content.blobstore import BlobStore, hash_stream
from content.errors import PackError
from content.exercise import Exercise, parse_exercise
from content.manifest import Manifest, parse_manifest
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
}
DEFAULT_MEDIA_TYPE = "application/octet-stream"


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
    ) -> None:
        self.manifest = manifest
        self.files = files  # every path the manifest references
        self.exercises = exercises  # lesson id -> parsed exercise
        self.store = store
        self.folder = folder
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
            for sha in dict.fromkeys(staged.sha256 for staged in self.files.values()):
                if self.store.put(self.folder / sha, sha):
                    added.append(sha)
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


def stage_pack(
    source: PackSource,
    store: BlobStore,
    staging_root: Path,
    limits: Limits = DEFAULT_LIMITS,
) -> StagedPack:
    """Validate a pack and stage its files; PackError (one sentence) if anything is wrong, and
    then nothing is left behind. `limits` apply to the zips of app lessons."""
    manifest = read_manifest(source)
    _check_files_present(source, manifest)
    exercises = _parse_exercises(source, manifest)
    folder = _make_staging_folder(Path(staging_root))
    try:
        files = {path: _stage_file(source, path, folder) for path in sorted(manifest.paths())}
        _check_apps(source, manifest, files, folder, limits)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return StagedPack(manifest, files, exercises, store, folder)


def read_manifest(source: PackSource) -> Manifest:
    """The pack's parsed and validated pack.json."""
    if not source.has(MANIFEST_NAME):
        raise PackError(f"{source.name} is not a content pack: there is no pack.json at its root.")
    origin = f"{source.name}/{MANIFEST_NAME}"
    if source.size(MANIFEST_NAME) > MAX_MANIFEST_BYTES:
        raise PackError(f"{origin} is larger than {size_text(MAX_MANIFEST_BYTES)}.")
    return parse_manifest(source.read(MANIFEST_NAME), origin)


def _check_files_present(source: PackSource, manifest: Manifest) -> None:
    by_lower = {path.lower(): path for path in source.paths()}
    for lesson in manifest.lessons:
        for path in lesson.paths():
            if source.has(path):
                continue
            near = by_lower.get(path.lower())
            hint = f" (there is {quote(near)}: names are case-sensitive)" if near else ""
            raise PackError(
                f"{source.name}: the file {quote(path)} of lesson {quote(lesson.id)} "
                f"is not in the pack{hint}."
            )


def _parse_exercises(source: PackSource, manifest: Manifest) -> dict[str, Exercise]:
    exercises = {}
    for lesson in manifest.lessons:
        if lesson.kind != "exercise":
            continue
        origin = f"{source.name}/{lesson.file}"
        if source.size(lesson.file) > MAX_EXERCISE_BYTES:
            raise PackError(f"{origin} is larger than {size_text(MAX_EXERCISE_BYTES)}.")
        exercises[lesson.id] = parse_exercise(source.read(lesson.file), origin)
    return exercises


def _make_staging_folder(staging_root: Path) -> Path:
    try:
        staging_root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="stage-", dir=staging_root))
    except OSError as err:
        raise PackError(
            f"cannot create a staging folder in {staging_root}: {reason(err)}."
        ) from None


def _stage_file(source: PackSource, path: str, folder: Path) -> StagedFile:
    """Copy one file into folder/<sha256>, hashing as it streams; fsynced before publish."""
    partial = folder / f".part-{uuid.uuid4().hex}"
    try:
        with source.open(path) as stream, open(partial, "wb") as out:
            sha, size = hash_stream(stream, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, folder / sha)  # the same content twice in a pack is stored once
    except OSError as err:
        raise PackError(
            f"could not stage {quote(path)} from {source.name}: {reason(err)}."
        ) from None
    return StagedFile(path, sha, size, media_type(path))


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
