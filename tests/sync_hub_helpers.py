"""Helpers for the hub-side sync tests: a hub with its sync service, events and learners, and
replies from a stand-in central (its own key pair; bundles written with sync.bundle)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from flask import Flask

from hub.core.db import connected
from hub.hubsync.service import SyncService
from hub.people.models import Learner
from hub.people.roster import add_learner
from sync.bundle import PartSpec, bundle_name, read_bundle, write_bundle
from sync.hlc import wall_millis
from sync.identity import KeyPair, hub_id_of
from sync.receipts import sign_receipt
from sync.records import roster_record


def new_keys() -> KeyPair:
    return KeyPair(os.urandom(32))


def central_id(keys: KeyPair) -> str:
    return f"central-{hub_id_of(keys.public_key)}"


def service_of(app: Flask) -> SyncService:
    return SyncService(app.config["LEARNHUB"], app.extensions["keys"], app.extensions["library"])


def learner(name: str = "Amina Juma") -> Learner:
    with connected():
        return add_learner(name)


def record(app: Flask, who: Learner, count: int, lesson: str = "halves") -> None:
    events = app.extensions["events"]
    with connected():
        for n in range(count):
            events.record(who.id, "fractions-en", lesson, "progress", {"progress": n / 10})


def events_of(path: Path, keys: KeyPair) -> list[Any]:
    return list(read_bundle(path, keys.public_key).events())


def manifest_of(path: Path, keys: KeyPair) -> dict[str, Any]:
    return read_bundle(path, keys.public_key).manifest


def receipt(hub_id: str, epoch: str, high_water: int, bundles: list[str] = ()) -> dict:
    return {"hub_id": hub_id, "epoch": epoch, "high_water": high_water, "bundles": list(bundles)}


def write_reply(
    folder: Path,
    central: KeyPair,
    hub_id: str,
    epoch: str,
    *,
    receipts: list[dict[str, Any]] = (),
    roster: list[dict[str, Any]] = (),
    packs: list[dict[str, Any]] = (),
    blobs: list[bytes] = (),
    created: int | None = None,
) -> Path:
    """A reply bundle from `central` to the hub, the way central writes one."""
    header = {
        "kind": "reply",
        "sender": central_id(central),
        "recipient": hub_id,
        "hub_id": hub_id,
        "epoch": epoch,
        "seq": None,
        "hlc": None,
        "previous": None,
        "created": created or wall_millis(),
    }
    parts = [
        PartSpec(f"receipt-{n}", "receipt", records=[sign_receipt(central, r)])
        for n, r in enumerate(receipts)
    ]
    if roster:
        parts.append(PartSpec("roster", "roster", records=list(roster)))
    if packs:
        parts.append(PartSpec("packs", "packs", records=list(packs)))
    parts += [PartSpec("", "blob", data=blob) for blob in blobs]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / bundle_name(header)
    write_bundle(path, central, header, parts)
    return path


def central_record(kind: str, uid: str, hlc: int, **fields: Any) -> dict[str, Any]:
    return roster_record(kind, uid, hlc, "central", fields.pop("deleted", False), **fields)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
