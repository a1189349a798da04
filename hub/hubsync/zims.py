"""ZIM files central sends: a reply names each one (name, uuid, size, MD5; sync.records
check_zim), and the push fetches the file after the reply is applied, progress and content
packs first.

Each file comes through the signed GET /api/sync/zims/<uuid> and the hub's one resumable
downloader, paced by the bandwidth cap: a file larger than what is left of today's allowance
stops when it is spent and resumes from `sync/inbox/zim-<uuid>/NAME.zim.part` on the next
sync. Never more than the size named is taken. Once whole, the header must name the uuid and
MD5 offered, then ZimLibrary.adopt runs the same whole-file MD5 and libzim checks as an import
from a USB stick, and moves the file in. A refused file is deleted and its uuid remembered
(`sync/inbox/zims-refused.json`), so a damaged file at central is not fetched again every
sync; the library is untouched.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content import durable
from content.source import size_text
from content.zim import ZimError
from content.zim.format import identity
from hub.core.bounded_http import TooLarge, TransferError
from hub.core.db import connected
from hub.core.download import Cut, NoRoom, Refused, Target, WrongAnswer
from hub.hubsync.central_client import CentralClient
from hub.hubsync.service import SyncError, SyncService
from hub.library.models import ZimArchive
from hub.library.zims import FREE_SPACE_MARGIN

REFUSED_FILE = "zims-refused.json"
MAX_REFUSED = 1000  # uuids remembered; the oldest are forgotten first


@dataclass(frozen=True)
class ZimOutcome:
    name: str
    action: str  # "installed", "upgraded", "unchanged", "older" or "refused"
    error: str | None = None
    received: int = 0  # bytes that crossed the network this time


class ZimRefused(Exception):
    """This edition cannot be installed; str() is one sentence. `remember`: the file itself
    is at fault, so fetching it again would waste the link."""

    def __init__(self, message: str, remember: bool) -> None:
        super().__init__(message)
        self.remember = remember


def fetch_zims(
    service: SyncService, client: CentralClient, records: list[dict[str, Any]]
) -> list[ZimOutcome]:
    """Fetch and install every ZIM a reply named, one after the other. A cut link or the
    day's allowance stops here as a SyncError (the part stays for the next sync)."""
    return [ZimFetch(service, client, record).run() for record in records]


class ZimFetch:
    def __init__(self, service: SyncService, client: CentralClient, record: dict[str, Any]) -> None:
        self.service = service
        self.client = client
        self.record = record
        self.name: str = record["name"]
        self.uuid: str = record["uuid"]
        self.size: int = record["size"]
        self.folder = service.inbox / f"zim-{self.uuid}"
        self.refused = RefusedZims(service.inbox / REFUSED_FILE)

    def run(self) -> ZimOutcome:
        skipped = self._skipped()
        if skipped is not None:
            return skipped
        try:
            return self._fetch()
        except ZimRefused as err:
            shutil.rmtree(self.folder, ignore_errors=True)
            if err.remember:
                self.refused.add(self.uuid, str(err))
            return ZimOutcome(self.name, "refused", str(err))

    def _skipped(self) -> ZimOutcome | None:
        """The same edition is here, a newer one is, or this one was refused before."""
        before = self.refused.why(self.uuid)
        if before is not None:
            return ZimOutcome(self.name, "refused", before)
        with connected():
            same = ZimArchive.get_or_none(ZimArchive.uuid == self.uuid)
            installed = ZimArchive.by_zim_name(self.record["zim_name"])
        if same is not None:
            return ZimOutcome(self.name, "unchanged")
        if installed is not None and self.record["date"] < installed.date:
            return ZimOutcome(self.name, "older")
        return None

    def _fetch(self) -> ZimOutcome:
        dest = self.folder / f"{self.name}.zim"
        target = Target(dest, max_bytes=self.size, size=self.size)
        self._check_space(target)
        with self._download_errors(target):
            received = self.client.fetch(f"/api/sync/zims/{self.uuid}", target)
        try:
            self._check_claim(dest)
            result = self.service.library.zims.adopt(dest, self.name)
        except ZimError as err:
            raise self._refusal(str(err), remember=True) from None
        shutil.rmtree(self.folder, ignore_errors=True)
        return ZimOutcome(result.name, result.action, received=received)

    def _check_space(self, target: Target) -> None:
        have = target.part.stat().st_size if target.part.is_file() else 0
        need = max(0, self.size - have) + FREE_SPACE_MARGIN
        self.folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.folder).free
        if need > free:
            raise self._refusal(
                f"it needs {size_text(need)} of free disk space and the hub has {size_text(free)}",
                remember=False,
            )

    def _check_claim(self, dest: Path) -> None:
        """The file must be the edition named before the long checks run on it."""
        found = identity(dest, self.name)
        if (found.uuid, found.md5, found.size) != (self.uuid, self.record["md5"], self.size):
            raise ZimError(f"the file central sent is not the ZIM its reply named ({self.uuid})")

    @contextmanager
    def _download_errors(self, target: Target) -> Iterator[None]:
        """Refusals delete what arrived; a cut keeps it for the next sync."""
        try:
            yield
        except Cut as err:
            have = target.part.stat().st_size if target.part.is_file() else 0
            raise SyncError(
                f"ZIM {self.name} from central arrived in part ({size_text(have)} of "
                f"{size_text(self.size)}); it resumes with the next sync"
                + (f" ({err.reason})." if err.reason else ".")
            ) from None
        except Refused as err:
            if err.status in (403, 404, 410):
                raise self._refusal("central no longer offers it", remember=False) from None
            raise SyncError(f"Central did not send ZIM {self.name} (HTTP {err.status}).") from None
        except (WrongAnswer, TooLarge) as err:  # lying sizes or headers: nothing kept
            raise self._refusal(str(err), remember=True) from None
        except NoRoom as err:
            raise self._refusal(str(err), remember=False) from None
        except TransferError as err:  # the link failed before the file began: try again
            raise SyncError(str(err)) from None

    def _refusal(self, why: str, *, remember: bool) -> ZimRefused:
        return ZimRefused(
            f"ZIM {self.name} from central was refused: {why.rstrip('.')}; nothing was changed.",
            remember,
        )


class RefusedZims:
    """The ZIM editions (by uuid) this hub refused, with why: small JSON, written whole."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(doc, dict):
            return {}
        return {str(k): str(v) for k, v in doc.items()}

    def why(self, uuid: str) -> str | None:
        return self._read().get(uuid)

    def add(self, uuid: str, why: str) -> None:
        known = self._read()
        known.pop(uuid, None)
        known[uuid] = why
        kept = dict(list(known.items())[-MAX_REFUSED:])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        durable.write_text(self.path, json.dumps(kept))
