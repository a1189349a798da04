"""The installed Kiwix libraries (ZIM files): import, replace, remove, verify.

A ZIM is served in place, never unpacked: its one file is copied into the data dir's zims/
folder under a temporary name (a split set joined on the way), checked whole there
(content.zim.check), renamed to its own name and recorded in one transaction. A newer file
with the same ZIM Name replaces the older, which is deleted only after the switch. Anything
refused leaves the library, the folder and the database exactly as they were.

The copy and the check run outside the library lock (a big file takes minutes on an SD card
and requests must not queue behind it); the decision, the rename and the rows happen inside.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from content.durable import fsync_dir
from content.source import size_text
from content.zim import ZimError, ZimFile, ZimMetadata, ZimReader, check_file, copy_checked
from content.zim.format import HEADER_SIZE
from hub.core.db import connected, db
from hub.core.settings import Config
from hub.library.models import LibraryState, ZimArchive

# (ZIM as the operator named it, phase, done, total): see content.zim.check.Progress.
ZimProgress = Callable[[str, str, int, int], None]
ZIMS_FOLDER = "zims"
INCOMING_PREFIX = ".incoming-"
# Room left beyond the file itself: the database, the search index and logs keep growing.
FREE_SPACE_MARGIN = 64 * 1024**2
NAME_LENGTH = 60  # "zim:" + name is an event's pack_id, at most 64 characters
_NAME_CHARS = re.compile(r"[^a-z0-9._-]+")
STALE_INCOMING_SECONDS = 24 * 3600


def _quiet(name: str, phase: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class ZimResult:
    name: str
    title: str
    date: str
    action: str  # "installed", "upgraded" or "unchanged"
    articles: int
    size: int
    previous_date: str | None = None


@dataclass(frozen=True)
class ZimDamage:
    name: str
    problem: str  # one sentence


def url_name(zim_name: str, fallback: str) -> str:
    """The name a ZIM is served under: its Name metadata (else its file's name), lower case,
    letters, digits, dots, dashes and underscores only."""
    name = _NAME_CHARS.sub("_", (zim_name or fallback).lower()).strip("._-")
    return name[:NAME_LENGTH].rstrip("._-") or "zim"


class ZimLibrary:
    """The ZIM half of the library. The packs' Library makes it and lends it its lock
    (`exclusive`) and its change listeners (`notify`), so both halves change one at a time and
    every change reaches the caches and the search index the same way."""

    def __init__(
        self,
        config: Config,
        exclusive: Callable[[], AbstractContextManager[None]],
        notify: Callable[[str, bool], None],
    ) -> None:
        self.config = config
        self.exclusive = exclusive
        self.notify = notify
        self.folder = config.data_dir / ZIMS_FOLDER

    def path_of(self, archive: ZimArchive) -> Path:
        return self.folder / archive.file_name

    def import_zim(self, zim: ZimFile, progress: ZimProgress = _quiet) -> ZimResult:
        """Import one ZIM (file or split set), all or nothing. Raises ZimError."""
        size = zim.size()
        unchanged = self._unchanged(zim, size)
        if unchanged is not None:
            return unchanged
        self.folder.mkdir(parents=True, exist_ok=True)
        self._check_space(zim, size)
        incoming = self.folder / f"{INCOMING_PREFIX}{secrets.token_hex(6)}.zim"
        copy_checked(zim, incoming, _for(progress, zim.name))
        try:
            with ZimReader(incoming, zim.name) as reader:
                metadata = reader.metadata()
            with self.exclusive():
                return self._install(zim, incoming, metadata, size)
        finally:
            incoming.unlink(missing_ok=True)

    def adopt(self, path: Path, label: str, progress: ZimProgress = _quiet) -> ZimResult:
        """Import a ZIM already downloaded into the data dir (from a neighbour hub or central)
        with the same checks as import_zim, but checked where it lies and moved in, not copied
        again: a second copy of a big file would need its size twice on an SD card. `path`
        is gone afterwards unless the ZIM is refused (the caller deletes it) or unchanged."""
        zim = ZimFile((path,))
        size = zim.size()
        unchanged = self._unchanged(zim, size)
        if unchanged is not None:
            return unchanged
        self.folder.mkdir(parents=True, exist_ok=True)
        check_file(path, _for(progress, label), label)
        with ZimReader(path, label) as reader:
            metadata = reader.metadata()
        with self.exclusive():
            return self._install(zim, path, metadata, size)

    def _unchanged(self, zim: ZimFile, size: int) -> ZimResult | None:
        """The same file (same UUID and size) is already installed: nothing to copy."""
        the_uuid = _header_uuid(zim)
        if the_uuid is None:
            return None
        with connected():
            found = ZimArchive.get_or_none(ZimArchive.uuid == the_uuid)
        if found is None or found.size != size or not self.path_of(found).is_file():
            return None
        return ZimResult(
            found.name,
            found.title,
            found.date,
            "unchanged",
            found.article_count,
            found.size,
            found.date,
        )

    def _check_space(self, zim: ZimFile, size: int) -> None:
        free = shutil.disk_usage(self.folder).free
        need = size + FREE_SPACE_MARGIN
        if need > free:
            raise ZimError(
                f"{zim.name} needs {size_text(need)} of free disk space and the hub has "
                f"{size_text(free)}; nothing was copied."
            )

    def _install(self, zim: ZimFile, incoming: Path, metadata: ZimMetadata, size: int) -> ZimResult:
        installed = _installed_as(metadata, zim)
        if installed is not None and installed.uuid == metadata.uuid:
            return ZimResult(
                installed.name,
                installed.title,
                installed.date,
                "unchanged",
                installed.article_count,
                installed.size,
                installed.date,
            )
        if installed is not None and metadata.date < installed.date:
            raise ZimError(
                f"{zim.name} (dated {metadata.date or 'without a date'}) is older than the "
                f"installed {installed.title} of {installed.date}; nothing was changed."
            )
        name = installed.name if installed else _free_name(url_name(metadata.name, zim.stem))
        target = self.folder / f"{name}_{metadata.uuid[:8]}.zim"
        os.replace(incoming, target)
        fsync_dir(self.folder)
        try:
            with db.atomic():
                if installed is not None:
                    ZimArchive.delete().where(ZimArchive.name == name).execute()
                _record(name, target.name, metadata, size)
                LibraryState.bump()
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if installed is not None and installed.file_name != target.name:
            (self.folder / installed.file_name).unlink(missing_ok=True)
        self.notify(f"zim:{name}", False)
        return ZimResult(
            name,
            metadata.title or name,
            metadata.date,
            "upgraded" if installed else "installed",
            metadata.article_count,
            size,
            installed.date if installed else None,
        )

    def remove(self, name: str) -> ZimArchive:
        """Remove an installed ZIM and its file; ZimError if there is none by that name."""
        with self.exclusive():
            found = ZimArchive.by_name(name)
            if found is None:
                raise ZimError(f"No ZIM named {name!r} is installed.")
            with db.atomic():
                ZimArchive.delete().where(ZimArchive.name == name).execute()
                LibraryState.bump()
            self.path_of(found).unlink(missing_ok=True)
            self.notify(found.pack_id, True)
            return found

    def verify(self, progress: ZimProgress = _quiet) -> list[ZimDamage]:
        """Check every installed ZIM again, whole; one damage per file that fails."""
        with connected():
            archives = ZimArchive.ordered()
        damage = []
        for archive in archives:
            path = self.path_of(archive)
            if not path.is_file():
                damage.append(ZimDamage(archive.name, f"{archive.file_name} is missing."))
                continue
            try:
                check_file(path, _for(progress, archive.name), archive.file_name)
            except ZimError as err:
                damage.append(ZimDamage(archive.name, str(err)))
        if not damage:
            with connected(), db.atomic():
                ZimArchive.update(checked_at=_now()).execute()
        return damage

    def sweep(self) -> int:
        """Delete what a crashed import left in zims/: old incoming copies, and files no row
        names (a crash between the rename and the commit). Returns the files deleted."""
        if not self.folder.is_dir():
            return 0
        with connected():
            known = {row.file_name for row in ZimArchive.select(ZimArchive.file_name)}
        cutoff = time.time() - STALE_INCOMING_SECONDS
        removed = 0
        for entry in self.folder.iterdir():
            stale_copy = entry.name.startswith(INCOMING_PREFIX) and entry.stat().st_mtime < cutoff
            orphan = (
                entry.suffix == ".zim"
                and not entry.name.startswith(".")
                and (entry.name not in known)
            )
            if stale_copy or orphan:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed


def _for(progress: ZimProgress, name: str) -> Callable[[str, int, int], None]:
    def report(phase: str, done: int, total: int) -> None:
        progress(name, phase, done, total)

    return report


def _installed_as(metadata: ZimMetadata, zim: ZimFile) -> ZimArchive | None:
    if metadata.name:
        return ZimArchive.by_zim_name(metadata.name)
    found = ZimArchive.by_name(url_name("", zim.stem))
    return found if found is not None and not found.zim_name else None


def _free_name(name: str) -> str:
    """`name`, or name-2, name-3 ... when another ZIM (of another Name) already has it."""
    candidate, n = name, 1
    while ZimArchive.by_name(candidate) is not None:
        n += 1
        candidate = f"{name[: NAME_LENGTH - 4]}-{n}"
    return candidate


def _record(name: str, file_name: str, metadata: ZimMetadata, size: int) -> None:
    now = _now()
    ZimArchive.create(
        name=name,
        zim_name=metadata.name,
        uuid=metadata.uuid,
        file_name=file_name,
        title=metadata.title or name,
        description=metadata.description,
        language=metadata.language,
        languages=metadata.languages,
        creator=metadata.creator,
        publisher=metadata.publisher,
        date=metadata.date,
        license=metadata.license,
        flavour=metadata.flavour,
        tags=metadata.tags,
        article_count=metadata.article_count,
        media_count=metadata.media_count,
        entry_count=metadata.entry_count,
        size=size,
        has_fulltext_index=metadata.has_fulltext_index,
        has_title_index=metadata.has_title_index,
        main_path=metadata.main_path,
        illustration=metadata.illustration,
        installed_at=now,
        checked_at=now,
    )


def _header_uuid(zim: ZimFile) -> str | None:
    try:
        with open(zim.parts[0], "rb") as handle:
            header = handle.read(HEADER_SIZE)
    except OSError:
        return None
    if len(header) < HEADER_SIZE:
        return None
    return str(uuid.UUID(bytes=header[8:24]))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
