"""Who may change what: a hub speaks for the learners and classes it made, and for those
central sends it (staff chose to share them); it adds progress only for learners it holds.

A record's owner is whoever wrote its first version central saw (the `owner` column). A
learner central has never seen a record of is nobody's yet: its hub's roster may still be on
the way (bundles arrive in any order), so progress for it is taken.
"""

from __future__ import annotations

from collections.abc import Iterable

from sync.central.db import execute
from sync.central.models import Roster

_TARGETED_CLASSES = "SELECT uid FROM roster_target WHERE hub_id = ? AND kind = 'class'"


def sent_to(kind: str, uid: str, hub_id: str) -> bool:
    """Whether central sends this record to the hub (itself, or through a class)."""
    if execute(
        "SELECT 1 FROM roster_target WHERE kind = ? AND uid = ? AND hub_id = ?",
        (kind, uid, hub_id),
    ).fetchone():
        return True
    if kind == "learner":
        return bool(
            execute(
                "SELECT 1 FROM roster WHERE kind = 'member' AND deleted = 0 AND learner_uid = ?"
                f" AND class_uid IN ({_TARGETED_CLASSES})",
                (uid, hub_id),
            ).fetchone()
        )
    return False


def may_change(row: Roster, hub_id: str) -> bool:
    return row.owner == hub_id or sent_to(row.kind, row.uid, hub_id)


def foreign_learners(learner_uids: Iterable[str], hub_id: str) -> dict[str, str]:
    """{learner uid: its owner} for the learners among `learner_uids` that belong to someone
    else and that central does not send to `hub_id`."""
    uids = sorted(set(learner_uids))
    found: dict[str, str] = {}
    for start in range(0, len(uids), 500):  # under every database's parameter limit
        batch = uids[start : start + 500]
        rows = execute(
            "SELECT uid, owner FROM roster WHERE kind = 'learner' AND owner <> ?"
            f" AND uid IN ({', '.join('?' * len(batch))})",
            (hub_id, *batch),
        ).fetchall()
        found.update({uid: owner for uid, owner in rows if not sent_to("learner", uid, hub_id)})
    return found
