"""Packs teachers share through central (issue #18 part 1).

A hub offers one of its own packs in a `shared` part of its bundle, with the files central
lacks as blobs; central keeps the offer (one per hub and pack, the newest by hlc) for staff
to accept or decline. An accepted version becomes a PackRelease, so every hub that picked
the pack (a `pick` record, turned into a PackTarget) receives it, and each later accepted
version, through the same reply path as central's own packs. Replies tell each hub the
catalog and what became of its offers, with how its packs are used: aggregated over every
hub's progress, hidden below MIN_LEARNERS learners.

Hostile records are kept aside in quarantine and change nothing: another hub's origin, a
pack that is not the hub's own (`own-` ids), one it does not hold at that version, a
pack.json that disagrees with its record. A pack id another school already shares, a pack
over MAX_SHARED_BYTES, or files central lacks end as a status the hub is told.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from content.blobstore import BlobStore
from content.errors import PackError
from sync.bounds import latest_hlc
from sync.bundle import Bundle
from sync.central import quarantine
from sync.central.db import execute, writing
from sync.central.errors import CentralError
from sync.central.library import CentralLibrary
from sync.central.models import (
    APPROVED,
    Hub,
    PackRelease,
    PackTarget,
    SharedOffer,
    SharedPick,
    now_ms,
)

OWN_PREFIX = "own-"  # the ids hubs give the packs their teachers make (hub/library/drafts)
MAX_SHARED_BYTES = 512 * 1024 * 1024  # one shared pack's files: a teacher's lessons, not a library
MIN_LEARNERS = 5  # usage of fewer learners is not shown
MAX_CATALOG = 5_000  # packs a reply lists
MAX_REASON = 2_000
_ANSWERED = ("pending", "accepted", "declined")  # states a re-sent version leaves alone


def apply_shared(bundle: Bundle, hub: Hub, store: BlobStore) -> int:
    """Take a hub bundle's shared records, inside its apply transaction; returns how many
    were kept aside."""
    held = 0
    if bundle.manifest.get("reads_shared") is True and not hub.reads_shared:
        Hub.update(reads_shared=1).where(Hub.hub_id == hub.hub_id).execute()
    have = bundle.manifest.get("have", {})
    for entry in bundle.parts_of_type("shared"):
        for record in bundle.records(entry["name"]):
            problem = _record_problem(record, hub.hub_id, have)
            if problem:
                shown = {k: v for k, v in record.items() if k not in ("manifest", "files")}
                ref = f"{record['t']}:{record['hlc']}"
                quarantine.hold(
                    hub.hub_id, bundle.bundle_id, "shared", record["pack_id"], problem, shown, ref
                )
                held += 1
            elif record["t"] == "offer":
                _take_offer(bundle, hub, record, store)
            else:
                _take_pick(hub.hub_id, record)
    return held


def _record_problem(record: dict[str, Any], hub_id: str, have: dict[str, str]) -> str | None:
    if record["origin"] != hub_id:
        return f"a shared record signed by this hub names {record['origin']} as its origin"
    if record["hlc"] > latest_hlc(now_ms()):
        return "its hlc is more than a day ahead of central's clock"
    if record["t"] == "pick" or record["withdrawn"]:
        return None
    pack_id, version = record["pack_id"], record["version"]
    if not pack_id.startswith(OWN_PREFIX):
        return f"pack {pack_id} is not one of the hub's own packs"
    if have.get(pack_id) != version:
        return f"the hub offers pack {pack_id} {version}, which it does not hold"
    manifest = record["manifest"]
    if manifest.get("id") != pack_id or manifest.get("version") != version:
        return f"the pack.json offered as {pack_id} {version} is another pack's"
    if manifest.get("license") != record["license"]:
        return f"pack {pack_id}'s licence is not the one its pack.json gives"
    if (manifest.get("author") or "") != record["author"]:
        return f"pack {pack_id}'s author is not the one its pack.json gives"
    return None


def _take_offer(bundle: Bundle, hub: Hub, record: dict[str, Any], store: BlobStore) -> None:
    old = SharedOffer.of(hub.hub_id, record["pack_id"])
    if old is not None and record["hlc"] <= old.hlc:
        return  # a replay, or older than what is held
    if record["withdrawn"]:
        if old is not None:
            _withdraw(old, record["hlc"])
        return
    if old is not None and old.version == record["version"] and old.status in _ANSWERED:
        # The same version again (a declined pack re-sent): staff's answer stands. Shared
        # again after its school withdrew it, it waits for review like a new offer.
        SharedOffer.update(hlc=record["hlc"]).where(_key(old)).execute()
        return
    status, reason, files = _judge(bundle, hub, record, store)
    manifest = record["manifest"]
    values = {
        "version": record["version"],
        "hlc": record["hlc"],
        "author": record["author"],
        "license": record["license"],
        "title": str(manifest.get("title", ""))[:300],
        "language": str(manifest.get("language", ""))[:35],
        "description": str(manifest.get("description", ""))[:20_000],
        "pack_json": json.dumps(manifest, sort_keys=True, ensure_ascii=False),
        "files": json.dumps(files, sort_keys=True),
        "size": sum(size for _, size in files.values()),
        "status": status,
        "reason": reason,
        "received": now_ms(),
        "reviewed_at": None,
        "reviewed_by": "",
    }
    if old is None:
        SharedOffer.create(hub_id=hub.hub_id, pack_id=record["pack_id"], **values)
    else:
        SharedOffer.update(**values).where(_key(old)).execute()


def _judge(
    bundle: Bundle, hub: Hub, record: dict[str, Any], store: BlobStore
) -> tuple[str, str, dict[str, list[Any]]]:
    """(status, reason, {path: [sha, size]}); blobs are stored only for a pending offer."""
    pack_id = record["pack_id"]
    carried = {e["name"]: e["size"] for e in bundle.parts_of_type("blob")}
    files: dict[str, list[Any]] = {}
    missing = []
    for path, sha in record["files"].items():
        if sha in carried:
            files[path] = [sha, carried[sha]]
        elif store.has(sha):
            files[path] = [sha, store.path(sha).stat().st_size]
        else:
            missing.append(path)
    if _taken_elsewhere(pack_id, hub.hub_id):
        return "declined", _taken_reason(pack_id), files
    if missing:
        return "missing", f"central lacks {len(missing)} of its files; they go again", files
    if sum(size for _, size in files.values()) > MAX_SHARED_BYTES:
        return "declined", f"it is larger than {MAX_SHARED_BYTES // 1024**2} MB", files
    _store_blobs(bundle, store, {sha for sha, _ in files.values() if sha in carried})
    return "pending", "", files


def _taken_elsewhere(pack_id: str, hub_id: str) -> bool:
    """Another school offers this id, or central publishes a pack of that id itself. An
    offer declined and never accepted holds no id: else a copycat's declined offer would
    decline each new version of the author's pack."""
    others = SharedOffer.select().where(
        SharedOffer.pack_id == pack_id,
        SharedOffer.hub_id != hub_id,
        (SharedOffer.status != "declined") | SharedOffer.accepted_version.is_null(False),
    )
    if others.exists():
        return True
    mine = SharedOffer.of(hub_id, pack_id)
    released = PackRelease.select().where(PackRelease.pack_id == pack_id).exists()
    return released and (mine is None or mine.accepted_version is None)


def _taken_reason(pack_id: str) -> str:
    return f"another pack already has the id {pack_id}: copy it under another title to share it"


def _store_blobs(bundle: Bundle, store: BlobStore, shas: set[str]) -> None:
    store.root.mkdir(parents=True, exist_ok=True)
    for sha in shas:
        if store.has(sha):
            continue
        # Beside the store, so the move into it is a rename on one file system.
        temp = store.root / f".shared-{secrets.token_hex(8)}.tmp"
        try:
            bundle.save_blob(sha, temp)
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
            store.put(temp, sha)
        finally:
            temp.unlink(missing_ok=True)


def _withdraw(offer: SharedOffer, hlc: int) -> None:
    """The author takes the pack back: out of the catalog, no more copies sent. Hubs that
    have it keep it; its id stays the author's."""
    SharedOffer.update(status="withdrawn", hlc=hlc, reason="").where(_key(offer)).execute()
    PackTarget.delete().where(
        PackTarget.pack_id == offer.pack_id, PackTarget.hub_id != offer.hub_id
    ).execute()


def _take_pick(hub_id: str, record: dict[str, Any]) -> None:
    pack_id = record["pack_id"]
    old = SharedPick.get_or_none(SharedPick.hub_id == hub_id, SharedPick.pack_id == pack_id)
    if old is not None and record["hlc"] <= old.hlc:
        return
    values = {"hlc": record["hlc"], "deleted": int(record["deleted"])}
    if old is None:
        SharedPick.create(hub_id=hub_id, pack_id=pack_id, **values)
    else:
        SharedPick.update(**values).where(
            SharedPick.hub_id == hub_id, SharedPick.pack_id == pack_id
        ).execute()
    target = (PackTarget.pack_id == pack_id) & (PackTarget.hub_id == hub_id)
    if record["deleted"]:
        PackTarget.delete().where(target).execute()
    elif _listed(pack_id) is not None:
        PackTarget.insert(
            pack_id=pack_id, hub_id=hub_id, assigned_at=now_ms()
        ).on_conflict_ignore().execute()


def _listed(pack_id: str) -> SharedOffer | None:
    return SharedOffer.get_or_none(
        SharedOffer.pack_id == pack_id,
        SharedOffer.accepted_version.is_null(False),
        SharedOffer.status != "withdrawn",
    )


def _key(offer: SharedOffer) -> Any:
    return (SharedOffer.hub_id == offer.hub_id) & (SharedOffer.pack_id == offer.pack_id)


# --- review by central staff -----------------------------------------------------------


def pending() -> list[SharedOffer]:
    query = SharedOffer.select().where(SharedOffer.status == "pending")
    return list(query.order_by(SharedOffer.received))


def offers() -> list[SharedOffer]:
    return list(SharedOffer.select().order_by(SharedOffer.status, SharedOffer.title))


def accept(library: CentralLibrary, pack_id: str, staff: str, hub_id: str | None = None) -> str:
    """Publish the pending version as a pack central sends; returns the version. The pack
    is checked whole, like any pack central adds."""
    offer = _pending_offer(pack_id, hub_id)
    folder = library.staging / f"shared-{secrets.token_hex(8)}"
    try:
        _rebuild(library, offer, folder)
        library.add(folder)
    except PackError as err:
        raise CentralError(f"Pack {pack_id} cannot be accepted: {err}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    with writing():
        SharedOffer.update(
            status="accepted",
            reason="",
            accepted_version=offer.version,
            reviewed_at=now_ms(),
            reviewed_by=staff,
        ).where(_key(offer), SharedOffer.version == offer.version).execute()
        # The author's hub has it already; assigning it keeps its copy in step. Hubs that
        # picked it before it was withdrawn get it again now it is shared again.
        picked = SharedPick.select(SharedPick.hub_id).where(
            SharedPick.pack_id == pack_id, SharedPick.deleted == 0
        )
        for hub_id in {offer.hub_id, *(pick.hub_id for pick in picked)}:
            PackTarget.insert(
                pack_id=pack_id, hub_id=hub_id, assigned_at=now_ms()
            ).on_conflict_ignore().execute()
    return str(offer.version)


def decline(pack_id: str, reason: str, staff: str, hub_id: str | None = None) -> None:
    reason = " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:
        raise CentralError(f"Give a reason of 1 to {MAX_REASON} characters; the school reads it.")
    offer = _pending_offer(pack_id, hub_id)
    with writing():
        SharedOffer.update(
            status="declined", reason=reason, reviewed_at=now_ms(), reviewed_by=staff
        ).where(_key(offer), SharedOffer.version == offer.version).execute()


def _pending_offer(pack_id: str, hub_id: str | None) -> SharedOffer:
    query = SharedOffer.select().where(
        SharedOffer.pack_id == pack_id, SharedOffer.status == "pending"
    )
    if hub_id:
        query = query.where(SharedOffer.hub_id == hub_id)
    found = list(query)
    if not found:
        raise CentralError(f"No shared pack {pack_id!r} waits for review.", status=404)
    if len(found) > 1:
        raise CentralError(f"Several hubs offer {pack_id!r}: name the hub.", status=409)
    return found[0]


def _rebuild(library: CentralLibrary, offer: SharedOffer, folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "pack.json").write_text(offer.pack_json, encoding="utf-8")
    for path, (sha, _) in offer.file_map().items():
        dest = folder / path
        if folder.resolve() not in dest.resolve().parents:
            raise PackError(f"its file {path!r} lies outside the pack")
        if not library.store.has(sha):
            raise PackError(f"central lacks its file {path}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(library.store.path(sha), dest)
        except OSError:
            shutil.copyfile(library.store.path(sha), dest)


# --- what replies tell hubs ------------------------------------------------------------


def catalog() -> list[dict[str, Any]]:
    hubs = {hub.hub_id: hub for hub in Hub.select()}
    users = _users(hubs.values())
    records = []
    for offer in SharedOffer.listed()[:MAX_CATALOG]:
        release = PackRelease.get_or_none(
            PackRelease.pack_id == offer.pack_id, PackRelease.version == offer.accepted_version
        )
        manifest = json.loads(release.pack_json) if release else {}
        school = hubs.get(offer.hub_id)
        records.append(
            {
                "pack_id": offer.pack_id,
                "version": offer.accepted_version,
                "title": str(manifest.get("title") or offer.title or offer.pack_id)[:300],
                "language": str(manifest.get("language", ""))[:35],
                "description": str(manifest.get("description", ""))[:2000],
                "author": offer.author,
                "school": school.name if school else "",
                "region": school.region if school else "",
                "license": offer.license,
                "size": release.size if release else offer.size,
                "hubs": users.get(offer.pack_id, 0),
            }
        )
    return records


def offer_status(hub_id: str) -> list[dict[str, Any]]:
    """What became of this hub's offers, with their use; and its picks that central can no
    longer send (withdrawn, or never in the catalog)."""
    users = _users(Hub.select().where(Hub.status == APPROVED))
    records = []
    for offer in SharedOffer.select().where(SharedOffer.hub_id == hub_id):
        usage = usage_of(offer) if offer.accepted_version else {}
        records.append(
            {
                "t": "offer",
                "pack_id": offer.pack_id,
                "version": offer.version,
                "status": offer.status,
                "reason": offer.reason,
                "hubs": users.get(offer.pack_id, 0) if offer.accepted_version else None,
                "learners": usage.get("learners"),
                "completion": usage.get("completion"),
                "mastery": usage.get("mastery"),
            }
        )
    picks = SharedPick.select().where(SharedPick.hub_id == hub_id, SharedPick.deleted == 0)
    for pick in picks:
        if _listed(pick.pack_id) is None:
            gone: dict[str, Any] = {"t": "pick", "pack_id": pick.pack_id, "version": ""}
            gone |= {"status": "withdrawn", "reason": "", "hubs": None, "learners": None}
            records.append(gone | {"completion": None, "mastery": None})
    return records


def usage_of(offer: SharedOffer) -> dict[str, Any]:
    """Learners who used the pack at any hub, the share of its lessons they completed, and
    the share of their answered exercises they mastered; None below MIN_LEARNERS."""
    row = execute(
        "SELECT COUNT(DISTINCT learner_uid), COALESCE(SUM(completed), 0),"
        " COALESCE(SUM(mastered), 0), COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0)"
        " FROM progress WHERE pack_id = ?",
        (offer.pack_id,),
    ).fetchone()
    learners, completed, mastered, tried = (int(value) for value in row)
    if learners < MIN_LEARNERS:
        return {"learners": None, "completion": None, "mastery": None}
    lessons = max(len(json.loads(offer.pack_json).get("lessons", [])), 1)
    return {
        "learners": learners,
        "completion": round(min(completed / (learners * lessons), 1.0), 4),
        "mastery": round(mastered / tried, 4) if tried else None,
    }


def _users(hubs: Any) -> dict[str, int]:
    """How many hubs said they have each pack installed."""
    counts: dict[str, int] = {}
    for hub in hubs:
        for pack_id in hub.installed():
            counts[pack_id] = counts.get(pack_id, 0) + 1
    return counts
