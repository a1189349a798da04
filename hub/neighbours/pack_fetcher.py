"""Copying packs (and, through zim_fetcher, ZIM files) from a neighbour hub into this hub's
library.

Only the blobs this hub lacks travel; each is downloaded by the hub's one resumable downloader
(hub.core.download) into a download folder under the data dir, checked against the sha256 and
size the neighbour claimed, and an interrupted copy resumes where it stopped. The pack is then
laid out as a folder and imported with `Library.import_pack`, exactly like one from a USB
stick: the same validation, all or nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content.errors import PackError
from content.manifest import version_key
from content.source import MANIFEST_NAME, reason, size_text
from hub.core.bounded_http import Bounds
from hub.core.db import connected
from hub.library.models import Pack
from hub.library.packs import Library
from hub.neighbours.errors import NeighbourError, NeighbourUnreachable
from hub.neighbours.neighbour_hub import NeighbourHub
from hub.neighbours.share_claims import RemotePack
from hub.neighbours.zim_fetcher import ZIM_PREFIX, ZimCopied, ZimFetcher

FREE_SPACE_MARGIN = 32 * 1024**2
STALE_DOWNLOAD_SECONDS = 7 * 24 * 3600

Progress = Callable[[str, int, int], None]  # (pack id, bytes done, bytes to copy)


@dataclass(frozen=True)
class Copied:
    pack_id: str
    version: str
    action: str  # "installed", "upgraded" or "unchanged"
    lessons: int
    files: int  # blobs that crossed the network
    bytes: int
    previous_version: str | None = None


@dataclass(frozen=True)
class FetchOutcome:
    pack_id: str
    copied: Copied | None = None
    error: str | None = None


def neighbours_dir(library: Library) -> Path:
    return library.config.data_dir / "neighbours"


class PackFetcher:
    """Copies packs from one neighbour into `library`; one pack at a time, one copy per hub
    (a lock file in the data dir: the web page and the CLI may both try)."""

    def __init__(
        self, library: Library, neighbour: NeighbourHub, progress: Progress | None = None
    ) -> None:
        self.library = library
        self.neighbour = neighbour
        self.progress = progress or (lambda pack_id, done, total: None)
        self.root = neighbours_dir(library)
        self.downloads = self.root / "downloads"

    @contextlib.contextmanager
    def session(self) -> Iterator[PackFetcher]:
        """Hold the copy lock; clear what a crashed copy left behind that cannot resume."""
        self.downloads.mkdir(parents=True, exist_ok=True)
        with open(self.root / "copy.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise NeighbourError(
                    "Another copy from a neighbour hub is running on this hub; "
                    "wait for it to finish."
                ) from None
            self._sweep()
            yield self

    def fetch(self, pack_id: str) -> Copied:
        """Copy one pack (inside `session()`); PackError if it is refused."""
        remote = self.neighbour.pack(pack_id, self.library.limits)
        unchanged = self._unchanged(remote)
        if unchanged is not None:
            return unchanged
        missing = {sha: n for sha, n in remote.blobs().items() if not self.library.store.has(sha)}
        self._check_space(remote, missing)
        try:
            copied_bytes = self._download_all(pack_id, missing)
            result = self._import(remote)
        except NeighbourUnreachable:
            raise  # keep the downloads: the next run resumes them
        except PackError:
            self._forget(missing)  # a refused pack's files are no use to anyone
            raise
        self._forget(missing)
        return Copied(
            pack_id,
            result.version,
            result.action,
            result.lessons,
            len(missing),
            copied_bytes,
            result.previous_version,
        )

    def _unchanged(self, remote: RemotePack) -> Copied | None:
        with connected():
            installed = Pack.by_id(remote.id)
        if installed is None:
            return None
        new, old = version_key(remote.version), version_key(installed.version)
        if new < old:
            raise NeighbourError(
                f"Pack {remote.id} {remote.version} on the hub at {self.neighbour.url} is older "
                f"than the installed version {installed.version}; nothing was changed."
            )
        if new > old:
            return None
        lessons = len(json.loads(remote.manifest_bytes).get("lessons", []))
        return Copied(remote.id, remote.version, "unchanged", lessons, 0, 0, installed.version)

    def _check_space(self, remote: RemotePack, missing: dict[str, int]) -> None:
        # Downloads, then the import's staging copy of every file of the pack.
        have = sum(self._downloaded(sha) for sha in missing)
        need = sum(missing.values()) - have + remote.size + FREE_SPACE_MARGIN
        free = shutil.disk_usage(self.root).free
        if need > free:
            raise NeighbourError(
                f"Pack {remote.id} needs {size_text(need)} of free disk space and the hub has "
                f"{size_text(free)}; nothing was copied."
            )

    def _downloaded(self, sha: str) -> int:
        for candidate in (self.downloads / sha, self.downloads / f"{sha}.part"):
            if candidate.is_file():
                return candidate.stat().st_size
        return 0

    def _download_all(self, pack_id: str, missing: dict[str, int]) -> int:
        total = sum(missing.values())
        done = sum(self._downloaded(sha) for sha in missing)
        copied = 0
        self.progress(pack_id, done, total)
        for sha, size in missing.items():
            if (self.downloads / sha).is_file():
                continue  # verified by an earlier run that was cut later

            def count(n: int) -> None:
                nonlocal done, copied
                done += n
                copied += n
                self.progress(pack_id, done, total)

            self._download(pack_id, sha, size, count)
        return copied

    def _download(self, pack_id: str, sha: str, size: int, on_bytes: Callable[[int], None]) -> None:
        self.neighbour.download(pack_id, sha, size, self.downloads / sha, on_bytes)

    def _import(self, remote: RemotePack) -> Any:
        """Lay the pack out as a folder (links to the downloads and to blobs this hub has)
        and import it like a USB stick's pack."""
        view = self.root / f"view-{uuid.uuid4().hex}" / remote.id
        try:
            self._lay_out(remote, view)
            try:
                return self.library.import_pack(view)
            except PackError as err:
                why = str(err).replace(str(view), remote.id)
                raise NeighbourError(
                    f"Pack {remote.id} from the hub at {self.neighbour.url} was refused: {why}"
                ) from None
        finally:
            shutil.rmtree(view.parent, ignore_errors=True)

    def _lay_out(self, remote: RemotePack, view: Path) -> None:
        try:
            view.mkdir(parents=True)
            (view / MANIFEST_NAME).write_bytes(remote.manifest_bytes)
            for remote_file in remote.files:
                target = view / remote_file.path
                target.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(self._blob(remote_file.sha256), target)
        except OSError as err:
            raise NeighbourError(
                f"The files of pack {remote.id} from the hub at {self.neighbour.url} could not "
                f"be laid out ({reason(err)}); nothing was changed."
            ) from None

    def _blob(self, sha: str) -> Path:
        downloaded = self.downloads / sha
        return downloaded if downloaded.is_file() else self.library.store.path(sha)

    def _forget(self, shas: dict[str, int]) -> None:
        for sha in shas:
            for name in (sha, f"{sha}.part"):
                (self.downloads / name).unlink(missing_ok=True)

    def _sweep(self) -> None:
        cutoff = time.time() - STALE_DOWNLOAD_SECONDS
        for entry in self.root.iterdir():
            if entry.name.startswith("view-"):  # only alive while a copy holds the lock
                shutil.rmtree(entry, ignore_errors=True)
        for entry in self.downloads.iterdir():
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link costs no space; another file system (or no link support) gets a copy."""
    try:
        os.link(source, target)
    except OSError as err:
        if isinstance(err, FileNotFoundError):
            raise
        shutil.copyfile(source, target)


def fetch_packs(
    library: Library, url: str, pack_ids: list[str], progress: Progress | None = None
) -> list[FetchOutcome]:
    """Copy each pack from the hub at `url`; one outcome per pack, in order. Raises
    NeighbourError only when no copy can start (bad address, another copy running)."""
    fetcher = PackFetcher(library, NeighbourHub(url, Bounds.of(library.config)), progress)
    zims = ZimFetcher(library, fetcher.neighbour, fetcher.downloads, fetcher.progress)
    outcomes = []
    with fetcher.session():
        for pack_id in dict.fromkeys(pack_ids):
            try:
                if pack_id.startswith(ZIM_PREFIX):
                    copied = _zim_copied(zims.fetch(pack_id.removeprefix(ZIM_PREFIX)))
                else:
                    copied = fetcher.fetch(pack_id)
                outcomes.append(FetchOutcome(pack_id, copied=copied))
            except PackError as err:
                outcomes.append(FetchOutcome(pack_id, error=str(err)))
    return outcomes


def _zim_copied(zim: ZimCopied) -> Copied:
    """A ZIM's copy told like a pack's: its date for a version, its articles for lessons."""
    result = zim.result
    files = 1 if zim.bytes else 0
    return Copied(
        f"{ZIM_PREFIX}{result.name}",
        result.date,
        result.action,
        result.articles,
        files,
        zim.bytes,
        result.previous_date,
    )
