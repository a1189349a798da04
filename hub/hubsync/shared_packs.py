"""Sharing lessons through central, the hub's side (issue #18 part 1).

A coach offers one of the hub's own packs (`own-` ids, made on the authoring pages) under a
licence that allows it; the next bundle carries a signed `offer` record with its pack.json
and file map, and as blobs only the files not sent to central before. A pack republished at
a higher version is offered again by itself. Coaches and operators pick packs of the catalog
the last reply listed; a `pick` record asks central to send the pack, now and at each new
version, through the reply path central's own packs take. Records are last-writer-wins by
an hlc from the roster's clock, so a replayed or older record changes nothing at central.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from content.blobstore import BlobStore
from content.errors import PackError
from hub.core.db import db, write_lock
from hub.core.errors import HubError
from hub.core.settings import Config
from hub.core.translate import gettext
from hub.hubsync.models import HubState
from hub.hubsync.shared_models import SharedListing, SharedOffer, SharedPick
from hub.library.models import Pack
from hub.library.pack_export import pack_zip
from sync.bundle import Bundle
from sync.hlc import COUNTER_BITS, wall_millis
from sync.records import SHARE_LICENSES

OWN_PREFIX = "own-"
MANIFEST_BUDGET = 800_000  # of the format's 1 MiB manifest
CHUNK = 64 * 1024


@dataclass
class Outgoing:
    """What the next bundle carries for sharing: records, the blob files, and the marks to
    set once the bundle is written."""

    records: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[str, Path] = field(default_factory=dict)
    offers: list[tuple[str, int, set[str]]] = field(default_factory=list)  # id, hlc, shas
    picks: list[tuple[str, int]] = field(default_factory=list)


def _refused(message: str, status: int = 400) -> HubError:
    return HubError(status, "not_shared", message)


def _stamp() -> int:
    """The next hlc from the roster's clock (it never goes back, whatever the wall clock)."""
    stamp = max(HubState.get_state().roster_hlc + 1, wall_millis() << COUNTER_BITS)
    HubState.put(roster_hlc=stamp)
    return stamp


def share(config: Config, pack_id: str) -> None:
    """Offer an installed own pack to other schools; HubError says why not."""
    pack = Pack.by_id(pack_id)
    taken = SharedPick.get_or_none(SharedPick.pack_id == pack_id) is not None
    if pack is None or not pack_id.startswith(OWN_PREFIX) or taken:
        # A pack picked from the catalog is another school's, whatever its id says.
        raise _refused(gettext("Only packs made on this hub can be shared."), 404)
    if pack.license not in SHARE_LICENSES:
        raise _refused(
            gettext(
                "The licence %(licence)s does not allow other schools to use this pack: choose "
                "CC BY, CC BY-SA or CC0 in its details first.",
                licence=pack.license or "?",
            )
        )
    if pack.size > config.shared_pack_max_bytes:
        raise _refused(
            gettext(
                "This pack is larger than %(mb)s MB, the most a shared pack may be.",
                mb=config.shared_pack_max_bytes // 1024**2,
            )
        )
    with write_lock, db.atomic():
        stamp = _stamp()
        values = {"version": pack.version, "hlc": stamp, "withdrawn": 0, "status": ""}
        if SharedOffer.get_or_none(SharedOffer.pack_id == pack_id) is None:
            SharedOffer.create(pack_id=pack_id, **values)
        else:
            SharedOffer.update(reason="", **values).where(SharedOffer.pack_id == pack_id).execute()


def withdraw(pack_id: str) -> None:
    """Take a pack out of the catalog; hubs that have it keep their copy."""
    with write_lock, db.atomic():
        offer = SharedOffer.get_or_none(SharedOffer.pack_id == pack_id)
        if offer is None or offer.withdrawn:
            return
        SharedOffer.update(withdrawn=1, hlc=_stamp(), status="").where(
            SharedOffer.pack_id == pack_id
        ).execute()


def pick(pack_id: str, wanted: bool = True) -> None:
    """Ask central for a catalog pack (or no longer); HubError for a pack not listed."""
    if wanted and SharedListing.get_or_none(SharedListing.pack_id == pack_id) is None:
        raise _refused(gettext("This pack is not in the shared catalog."), 404)
    with write_lock, db.atomic():
        values = {"hlc": _stamp(), "deleted": int(not wanted), "status": ""}
        if SharedPick.get_or_none(SharedPick.pack_id == pack_id) is None:
            SharedPick.create(pack_id=pack_id, **values)
        else:
            SharedPick.update(**values).where(SharedPick.pack_id == pack_id).execute()


# --- into a bundle ---------------------------------------------------------------------


def outgoing(hub_id: str, store: BlobStore) -> list[Outgoing]:
    """What the next bundles carry (inside the sync lock): picks and withdrawals in the
    first, and offers grouped so that no manifest passes its budget of chunk hashes."""
    _follow_new_versions()
    out = Outgoing()
    groups = [out]
    for offer in SharedOffer.to_send():
        if out.offers and _cost(out) > MANIFEST_BUDGET // 2:
            out = Outgoing()
            groups.append(out)
        _add_offer(out, offer, hub_id, store)
    first = groups[0]
    for chosen in SharedPick.to_send():
        first.records.append(
            {
                "t": "pick",
                "pack_id": chosen.pack_id,
                "hlc": chosen.hlc,
                "origin": hub_id,
                "deleted": bool(chosen.deleted),
            }
        )
        first.picks.append((chosen.pack_id, chosen.hlc))
    return [group for group in groups if group.records]


def _cost(out: Outgoing) -> int:
    """Manifest bytes the blobs take: an entry each and a hash per 64 KiB (as replies)."""
    return sum(300 + 67 * -(-blob.stat().st_size // CHUNK) for blob in out.blobs.values())


def _follow_new_versions() -> None:
    """A shared pack republished at another version is offered again."""
    for offer in SharedOffer.select().where(SharedOffer.withdrawn == 0):
        pack = Pack.by_id(offer.pack_id)
        if pack is not None and pack.version != offer.version:
            with write_lock, db.atomic():
                SharedOffer.update(version=pack.version, hlc=_stamp(), status="").where(
                    SharedOffer.pack_id == offer.pack_id
                ).execute()


def _add_offer(out: Outgoing, offer: SharedOffer, hub_id: str, store: BlobStore) -> None:
    record: dict[str, Any] = {
        "t": "offer",
        "pack_id": offer.pack_id,
        "version": offer.version,
        "hlc": offer.hlc,
        "origin": hub_id,
        "withdrawn": bool(offer.withdrawn),
    }
    shas: set[str] = set()
    if offer.withdrawn:
        record |= {"author": "", "license": SHARE_LICENSES[0], "manifest": {}, "files": {}}
    else:
        try:
            packed = pack_zip(store, offer.pack_id)
        except PackError:
            return  # removed from the library since: nothing to send until shared again
        manifest = packed.manifest
        files = {path: blob.name for path, blob, _ in packed.files}
        record |= {
            "author": str(manifest.get("author") or ""),
            "license": manifest.get("license", ""),
            "manifest": manifest,
            "files": files,
        }
        sent = offer.sent_shas()
        for _, blob, _ in packed.files:
            shas.add(blob.name)
            if blob.name not in sent:
                out.blobs[blob.name] = blob
    out.records.append(record)
    out.offers.append((offer.pack_id, offer.hlc, shas))


def mark_sent(out: Outgoing) -> None:
    """The bundle holding `out` is written (it stays in the outbox until receipted)."""
    for pack_id, hlc, shas in out.offers:
        offer = SharedOffer.get_by_id(pack_id)
        known = sorted(offer.sent_shas() | shas)
        status = "sent" if offer.hlc == hlc else offer.status
        SharedOffer.update(sent_hlc=hlc, sent_files=json.dumps(known), status=status).where(
            SharedOffer.pack_id == pack_id
        ).execute()
    for pack_id, hlc in out.picks:
        SharedPick.update(sent_hlc=hlc).where(SharedPick.pack_id == pack_id).execute()


# --- from a reply ----------------------------------------------------------------------


def take_reply(bundle: Bundle) -> None:
    """The catalog and central's word on this hub's offers and picks (inside the reply's
    transaction; records already checked by read_bundle)."""
    catalogs = bundle.parts_of_type("catalog")
    if catalogs:
        SharedListing.delete().execute()
        for entry in catalogs:
            for record in bundle.records(entry["name"]):
                SharedListing.replace(
                    pack_id=record["pack_id"], title=record["title"], record=json.dumps(record)
                ).execute()
    for entry in bundle.parts_of_type("offers"):
        for record in bundle.records(entry["name"]):
            _take_status(record)


def _take_status(record: dict[str, Any]) -> None:
    if record["t"] == "pick":
        SharedPick.update(status=record["status"]).where(
            SharedPick.pack_id == record["pack_id"]
        ).execute()
        return
    offer = SharedOffer.get_or_none(SharedOffer.pack_id == record["pack_id"])
    if offer is None or offer.version != record["version"] or offer.hlc > offer.sent_hlc:
        return  # the coach changed it since: central's word is about an older offer
    values: dict[str, Any] = {
        key: record[key]
        for key in ("status", "reason", "hubs", "learners", "completion", "mastery")
    }
    if record["status"] == "missing":
        # Central lacks files it was sent (a lost bundle, a reset central): send them all.
        values |= {"sent_files": "[]", "hlc": _stamp(), "status": ""}
    SharedOffer.update(**values).where(SharedOffer.pack_id == offer.pack_id).execute()


# --- for the pages ---------------------------------------------------------------------


def own_packs() -> list[tuple[Pack, SharedOffer | None]]:
    offers = {offer.pack_id: offer for offer in SharedOffer.select()}
    packs = Pack.select().where(Pack.id.startswith(OWN_PREFIX)).order_by(Pack.title)
    return [(pack, offers.get(pack.id)) for pack in packs]


def catalog() -> list[dict[str, Any]]:
    """The catalog as of the last sync, each with what this hub has of it."""
    installed = {pack.id: pack.version for pack in Pack.select(Pack.id, Pack.version)}
    picks = SharedPick.wanted()
    shown = []
    for record in SharedListing.all():
        chosen = picks.get(record["pack_id"])
        shown.append(
            {
                **record,
                "installed": installed.get(record["pack_id"]),
                "picked": chosen is not None,
                "pick_sent": chosen is not None and chosen.sent_hlc >= chosen.hlc,
            }
        )
    return shown
