"""What central keeps aside instead of applying: the items a hub had no right to send, with
the hub, the kind and the reason, for central staff to see (dashboard, `status`)."""

from __future__ import annotations

import json
from typing import Any

from sync.central.db import execute
from sync.central.models import now_ms

# Never kept, even aside: a PIN hash is for signing in, not for staff to read.
SECRET_FIELDS = ("pin_hash", "pin_sealed")
# A hub that keeps sending what it may not cannot fill central's disk: only its newest items
# are kept aside (staff need to see that it happens and what, not every copy).
KEEP_PER_HUB = 10_000


def hold(
    hub_id: str, bundle_id: str, kind: str, uid: str, reason: str, record: Any, ref: str = ""
) -> None:
    """Keep one item aside, once per bundle (the same bundle applied again adds nothing)."""
    if isinstance(record, dict):
        record = {k: v for k, v in record.items() if k not in SECRET_FIELDS}
    execute(
        "INSERT INTO quarantine_item (hub_id, bundle_id, kind, uid, ref, reason, record,"
        " received) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            hub_id,
            bundle_id,
            kind,
            uid,
            ref,
            reason,
            json.dumps(record, sort_keys=True, ensure_ascii=False),
            now_ms(),
        ),
    )


def prune(hub_id: str, keep: int = KEEP_PER_HUB) -> None:
    """Drop all but the hub's `keep` newest items (once per bundle, after it is applied)."""
    execute(
        "DELETE FROM quarantine_item WHERE hub_id = ? AND id <= (SELECT id FROM quarantine_item"
        " WHERE hub_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
        (hub_id, hub_id, keep),
    )
