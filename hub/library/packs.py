"""The library service: import, upgrade, remove and verify content packs.

A pack is staged by the content library (validated, hashed into a staging dir), its blobs are
published into the store, and its rows are written in one transaction. Any failure undoes the
blobs this import added, so the library and the data dir are exactly as before.
"""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from peewee import Node, fn

from content import durable
from content.blobstore import BlobStore
from content.errors import PackError, PackProblems
from content.folder_pack import NO_FIELDS, OpenedPack, PackFields, is_plain_folder, open_pack
from content.importer import StagedPack, check_pack, read_manifest, stage_pack
from content.kolibri import find_channels, is_channel_database, open_channel
from content.manifest import LessonEntry, Manifest, TopicEntry, version_key
from content.source import Limits, find_packs
from content.zim import ZimError, find_zims, is_zim_path
from hub.core.db import BaseModel, connected, db, write_lock
from hub.core.settings import Config
from hub.core.translate import gettext
from hub.library.cache import library_changed
from hub.library.models import (
    Lesson,
    LibraryState,
    Pack,
    PackFile,
    Topic,
    TopicLesson,
    ZimArchive,
)
from hub.library.zims import ZimLibrary, ZimProgress, ZimResult

Listener = Callable[[str, bool], None]
PackProgress = Callable[[str, int, int], None]  # (pack path, bytes copied, bytes in all)

# Orphan blobs younger than this may belong to an import still running in another process.
SWEEP_GRACE_SECONDS = 3600
# Present while an import or removal may leave blobs no pack uses (until it has finished, or a
# sweep after a crash has cleared them): a start looks through the whole blob store only then,
# since listing 20,000 blobs costs seconds on an SD card.
UNTIDY_MARKER = "untidy"


@dataclass(frozen=True)
class ImportResult:
    pack_id: str
    version: str
    action: str  # "installed", "upgraded" or "unchanged"
    lessons: int
    new_blobs: int
    previous_version: str | None = None
    notes: tuple[str, ...] = ()  # what the import did on its own: a pack made from a folder...


@dataclass(frozen=True)
class Outcome:
    """One pack found under a path the operator gave: imported, or refused with a reason."""

    path: Path
    result: ImportResult | None = None
    error: str | None = None
    zim: ZimResult | None = None  # a ZIM file imported (result is None then)
    problems: tuple[str, ...] = ()  # every problem found, when there were several


@dataclass(frozen=True)
class Damage:
    pack_id: str
    path: str
    sha256: str
    problem: str  # "missing" or "changed"
    lessons: tuple[str, ...]


class Library:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = BlobStore(config.blobs_dir)
        self.limits = Limits(
            max_total_bytes=config.max_pack_bytes,
            max_files=config.max_pack_files,
            max_ratio=config.max_pack_ratio,
        )
        self._listeners: list[Listener] = []
        self.zims = ZimLibrary(
            config, self.exclusive, lambda key, removed: self._notify(key, removed=removed)
        )

    def on_change(self, listener: Listener) -> None:
        """Call `listener(pack_id, removed)` after each committed change, still holding the
        library lock: derived stores (the search index) update inside the same operation."""
        self._listeners.append(listener)

    def _notify(self, pack_id: str, *, removed: bool) -> None:
        library_changed()
        for listener in self._listeners:
            listener(pack_id, removed)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Serialise library changes across threads and across processes (CLI beside server)."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        lock_path = self.config.data_dir / "library.lock"
        with write_lock, connected(), open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def import_paths(
        self,
        paths: list[Path],
        zim_progress: ZimProgress | None = None,
        *,
        fields: PackFields = NO_FIELDS,
        progress: PackProgress | None = None,
    ) -> list[Outcome]:
        """Import every pack, Kolibri channel and ZIM file found under each path; one
        outcome per pack, channel or ZIM, in order (packs first). A folder holding none of them
        is a pack made from its files, with `fields` (title, language...)."""
        outcomes = []
        for given in paths:
            if is_zim_path(given) and not given.is_dir():
                outcomes += self._import_zims(given, zim_progress)
                continue
            try:
                found = find_packs(given)
                channels = find_channels(given)
            except PackError as err:
                outcomes.append(Outcome(given, error=str(err)))
                continue
            zims = self._import_zims(given, zim_progress) if given.is_dir() else []
            if not zims and not channels and is_plain_folder(given, found, self.limits):
                found = [given]
            for pack_path in [*found, *channels]:
                outcomes.append(self._import_one(pack_path, fields, progress))
            outcomes += zims
        return outcomes

    def _import_zims(self, given: Path, progress: ZimProgress | None) -> list[Outcome]:
        try:
            found = find_zims(given)
        except ZimError as err:
            return [Outcome(given, error=str(err))]
        outcomes = []
        for zim in found:
            try:
                result = self.zims.import_zim(zim, progress or _no_progress)
                outcomes.append(Outcome(zim.parts[0], zim=result))
            except ZimError as err:
                outcomes.append(Outcome(zim.parts[0], error=str(err)))
        return outcomes

    def _import_one(self, path: Path, fields: PackFields, progress: PackProgress | None) -> Outcome:
        copied = (lambda done, total: progress(str(path), done, total)) if progress else None
        try:
            return Outcome(path, result=self.import_pack(path, fields, copied))
        except PackProblems as err:
            return Outcome(path, error=str(err), problems=tuple(err.problems))
        except PackError as err:
            return Outcome(path, error=str(err))

    def import_pack(
        self,
        path: Path,
        fields: PackFields = NO_FIELDS,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportResult:
        """Import one pack folder or zip, or a pack made from a folder of files (with
        `fields`), all or nothing. Raises PackError."""
        self.config.staging_dir.mkdir(parents=True, exist_ok=True)
        with self.exclusive(), self.open(path, fields) as opened:
            manifest = read_manifest(opened.source)  # pack.json parsed once, here
            same = _same_version(manifest)
            if same is not None:
                check_pack(opened.source, manifest)  # unchanged only if it still passes them
                return same
            staging = self.config.staging_dir
            # The checks run while its files are copied (stage_pack).
            staged = stage_pack(
                opened.source, self.store, staging, self.limits, progress, manifest=manifest
            )
            try:
                return replace(self._install(staged), notes=(*opened.notes, *staged.notes))
            finally:
                staged.discard()

    def open(
        self, path: Path, fields: PackFields = NO_FIELDS
    ) -> AbstractContextManager[OpenedPack]:
        """A pack ready to stage: a Kolibri channel database makes its pack, a folder without
        pack.json a pack of its files, and anything else is opened as a pack."""
        if is_channel_database(path):
            return open_channel(path, self.config.staging_dir, self.limits)
        return open_pack(path, self.limits, fields, self.installed)

    def installed(self, pack_id: str) -> dict[str, Any] | None:
        """The pack.json of an installed pack (a pack made from a folder carries how the
        folder was when it was made, to tell whether it changed)."""
        pack = Pack.with_manifest(pack_id)
        return pack.manifest if pack is not None else None

    def _install(self, staged: StagedPack) -> ImportResult:
        manifest = staged.manifest
        installed = Pack.by_id(manifest.id)
        if installed is not None:
            new, old = version_key(manifest.version), version_key(installed.version)
            if new < old:
                raise PackError(
                    f"Pack {manifest.id} {manifest.version} is older than the installed "
                    f"version {installed.version}; nothing was changed."
                )
            if new == old:
                return ImportResult(
                    manifest.id,
                    manifest.version,
                    "unchanged",
                    len(manifest.lessons),
                    0,
                    installed.version,
                )
        old_shas = PackFile.all_shas_of(manifest.id) if installed else set()
        with self._untidy():
            added = staged.publish()
            try:
                with db.atomic():
                    if installed is not None:
                        Pack.delete().where(Pack.id == manifest.id).execute()
                    _write_pack(staged)
                    LibraryState.bump()
            except BaseException:
                staged.unpublish()
                raise
            self._delete_unreferenced(old_shas)
        self._notify(manifest.id, removed=False)
        action = "upgraded" if installed else "installed"
        return ImportResult(
            manifest.id,
            manifest.version,
            action,
            len(manifest.lessons),
            len(added),
            installed.version if installed else None,
        )

    def remove(self, pack_id: str) -> int:
        """Remove a pack and every blob no other pack uses; returns the blobs deleted."""
        with self.exclusive():
            if Pack.by_id(pack_id) is None:
                raise PackError(gettext("No pack with id %(pack)r is installed.", pack=pack_id))
            shas = PackFile.all_shas_of(pack_id)
            with self._untidy():
                with db.atomic():
                    Pack.delete().where(Pack.id == pack_id).execute()
                    LibraryState.bump()
                self._notify(pack_id, removed=True)
                return self._delete_unreferenced(shas)

    @property
    def _untidy_marker(self) -> Path:
        return self.config.data_dir / UNTIDY_MARKER

    @contextmanager
    def _untidy(self) -> Iterator[None]:
        """Mark the store as possibly holding unused blobs while the block runs; a crash
        leaves the mark, and the next start sweeps."""
        marker = self._untidy_marker
        durable.write_bytes(marker, b"")
        try:
            yield
        finally:  # an error has undone its blobs already; only a crash leaves the mark
            marker.unlink()

    def _delete_unreferenced(self, shas: set[str]) -> int:
        orphans = shas - PackFile.referenced_shas(shas)
        for sha in orphans:
            self.store.delete(sha)
        return len(orphans)

    def verify(self, progress: Callable[[int, int], None] | None = None) -> list[Damage]:
        """Re-hash every blob the library uses; name each damaged file and its lessons.
        `progress` is told (bytes checked, bytes in all) after each file."""
        with connected():
            return self._damage(progress)

    def _damage(self, progress: Callable[[int, int], None] | None) -> list[Damage]:
        damage = []
        total = PackFile.select(fn.SUM(PackFile.size)).scalar() or 0 if progress else 0
        done = 0
        for pack_file in PackFile.select().order_by(PackFile.pack, PackFile.path):
            if progress:
                done += pack_file.size
                progress(done, total)
            blob = self.store.path(pack_file.sha256)
            if not blob.is_file():
                problem = "missing"
            elif self.store.hash_file(blob) != pack_file.sha256:
                problem = "changed"
            else:
                continue
            lessons = _lessons_using(pack_file.pack_id, pack_file.path)
            damage.append(
                Damage(pack_file.pack_id, pack_file.path, pack_file.sha256, problem, lessons)
            )
        return damage

    def sweep(self) -> int:
        """Delete stale staging dirs, and blobs no pack uses when an import or removal did not
        finish (a crash); returns the blobs deleted."""
        with self.exclusive():
            cutoff = time.time() - SWEEP_GRACE_SECONDS
            _remove_stale_staging(self.config.staging_dir, cutoff)
            self.zims.sweep()
            marker = self._untidy_marker
            if not marker.exists():
                return 0
            used = PackFile.all_shas()
            removed = 0
            for sha in list(self.store.shas()):
                if sha not in used and self.store.path(sha).stat().st_mtime < cutoff:
                    self.store.delete(sha)
                    removed += 1
            marker.unlink()
            return removed

    def is_empty(self) -> bool:
        with connected():
            return not Pack.select().exists() and not ZimArchive.select().exists()


def _same_version(manifest: Manifest) -> ImportResult | None:
    """'unchanged' for the installed version, decided before any file is copied: the
    version alone decides it after staging too, and a plain folder's version moves with
    its digest (names, sizes, times)."""
    installed = Pack.by_id(manifest.id)
    if installed is None or version_key(manifest.version) != version_key(installed.version):
        return None
    lessons = len(manifest.lessons)
    return ImportResult(manifest.id, manifest.version, "unchanged", lessons, 0, installed.version)


def _no_progress(name: str, phase: str, done: int, total: int) -> None:
    pass


def _write_pack(staged: StagedPack) -> None:
    manifest = staged.manifest
    Pack.create(
        id=manifest.id,
        version=manifest.version,
        title=manifest.title,
        description=manifest.description,
        language=manifest.language,
        subjects=list(manifest.subjects),
        grades=list(manifest.grades),
        license=manifest.license,
        attribution=manifest.attribution,
        manifest=manifest.raw,
        size=sum(f.size for f in staged.files.values()),
        installed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    lessons = _write_lessons(manifest)
    _write_topics(manifest.id, manifest.topics, None, lessons, count())
    files = [
        {
            "pack": manifest.id,
            "path": f.path,
            "sha256": f.sha256,
            "size": f.size,
            "media_type": f.media_type,
        }
        for f in staged.files.values()
    ]
    _insert_rows(PackFile, files)


def _insert_rows(model: type[BaseModel], rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) with one prepared statement run for each:
    peewee's insert_many renders every value into the SQL text in Python, which took most
    of a second for a 2,000-file folder; here the values go to the database as parameters.
    A value the field wraps in SQL (JSON: `json(?)`) is rendered, and rows are grouped by
    the statement they make."""
    if not rows:
        return
    fields = [(name, model._meta.fields[name]) for name in rows[0]]
    columns = ", ".join(f'"{field.column_name}"' for _, field in fields)
    statements: dict[tuple[str, ...], list[list[Any]]] = {}
    for row in rows:
        marks, values = [], []
        for name, field in fields:
            mark, params = _bound(field.db_value(row[name]))
            marks.append(mark)
            values += params
        statements.setdefault(tuple(marks), []).append(values)
    cursor = db.cursor()
    for placeholders, table in statements.items():
        values_sql = ", ".join(placeholders)
        sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({values_sql})'
        cursor.executemany(sql, table)


def _bound(value: Any) -> tuple[str, list[Any]]:
    """The placeholder and parameters of a field's database value."""
    if isinstance(value, Node):
        sql, params = db.get_sql_context().sql(value).query()
        return sql, list(params)
    return db.param, [value]


def _write_lessons(manifest: Manifest) -> dict[str, int]:
    """Every lesson row, inserted in batches (one statement each took seconds for a channel
    of thousands); lesson id -> row id."""
    rows = [
        {
            "pack": manifest.id,
            "lesson_id": entry.id,
            "title": entry.title,
            "description": entry.description,
            "kind": entry.kind,
            "file_path": entry.file,
            "position": position,
            "duration": entry.duration,
            "keywords": list(entry.keywords),
            "meta": {
                "assets": list(entry.assets),
                "subtitles": dict(entry.subtitles),
                "poster": entry.poster,
                "thumbnail": entry.thumbnail,
                **_credit(entry),
            },
        }
        for position, entry in enumerate(manifest.lessons)
    ]
    _insert_rows(Lesson, rows)
    query = Lesson.select(Lesson.lesson_id, Lesson.id).where(Lesson.pack == manifest.id)
    return {lesson.lesson_id: lesson.id for lesson in query}


def _credit(entry: LessonEntry) -> dict[str, str]:
    """The lesson's own licence, attribution and author, those it states (the lesson page shows
    them instead of the pack's)."""
    credit = {"license": entry.license, "attribution": entry.attribution, "author": entry.author}
    return {key: value for key, value in credit.items() if value}


def _write_topics(
    pack_id: str,
    topics: tuple[TopicEntry, ...],
    parent: int | None,
    lessons: dict[str, int],
    positions: Iterator[int],
) -> None:
    """Each topic, depth first, numbered in the pack by `positions`, with its lessons."""
    for entry in topics:
        topic = Topic.create(
            pack=pack_id,
            topic_id=entry.id,
            parent=parent,
            title=entry.title,
            description=entry.description,
            position=next(positions),
        )
        rows = [
            {"topic": topic.id, "lesson": lessons[lesson_id], "position": n}
            for n, lesson_id in enumerate(dict.fromkeys(entry.lessons))
        ]
        _insert_rows(TopicLesson, rows)
        _write_topics(pack_id, entry.topics, topic.id, lessons, positions)


def _lessons_using(pack_id: str, path: str) -> tuple[str, ...]:
    return tuple(lesson.lesson_id for lesson in Lesson.in_pack(pack_id) if path in lesson.paths())


def _remove_stale_staging(staging: Path, cutoff: float) -> None:
    if not staging.is_dir():
        return
    for entry in staging.iterdir():
        if entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
