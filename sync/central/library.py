"""Content packs central publishes to hubs: validated by the content library, kept as
content-addressed blobs, every version remembered (to know which blobs a hub already has)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from content.blobstore import BlobStore
from content.errors import PackError
from content.importer import stage_pack
from content.manifest import version_key
from content.source import find_packs, open_source
from sync.central.db import writing
from sync.central.errors import CentralError
from sync.central.hubs import known
from sync.central.models import PackRelease, PackTarget, now_ms


@dataclass(frozen=True)
class Added:
    pack_id: str
    version: str
    new: bool  # False: this version was already here


class CentralLibrary:
    def __init__(self, data_dir: Path) -> None:
        self.store = BlobStore(data_dir / "blobs")
        self.staging = data_dir / "staging"

    def add_paths(self, paths: list[Path]) -> list[Added]:
        """Import every pack found under `paths`; PackError names the first one refused."""
        found = [pack for path in paths for pack in find_packs(path)]
        if not found:
            raise PackError(f"No content pack was found in {', '.join(map(str, paths))}.")
        return [self.add(pack) for pack in found]

    def add(self, path: Path) -> Added:
        self.staging.mkdir(parents=True, exist_ok=True)
        with open_source(path) as source:
            staged = stage_pack(source, self.store, self.staging)
        try:
            manifest = staged.manifest
            if PackRelease.get_or_none(
                PackRelease.pack_id == manifest.id, PackRelease.version == manifest.version
            ):
                return Added(manifest.id, manifest.version, new=False)
            staged.publish()
            try:
                with writing():
                    PackRelease.create(
                        pack_id=manifest.id,
                        version=manifest.version,
                        title=manifest.title,
                        language=manifest.language,
                        pack_json=json.dumps(manifest.raw, sort_keys=True, ensure_ascii=False),
                        files=json.dumps(
                            {p: [f.sha256, f.size] for p, f in staged.files.items()},
                            sort_keys=True,
                        ),
                        size=sum(f.size for f in staged.files.values()),
                        added_at=now_ms(),
                    )
            except BaseException:
                staged.unpublish()
                raise
            return Added(manifest.id, manifest.version, new=True)
        finally:
            staged.discard()

    @staticmethod
    def latest(pack_id: str) -> PackRelease | None:
        versions = PackRelease.versions(pack_id)
        return max(versions, key=lambda r: version_key(r.version)) if versions else None

    @staticmethod
    def releases() -> list[PackRelease]:
        """The newest version of every pack central has."""
        newest: dict[str, PackRelease] = {}
        for release in PackRelease.select():
            held = newest.get(release.pack_id)
            if held is None or version_key(release.version) > version_key(held.version):
                newest[release.pack_id] = release
        return sorted(newest.values(), key=lambda r: (r.language, r.title))

    def assign(self, pack_id: str, hub_id: str) -> None:
        """Send this pack (its newest version, now and after every upgrade) to a hub."""
        if self.latest(pack_id) is None:
            raise CentralError(f"Central has no pack {pack_id!r}; add it with `central packs add`.")
        with writing():
            known(hub_id)
            PackTarget.insert(
                pack_id=pack_id, hub_id=hub_id, assigned_at=now_ms()
            ).on_conflict_ignore().execute()

    def wanted_by(self, hub_id: str, have: dict[str, str]) -> list[PackRelease]:
        """Packs assigned to the hub whose newest version is newer than what it has."""
        wanted = []
        for pack_id in PackTarget.packs_for(hub_id):
            release = self.latest(pack_id)
            installed = have.get(pack_id)
            if release and (installed is None or _newer(release.version, installed)):
                wanted.append(release)
        return wanted

    @staticmethod
    def blobs_held(have: dict[str, str]) -> set[str]:
        """The blobs a hub holds, as far as central can tell: those of every pack version it
        says it has installed that central also knows."""
        held: set[str] = set()
        for pack_id, version in have.items():
            release = PackRelease.get_or_none(
                PackRelease.pack_id == pack_id, PackRelease.version == version
            )
            if release is not None:
                held.update(sha for sha, _ in release.file_map().values())
        return held


def _newer(version: str, installed: str) -> bool:
    try:
        return version_key(version) > version_key(installed)
    except (ValueError, PackError):
        return version != installed
