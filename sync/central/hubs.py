"""Enrolment: which hubs central knows, whether staff approved them, and who sent a bundle."""

from __future__ import annotations

import base64
from typing import Any

from sync.central.db import execute, writing
from sync.central.errors import CentralError
from sync.central.models import APPROVED, PENDING, REVOKED, Hub, now_ms
from sync.identity import parse_identity

# Join requests nobody approved yet are capped (the caller's `max_waiting`), so an open
# /api/sync/join cannot fill the table, and dropped after this age, so old junk cannot keep it
# full (a real hub asks again on its next sync).
PENDING_DAYS = 7


def enrol(identity: Any) -> Hub:
    """Approve a hub from its identity document (`learnhub central hubs add`). A revoked hub
    comes back only when staff enrol it again on purpose, which is what this is."""
    hub_id, public_key, name = parse_identity(identity)
    fields = {
        "name": name,
        "public_key": base64.b64encode(public_key).decode("ascii"),
        "status": APPROVED,
        "enrolled_at": now_ms(),
        "revoked_at": None,
    }
    with writing():
        if Hub.by_id(hub_id) is None:
            Hub.create(hub_id=hub_id, requested_at=now_ms(), **fields)
        else:
            Hub.update(**fields).where(Hub.hub_id == hub_id).execute()
    return known(hub_id)


def request_join(identity: Any, *, max_waiting: int) -> Hub:
    """A hub asks to join over HTTP: it waits, pending, until staff approve it (at most
    `max_waiting` hubs wait at once)."""
    hub_id, public_key, name = parse_identity(identity)
    key = base64.b64encode(public_key).decode("ascii")
    with writing():
        hub = Hub.by_id(hub_id)
        if hub is not None:
            return hub
        _drop_old_requests()
        if Hub.select().where(Hub.status == PENDING).count() >= max_waiting:
            raise CentralError(
                "Too many hubs are waiting for approval; ask central staff to review them.",
                status=503,
                code="too_many_pending",
            )
        return Hub.create(
            hub_id=hub_id, name=name, public_key=key, status=PENDING, requested_at=now_ms()
        )


def _drop_old_requests() -> None:
    """Forget join requests older than PENDING_DAYS that nothing refers to yet."""
    cutoff = now_ms() - PENDING_DAYS * 24 * 3600 * 1000
    execute(
        "DELETE FROM hub WHERE status = ? AND requested_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM roster_target t WHERE t.hub_id = hub.hub_id)"
        " AND NOT EXISTS (SELECT 1 FROM pack_target p WHERE p.hub_id = hub.hub_id)",
        (PENDING, cutoff),
    )


def set_status(hub_id: str, status: str) -> Hub:
    """Approve or revoke a known hub."""
    if status not in (APPROVED, REVOKED):
        raise CentralError(f"A hub can be approved or revoked, not {status!r}.")
    with writing():
        hub = known(hub_id)
        hub.status = status
        if status == APPROVED:
            hub.enrolled_at, hub.revoked_at = now_ms(), None
        else:
            hub.revoked_at = now_ms()
        hub.save()
    return hub


def known(hub_id: str) -> Hub:
    hub = Hub.by_id(hub_id)
    if hub is None:
        raise CentralError(f"No hub {hub_id!r} is enrolled here.", status=404, code="unknown_hub")
    return hub


def approved_sender(hub_id: str) -> Hub:
    """The hub a bundle says it comes from, if it may send: enrolled and approved."""
    hub = Hub.by_id(hub_id)
    if hub is None:
        raise CentralError(
            f"The bundle comes from hub {hub_id}, which is not enrolled here; "
            "enrol it with `learnhub central hubs add` or approve its join request.",
            status=403,
            code="unknown_hub",
        )
    if hub.status == REVOKED:
        raise CentralError(
            f"Hub {hub.name} ({hub_id}) was revoked, so its bundles are refused.",
            status=403,
            code="revoked_hub",
        )
    if hub.status == PENDING:
        raise CentralError(
            f"Hub {hub.name} ({hub_id}) is waiting for approval by central staff.",
            status=403,
            code="pending_hub",
        )
    return hub


def public_key_of(hub: Hub) -> bytes:
    return base64.b64decode(hub.public_key)
