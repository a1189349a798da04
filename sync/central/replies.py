"""Reply bundles: what central sends a hub, signed with central's key.

A reply carries one signed receipt per epoch (the contiguous high-water mark and the bundles
applied), the roster changes for that hub it has not acknowledged, and the packs assigned to
it that are newer than what it has, with only the blobs it lacks. A pack and its blobs travel
in the same bundle; packs that would make one manifest too large go in further bundles. ZIMs
assigned to it that it lacks are named in a zims part (the hub fetches each file itself), for
a hub whose bundle said which ZIMs it has: an older hub would refuse the part.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.bundle import PartSpec, bundle_name, write_bundle
from sync.central import letters, outcomes, roster, shared_packs
from sync.central.apply import Applied
from sync.central.db import writing
from sync.central.hubs import known, public_key_of
from sync.central.library import CentralLibrary
from sync.central.models import BundleIn, Hub, PackRelease, Reply, Roster, Stream, now_ms
from sync.central.zims import CentralZims, zim_record
from sync.identity import KeyPair
from sync.outcomes import VERSION as OUTCOMES_VERSION
from sync.outcomes import Term, periods
from sync.receipts import sign_receipt

# Bundle ids a receipt lists, newest first: enough for any hub's outbox, bounded in size.
RECEIPT_BUNDLES = 200
# What one reply manifest may spend on chunk hashes (the format caps a manifest at 1 MiB).
MANIFEST_BUDGET = 800_000
CHUNK = 64 * 1024


@dataclass(frozen=True)
class ReplyFile:
    path: Path
    bundle_id: str
    reply_id: str  # the unguessable name it is fetched by over HTTP


class Replier:
    def __init__(
        self,
        keys: KeyPair,
        central_id: str,
        library: CentralLibrary,
        zims: CentralZims,
        terms: Sequence[Term] = (),
    ) -> None:
        self.keys = keys
        self.central_id = central_id
        self.library = library
        self.zims = zims
        self.terms = terms

    def receipt(self, hub_id: str, epoch: str, applied: list[Applied]) -> dict[str, Any]:
        """The signed state of one hub epoch, with the counts of the bundles just applied."""
        stream = Stream.get_or_none(Stream.hub_id == hub_id, Stream.epoch == epoch)
        mine = [a for a in applied if a.epoch == epoch]
        recent = (
            BundleIn.select(BundleIn.bundle_id)
            .where(BundleIn.hub_id == hub_id, BundleIn.epoch == epoch)
            .order_by(BundleIn.received.desc())
            .limit(RECEIPT_BUNDLES)
        )
        bundles = list(dict.fromkeys([a.bundle_id for a in mine] + [b.bundle_id for b in recent]))
        return sign_receipt(
            self.keys,
            {
                "central": self.central_id,
                "hub_id": hub_id,
                "epoch": epoch,
                "high_water": stream.high_water if stream else 0,
                "max_seq": stream.max_seq if stream else 0,
                "bundles": bundles,
                "accepted": sum(a.accepted for a in mine),
                "duplicates": sum(a.duplicates for a in mine),
                "quarantined": sum(a.quarantined for a in mine),
                "issued": now_ms(),
            },
        )

    def write(self, hub_id: str, folder: Path, applied: list[Applied]) -> list[ReplyFile]:
        """Write the reply bundle(s) for `hub_id` into `folder`, after `applied` bundles.
        The files are written outside the write lock (a pack can take a while to copy)."""
        folder.mkdir(parents=True, exist_ok=True)
        hub = known(hub_id)
        epochs = list(dict.fromkeys(a.epoch for a in applied)) or _epochs(hub_id)
        if not epochs:
            return []  # nothing was ever received: there is no epoch to answer for
        receipts = [self.receipt(hub_id, epoch, applied) for epoch in epochs]
        upto = Roster.last_change()
        records = roster.outbox(hub_id, hub.roster_acked, public_key_of(hub))
        held = self.library.blobs_held(hub.installed())
        previous = hub.last_bundle_out
        written = []
        for index, packs in enumerate(self._pack_groups(hub, held) or [[]]):
            parts = []
            if index == 0:
                parts = [
                    PartSpec(f"receipt-{r['epoch']}", "receipt", records=[r]) for r in receipts
                ]
                if records:
                    parts.append(PartSpec("roster", "roster", records=records))
                parts += self._zim_parts(hub)
                parts += self._outcome_parts(hub)
                parts += shared_parts(hub)
            parts += self._pack_parts(packs, held)
            if index == 0:
                taken = {part.name for part in parts}
                extra, told = letters.reply_parts(hub, self.library.store, taken)
                parts += extra
            written.append(self._write_one(hub_id, epochs[-1], folder, parts, previous))
            previous = written[-1].bundle_id
        with writing():
            for reply in written:
                Reply.create(
                    reply_id=reply.reply_id,
                    hub_id=hub_id,
                    bundle_id=reply.bundle_id,
                    file=str(reply.path),
                    roster_upto=upto,
                    created=now_ms(),
                )
            Hub.update(last_bundle_out=previous).where(Hub.hub_id == hub_id).execute()
            letters.note_reply(told, written[0].bundle_id)
        return written

    def _pack_groups(self, hub: Hub, held: set[str]) -> list[list[PackRelease]]:
        """Packs the hub lacks, grouped so that no reply manifest passes the budget."""
        groups: list[list[PackRelease]] = []
        spent = MANIFEST_BUDGET
        for release in self.library.wanted_by(hub.hub_id, hub.installed()):
            cost = _manifest_cost(release, held)
            if spent + cost > MANIFEST_BUDGET:
                groups.append([])
                spent = 0
            groups[-1].append(release)
            spent += cost
        return groups

    def _zim_parts(self, hub: Hub) -> list[PartSpec]:
        held = hub.zims_held()
        if held is None:
            return []
        wanted = [zim_record(release) for release in self.zims.wanted_by(hub.hub_id, held)]
        return [PartSpec("zims", "zims", records=wanted)] if wanted else []

    def _outcome_parts(self, hub: Hub) -> list[PartSpec]:
        """The hub's outcomes and its region's, for a hub that said it reads them."""
        if hub.outcomes < OUTCOMES_VERSION:
            return []
        now = now_ms()
        shown = periods(now, self.terms)
        records = outcomes.reply_records(hub.hub_id, hub.region, shown, now)
        return [PartSpec("outcomes", "outcomes", records=records)]

    def _pack_parts(self, packs: list[PackRelease], held: set[str]) -> list[PartSpec]:
        if not packs:
            return []
        missing = {sha: None for release in packs for sha, _ in release.file_map().values()}
        blobs = [
            PartSpec(sha, "blob", file=self.library.store.path(sha))
            for sha in missing
            if sha not in held
        ]
        return [PartSpec("packs", "packs", records=[_pack_record(p) for p in packs]), *blobs]

    def _write_one(
        self, hub_id: str, epoch: str, folder: Path, parts: list[PartSpec], previous: str | None
    ) -> ReplyFile:
        header = {
            "kind": "reply",
            "sender": self.central_id,
            "recipient": hub_id,
            "hub_id": hub_id,
            "epoch": epoch,
            "seq": None,
            "hlc": None,
            "previous": previous,
            "created": now_ms(),
        }
        path = _free_path(folder, bundle_name(header))
        bundle_id = write_bundle(path, self.keys, header, parts)
        return ReplyFile(path, bundle_id, secrets.token_hex(16))


def shared_parts(hub: Hub) -> list[PartSpec]:
    """The shared catalog and this hub's offers, for a hub that said it reads them."""
    if not hub.reads_shared:
        return []
    parts = [PartSpec("catalog", "catalog", records=shared_packs.catalog())]
    offers = shared_packs.offer_status(hub.hub_id)
    return parts + ([PartSpec("offers", "offers", records=offers)] if offers else [])


def _epochs(hub_id: str) -> list[str]:
    return [stream.epoch for stream in Stream.of_hub(hub_id)]


def _pack_record(release: PackRelease) -> dict[str, Any]:
    return {
        "pack_id": release.pack_id,
        "version": release.version,
        "manifest": json.loads(release.pack_json),
        "files": {path: sha for path, (sha, _) in release.file_map().items()},
    }


def _manifest_cost(release: PackRelease, held: set[str]) -> int:
    """Bytes the pack's blobs add to a manifest: an entry each plus a hash per 64 KiB."""
    sizes = {sha: size for sha, size in release.file_map().values() if sha not in held}
    return 2000 + sum(300 + 67 * -(-size // CHUNK) for size in sizes.values())


def _free_path(folder: Path, name: str) -> Path:
    """`name` in `folder`, or name-2, name-3... when two replies share a millisecond."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    count = 2
    while path.exists():
        path = folder / f"{stem}-{count}{suffix}"
        count += 1
    return path
