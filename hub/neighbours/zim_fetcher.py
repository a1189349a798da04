"""Copying ZIM files from a neighbour hub (`learnhub content fetch URL zim:NAME`, and the
operator's page through pack_fetcher.fetch_packs).

The neighbour's claim (name, uuid, size, and the MD5 the file ends with) is checked before a
byte moves: an edition this hub has or has newer, or a file the disk cannot hold, is refused
there. The file comes through the hub's one resumable downloader (never more than the size
claimed; a cut keeps the part, and the next copy resumes it) into the download folder, its
header must then name the uuid and MD5 that were offered, and it is imported by
ZimLibrary.adopt: the same whole-file MD5 and libzim checks as a file from a USB stick, moved
into the library rather than copied twice. A refused file is deleted; the library is untouched.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from content.source import size_text
from content.zim import ZimError
from content.zim.format import identity
from hub.core.db import connected
from hub.library.models import ZimArchive
from hub.library.packs import Library
from hub.library.zims import FREE_SPACE_MARGIN, ZimResult, url_name
from hub.neighbours.errors import NeighbourError, NeighbourUnreachable
from hub.neighbours.neighbour_hub import NeighbourHub
from hub.neighbours.share_claims import ZimOffer

ZIM_PREFIX = "zim:"  # how a copy names a ZIM beside pack ids (ZimArchive.pack_id)


@dataclass(frozen=True)
class ZimCopied:
    result: ZimResult
    bytes: int  # that crossed the network this time


class ZimFetcher:
    """Copies ZIMs from one neighbour into `library`, inside PackFetcher's session (its lock
    and its download folder)."""

    def __init__(
        self,
        library: Library,
        neighbour: NeighbourHub,
        downloads: Path,
        progress: Callable[[str, int, int], None],
    ) -> None:
        self.library = library
        self.neighbour = neighbour
        self.downloads = downloads
        self.progress = progress
        self._offers: dict[str, ZimOffer] | None = None

    def fetch(self, name: str) -> ZimCopied:
        """Copy the ZIM the neighbour serves as `name`; NeighbourError if it is refused."""
        offer = self._offer(name)
        unchanged = self._unchanged(offer)
        if unchanged is not None:
            return ZimCopied(unchanged, 0)
        folder = self.downloads / f"zim-{offer.uuid}"
        dest = folder / f"{url_name(offer.name, 'zim')}.zim"
        self._check_space(offer, dest)
        copied = self._download(offer, dest)
        try:
            self._check_claim(offer, dest)
            result = self.library.zims.adopt(dest, offer.name)
        except ZimError as err:
            raise self._refused(offer, str(err)) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return ZimCopied(result, copied)

    def _offer(self, name: str) -> ZimOffer:
        if self._offers is None:
            self._offers = {offer.name: offer for offer in self.neighbour.zims()}
        found = self._offers.get(name)
        if found is None:
            raise NeighbourError(f"The hub at {self.neighbour.url} offers no ZIM named {name!r}.")
        return found

    def _unchanged(self, offer: ZimOffer) -> ZimResult | None:
        with connected():
            same = ZimArchive.get_or_none(ZimArchive.uuid == offer.uuid)
            installed = same or ZimArchive.by_name(offer.name)
        if installed is None:
            return None
        if same is None and offer.date < installed.date:
            raise NeighbourError(
                f"ZIM {offer.name} of {offer.date or 'no date'} on the hub at "
                f"{self.neighbour.url} is older than the installed one of {installed.date}; "
                "nothing was changed."
            )
        if same is None or not self.library.zims.path_of(same).is_file():
            return None
        return ZimResult(
            same.name, same.title, same.date, "unchanged", same.article_count, same.size, same.date
        )

    def _check_space(self, offer: ZimOffer, dest: Path) -> None:
        part = dest.with_name(dest.name + ".part")
        have = part.stat().st_size if part.is_file() else 0
        need = max(0, offer.size - have) + FREE_SPACE_MARGIN
        self.downloads.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.downloads).free
        if need > free:
            raise NeighbourError(
                f"ZIM {offer.name} needs {size_text(need)} of free disk space and the hub has "
                f"{size_text(free)}; nothing was copied."
            )

    def _download(self, offer: ZimOffer, dest: Path) -> int:
        part = dest.with_name(dest.name + ".part")
        done = part.stat().st_size if part.is_file() else 0
        copied = 0
        self.progress(offer.pack_id, done, offer.size)

        def count(n: int) -> None:
            nonlocal done, copied
            done, copied = done + n, copied + n
            self.progress(offer.pack_id, done, offer.size)

        try:
            self.neighbour.download_zim(offer, dest, count)
        except NeighbourUnreachable:
            raise  # the part stays: the next copy resumes it
        except NeighbourError:
            shutil.rmtree(dest.parent, ignore_errors=True)
            raise
        return copied

    def _check_claim(self, offer: ZimOffer, dest: Path) -> None:
        """The file must be the edition offered before the long checks run on it."""
        found = identity(dest, offer.name)
        if (found.uuid, found.md5, found.size) != (offer.uuid, offer.md5, offer.size):
            raise ZimError(f"the file it sent is not the ZIM it offered (uuid {offer.uuid})")

    def _refused(self, offer: ZimOffer, why: str) -> NeighbourError:
        return NeighbourError(
            f"ZIM {offer.name} from the hub at {self.neighbour.url} was refused: "
            f"{why.rstrip('.')}; nothing was changed."
        )
