"""The share API of one neighbour hub (`/api/share`), read defensively.

A neighbour is not trusted: every answer goes through one bounded exchange
(hub.core.bounded_http), capped in bytes and in time; its files come through the hub's one
resumable downloader (hub.core.download), checked against the size and sha256 it claimed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import urlsplit

from content.importer import MAX_MANIFEST_BYTES
from content.source import Limits, quote
from hub.core.bounded_http import (
    Bounds,
    Exchange,
    LinkFailed,
    TooLarge,
    TooSlow,
    TransferError,
)
from hub.core.download import Corrupt, Cut, Oversized, Pace, Refused, Target, download
from hub.core.translate import gettext
from hub.neighbours.errors import NeighbourError, NeighbourUnreachable
from hub.neighbours.share_claims import (
    ENTRY_BYTES,
    Offer,
    RemotePack,
    ZimOffer,
    offer_from,
    remote_pack_from,
    zim_offer_from,
)

SHARE_PATH = "/api/share"


def neighbour_url(text: str) -> str:
    """`http://host:port` from what an operator typed ("10.0.0.5:8080", a URL with a path)."""
    given = text.strip()
    if "://" not in given:
        given = "http://" + given
    parts = urlsplit(given)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NeighbourError(
            gettext("%(text)s is not the address of a hub (like 10.0.0.5:8080).", text=quote(text))
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise NeighbourError(
            gettext("%(text)s has a port that is not a number.", text=quote(text))
        ) from None
    return f"{parts.scheme}://{parts.netloc}"


class NeighbourHub:
    """The share API of one neighbour hub (`/api/share`), read defensively: every answer
    through one bounded exchange (hub.core.bounded_http), capped in bytes and in time."""

    def __init__(
        self, url: str, bounds: Bounds | None = None, *, timeout: float | None = None
    ) -> None:
        """`timeout` shortens the time any one answer may take (a page waiting on it)."""
        self.url = neighbour_url(url)
        self.parts = urlsplit(self.url)
        self.bounds = (bounds or Bounds.defaults()).within(timeout)

    def offers(self) -> list[Offer]:
        doc = self._json("/packs", self.bounds.json_bytes, "its list of packs")
        entries = doc.get("packs") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise NeighbourError(
                gettext(
                    "The hub at %(url)s sent a list of packs this hub cannot read.", url=self.url
                )
            )
        return [offer for entry in entries if (offer := offer_from(entry)) is not None]

    def pack(self, pack_id: str, limits: Limits) -> RemotePack:
        """The pack's manifest and file list, checked against `limits` and each other."""
        path = "/packs/" + url_quote(pack_id, safe="")
        max_bytes = MAX_MANIFEST_BYTES + limits.max_files * ENTRY_BYTES
        missing = f"has no pack {quote(pack_id)}"
        doc = self._json(path, max_bytes, f"pack {quote(pack_id)}", missing)
        return remote_pack_from(doc, pack_id, limits, self.url)

    def download(
        self, pack_id: str, sha256: str, size: int, dest: Path, on_bytes: Callable[[int], None]
    ) -> int:
        """Bring one file of `pack_id` into `dest`, resuming its part, checked against the
        `size` and `sha256` this hub was told; returns the bytes that crossed the network."""
        target = Target(dest, max_bytes=size, size=size, sha256=sha256)
        with self._file_errors(pack_id, target):
            return download(
                self._exchange, f"{SHARE_PATH}/blobs/{sha256}", target, pace=Pace(on_bytes=on_bytes)
            )

    def zims(self) -> list[ZimOffer]:
        """The ZIMs it offers; entries that do not read as one are left out."""
        missing = "offers no ZIM files (it runs an older Learning Hub)"
        doc = self._json("/zims", self.bounds.json_bytes, "its list of ZIM files", missing)
        entries = doc.get("zims") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise NeighbourError(
                f"The hub at {self.url} sent a list of ZIM files this hub cannot read."
            )
        return [offer for entry in entries if (offer := zim_offer_from(entry)) is not None]

    def download_zim(self, offer: ZimOffer, dest: Path, on_bytes: Callable[[int], None]) -> int:
        """Bring the offered ZIM file into `dest`, resuming its part: never more than the
        size it claimed (its MD5 is checked with the whole file, by the import)."""
        target = Target(dest, max_bytes=offer.size, size=offer.size)
        with self._file_errors(offer.pack_id, target):
            return download(
                self._exchange,
                f"{SHARE_PATH}/zims/{offer.uuid}",
                target,
                pace=Pace(on_bytes=on_bytes),
            )

    # HTTP underneath.

    def _exchange(self, bounds: Bounds | None = None) -> Exchange:
        return Exchange(self.parts, bounds or self.bounds, f"The hub at {self.url}")

    @contextlib.contextmanager
    def _unreachable(self, during: str | None = None) -> Iterator[None]:
        """A failed or too slow link as NeighbourUnreachable (`during`: the sentence to use),
        too much as a refusal."""
        try:
            yield
        except LinkFailed as err:
            raise NeighbourUnreachable(
                during
                or gettext(
                    "Could not reach the hub at %(url)s: %(why)s.", url=self.url, why=err.reason
                )
            ) from None
        except TooSlow as err:
            raise NeighbourUnreachable(str(err)) from None
        except TransferError as err:
            raise NeighbourError(str(err)) from None

    @contextlib.contextmanager
    def _file_errors(self, pack_id: str, target: Target) -> Iterator[None]:
        """The downloader's failures in this page's words: a cut keeps what arrived (the next
        run resumes it), a file that is not what was claimed refuses the pack."""
        cut = (
            f"The connection to the hub at {self.url} was cut while copying; "
            "run the copy again to resume where it stopped."
        )
        with self._unreachable():  # what is left: an unreachable hub, or a refusal
            try:
                yield
            except Cut:
                raise NeighbourUnreachable(cut) from None
            except Refused as err:
                missing = "no longer has a file of this pack; try again later"
                raise self._refusal(err.status, err.code, missing) from None
            except Corrupt:
                raise NeighbourError(
                    f"The hub at {self.url} sent a file of pack {quote(pack_id)} whose content "
                    f"does not match its sha256 {str(target.sha256)[:12]}...; the pack was refused."
                ) from None
            except TooLarge as err:
                if isinstance(err, Oversized):
                    raise
                raise NeighbourError(
                    f"The hub at {self.url} sent more bytes than the {target.size} it announced "
                    "for a file; the pack was refused."
                ) from None

    def _get(
        self,
        exchange: Exchange,
        path: str,
        headers: dict[str, str],
        missing: str | None = None,
    ) -> http.client.HTTPResponse:
        """A 200 (or 206) answer; anything else is refused. No redirect is followed and no
        proxy is used: a hub answers its share API itself, on this LAN."""
        with self._unreachable():
            response = exchange.request("GET", SHARE_PATH + path, headers=headers)
        if response.status not in (200, 206):
            raise self._refusal(response.status, exchange.read_error_code(response), missing)
        return response

    def _refusal(self, status: int, code: str, missing: str | None) -> NeighbourError:
        """`missing` ends the sentence for a 404 ("has no pack ...")."""
        if status == 403 and code == "sharing_off":
            return NeighbourError(
                gettext(
                    "The hub at %(url)s does not share its packs (its operator has not turned "
                    "sharing on).",
                    url=self.url,
                )
            )
        if status == 404 and missing is not None:
            return NeighbourError(f"The hub at {self.url} {missing}.")
        if status == 404:
            return NeighbourError(
                gettext(
                    "The hub at %(url)s does not offer packs to copy (is it a Learning Hub?).",
                    url=self.url,
                )
            )
        return NeighbourError(
            gettext(
                "The hub at %(url)s answered with HTTP error %(code)d.", url=self.url, code=status
            )
        )

    def _json(self, path: str, max_bytes: int, what: str, missing: str | None = None) -> Any:
        bounds = dataclasses.replace(self.bounds, json_bytes=max_bytes)
        failed = f"The connection to the hub at {self.url} failed."
        with self._unreachable(), self._exchange(bounds) as exchange:
            response = self._get(exchange, path, {"Accept": "application/json"}, missing)
            with self._unreachable(failed):
                body = exchange.read_json_bytes(response, what)
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: hostile nesting
            raise NeighbourError(
                gettext(
                    "The hub at %(url)s did not answer with JSON (is it a Learning Hub?).",
                    url=self.url,
                )
            ) from None
