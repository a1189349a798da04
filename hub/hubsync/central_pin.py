"""Which central this hub trusts, and whether its operator has confirmed that key.

Over plain HTTP, the first contact is the weak point: whoever answers first could be pinned.
The hub still pins central's key on first contact (a school with no USB link to the district
must be able to start), but shows it as *not confirmed* with its fingerprint until the
operator either pins the key from central's identity file (`learnhub sync pin FILE`, carried
on a USB stick) or compares the fingerprint with the one central shows and confirms it
(`learnhub sync confirm`, or the button on Admin -> Sync). Once a key is kept, a server that
presents another one is refused before anything is sent.

The confirmation is a small file holding the fingerprint the operator confirmed: it confirms
that key and no other, so a key replaced later (or a database restored from an older copy)
shows as not confirmed again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content.durable import write_text
from hub.core.db import connected
from hub.core.translate import gettext
from hub.hubsync.service import SyncError, SyncService, central_key
from sync.fingerprint import fingerprint, same_fingerprint
from sync.identity import IdentityError, parse_identity

log = logging.getLogger(__name__)

CONFIRMED_FILE = "central_confirmed"
MAX_IDENTITY_BYTES = 64 * 1024  # an identity is a few hundred bytes; a stick may hold anything


@dataclass(frozen=True)
class CentralTrust:
    fingerprint: str | None  # of the key this hub keeps (None: it keeps none yet)
    confirmed: bool

    def as_json(self) -> dict[str, Any]:
        return {"central_fingerprint": self.fingerprint, "central_confirmed": self.confirmed}


def trust_of(service: SyncService) -> CentralTrust:
    key = _pinned_key()
    if key is None:
        return CentralTrust(None, False)
    shown = fingerprint(key)
    return CentralTrust(shown, _confirmed_fingerprint(service) == shown)


def pin_file(service: SyncService, path: Path) -> tuple[str, str]:
    """Pin central's identity from a file carried by hand (confirmed: it did not cross the
    network). Returns (central's name, fingerprint)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_IDENTITY_BYTES + 1)
        doc = json.loads(data) if len(data) <= MAX_IDENTITY_BYTES else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        raise SyncError(gettext("%(file)s is not a JSON identity document.", file=path))
    _, public_key, name = parse_identity(doc)
    service.pin_central(public_key, _central_id(doc))
    shown = fingerprint(public_key)
    _confirm(service, shown)
    return name, shown


def confirm(service: SyncService, typed: str) -> str:
    """The operator read `typed` on central's side: confirm the kept key if it matches."""
    trust = trust_of(service)
    if trust.fingerprint is None:
        raise SyncError(
            gettext(
                "This hub does not know central's key yet: sync once over the network, or "
                "pin central's identity file with `learnhub sync pin FILE`."
            )
        )
    if not same_fingerprint(typed, trust.fingerprint):
        raise SyncError(
            gettext(
                "%(typed)s is not the fingerprint of the key this hub keeps (%(kept)s); "
                "nothing was confirmed. If central shows another fingerprint, this hub met "
                "another server: pin central's identity file with `learnhub sync pin FILE`.",
                typed=typed.strip()[:64] or '""',
                kept=trust.fingerprint,
            )
        )
    _confirm(service, trust.fingerprint)
    return trust.fingerprint


def check_presented(service: SyncService, doc: Any, url: str) -> bytes:
    """The key a server at `url` presents (its identity `doc`), checked against the kept
    one; on first contact it is kept, not confirmed."""
    try:
        _, public_key, _ = parse_identity(doc)
    except IdentityError as err:
        raise SyncError(f"Central's identity is not usable: {err}") from None
    kept = _pinned_key()
    if kept is not None and kept != public_key:
        raise SyncError(
            gettext(
                "The server at %(url)s presents another key (fingerprint %(theirs)s) than the "
                "central this hub trusts (%(ours)s), so nothing was sent. If central's key "
                "really changed, pin its new identity file with `learnhub sync pin FILE`.",
                url=url,
                theirs=fingerprint(public_key),
                ours=fingerprint(kept),
            )
        )
    if kept is None:
        service.pin_central(public_key, _central_id(doc), url)
        log.warning(
            "sync: first contact with %s; its key %s is kept but not confirmed: compare it "
            "with the fingerprint central shows",
            url,
            fingerprint(public_key),
        )
    return public_key


def _pinned_key() -> bytes | None:
    with connected():
        return central_key()


def _central_id(doc: dict[str, Any]) -> str | None:
    central_id = doc.get("central_id")
    return central_id if isinstance(central_id, str) else None


def _confirmed_path(service: SyncService) -> Path:
    return service.config.data_dir / "sync" / CONFIRMED_FILE


def _confirmed_fingerprint(service: SyncService) -> str | None:
    try:
        return _confirmed_path(service).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _confirm(service: SyncService, shown: str) -> None:
    path = _confirmed_path(service)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, shown + "\n")
