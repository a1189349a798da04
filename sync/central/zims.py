"""Kiwix libraries (ZIM files) central sends to hubs.

A ZIM is added with the same whole checks a hub runs on import (content.zim: the MD5 the file
ends with over every byte, then libzim's structure check), copied once into central's zims/
folder and recorded by its uuid. Staff assign a ZIM by name to hubs: each hub then gets the
newest edition of that name. A reply names the file (name, uuid, size, MD5), never carries
it: the hub fetches it through the signed GET /api/sync/zims/<uuid>, resumably, within its
bandwidth cap.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content.durable import fsync_dir
from content.zim import ZimError, ZimFile, ZimReader, copy_checked, find_zims
from content.zim.format import identity
from sync.central.db import writing
from sync.central.errors import CentralError
from sync.central.hubs import known
from sync.central.models import ZimRelease, ZimTarget, now_ms
from sync.records import MAX_ZIM_TEXT, ZIM_NAME

ZIMS_FOLDER = "zims"
INCOMING_PREFIX = ".incoming-"
_NOT_NAME = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True)
class ZimAdded:
    name: str
    date: str
    uuid: str
    new: bool  # False: this edition was already here


class CentralZims:
    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / ZIMS_FOLDER

    def path_of(self, release: ZimRelease) -> Path:
        return self.folder / release.file

    def add_paths(self, paths: list[Path]) -> list[ZimAdded]:
        """Add every ZIM found under `paths`; ZimError names the first one refused."""
        found = [zim for path in paths for zim in find_zims(path)]
        if not found:
            raise ZimError(f"No ZIM file was found in {', '.join(map(str, paths))}.")
        return [self.add(zim) for zim in found]

    def add(self, zim: ZimFile) -> ZimAdded:
        """Copy one ZIM in, checked whole; all or nothing."""
        self.folder.mkdir(parents=True, exist_ok=True)
        incoming = self.folder / f"{INCOMING_PREFIX}{secrets.token_hex(6)}.zim"
        copy_checked(zim, incoming)
        try:
            with ZimReader(incoming, zim.name) as reader:
                metadata = reader.metadata()
            held = ZimRelease.get_or_none(ZimRelease.uuid == metadata.uuid)
            if held is not None:
                return ZimAdded(held.name, held.date, held.uuid, new=False)
            name = name_of(metadata.name, zim.stem)
            target = self.folder / f"{name}_{metadata.uuid[:8]}.zim"
            os.replace(incoming, target)
            fsync_dir(self.folder)
            try:
                self._record(target, name, metadata)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            return ZimAdded(name, metadata.date, metadata.uuid, new=True)
        finally:
            incoming.unlink(missing_ok=True)

    @staticmethod
    def _record(target: Path, name: str, metadata: Any) -> None:
        found = identity(target, target.name)
        with writing():
            ZimRelease.create(
                uuid=metadata.uuid,
                name=name,
                zim_name=metadata.name[:MAX_ZIM_TEXT],
                title=(metadata.title or name)[:MAX_ZIM_TEXT],
                language=metadata.language[:MAX_ZIM_TEXT],
                date=metadata.date[:MAX_ZIM_TEXT],
                size=found.size,
                md5=found.md5,
                file=target.name,
                added_at=now_ms(),
            )

    @staticmethod
    def latest(name: str) -> ZimRelease | None:
        """The newest edition of a name: by its Date, then by when it was added."""
        editions = ZimRelease.editions(name)
        return max(editions, key=lambda r: (r.date, r.added_at)) if editions else None

    def releases(self) -> list[ZimRelease]:
        """The newest edition of every ZIM central has."""
        names = {release.name for release in ZimRelease.select(ZimRelease.name)}
        newest = [found for name in names if (found := self.latest(name)) is not None]
        return sorted(newest, key=lambda r: (r.language, r.title, r.name))

    def assign(self, name: str, hub_id: str) -> None:
        """Send this ZIM (its newest edition, now and after every newer one) to a hub."""
        if self.latest(name) is None:
            raise CentralError(f"Central has no ZIM {name!r}; add it with `central zims add`.")
        with writing():
            known(hub_id)
            ZimTarget.insert(
                name=name, hub_id=hub_id, assigned_at=now_ms()
            ).on_conflict_ignore().execute()

    def wanted_by(self, hub_id: str, held: set[str]) -> list[ZimRelease]:
        """The newest edition of each ZIM assigned to the hub that it does not hold."""
        wanted = []
        for name in ZimTarget.names_for(hub_id):
            release = self.latest(name)
            if release is not None and release.uuid not in held:
                wanted.append(release)
        return wanted

    def servable(self, uuid: str, hub_id: str) -> Path | None:
        """The file of edition `uuid` if it is one of a ZIM assigned to the hub, else None."""
        release = ZimRelease.get_or_none(ZimRelease.uuid == uuid)
        if release is None or not ZimTarget.assigned(release.name, hub_id):
            return None
        path = self.path_of(release)
        return path if path.is_file() else None


def zim_record(release: ZimRelease) -> dict[str, Any]:
    """What a reply tells a hub of a ZIM to fetch (sync.records.check_zim's shape)."""
    return {
        "name": release.name,
        "zim_name": release.zim_name,
        "uuid": release.uuid,
        "title": release.title,
        "language": release.language,
        "date": release.date,
        "size": release.size,
        "md5": release.md5,
    }


def name_of(zim_name: str, fallback: str) -> str:
    """Central's name for a ZIM: its Name metadata (else its file's name), lower case,
    letters, digits, dots, dashes and underscores, as a hub names it."""
    name = _NOT_NAME.sub("_", (zim_name or fallback).lower()).strip("._-")[:60].rstrip("._-")
    return name if ZIM_NAME.fullmatch(name) else "zim"
