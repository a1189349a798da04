"""The central server as one object: its data dir, key, database, library and replies.

`Central.open(data_dir, url)` is what the CLI and the web face start from. An exchange is:
apply a hub's bundle (or every bundle on a USB stick), then write the reply for that hub.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peewee import fn

from sync.bundle import SUFFIX, BundleError, bundles_in, peek
from sync.central.apply import Applied, apply_bundle
from sync.central.db import central_db, connected, is_postgres, open_central, scalar
from sync.central.errors import CentralError
from sync.central.library import CentralLibrary
from sync.central.migrations import migrate
from sync.central.models import (
    APPROVED,
    PENDING,
    REVOKED,
    Hub,
    Quarantine,
    QuarantineItem,
    Reply,
    now_ms,
)
from sync.central.replies import Replier, ReplyFile
from sync.central.zims import CentralZims
from sync.identity import KeyPair, load_or_create, public_identity
from sync.outcomes import Term
from sync.records import RecordError

# Errors whose str() is the one sentence to show; anything else is a bug.
REFUSALS = (CentralError, BundleError, RecordError)
KEEP_REPLIES = 3


@dataclass
class Outcome:
    """One bundle found by an import: applied (with its reply) or refused with a sentence."""

    path: Path
    applied: Applied | None = None
    error: str | None = None


@dataclass
class Central:
    data_dir: Path
    keys: KeyPair
    library: CentralLibrary
    # The school terms outcomes are counted by (sync.outcomes.parse_terms of the central_terms
    # setting, which the face that opens central reads); none: calendar quarters.
    terms: list[Term] = field(default_factory=list)

    @classmethod
    def open(cls, data_dir: Path, url: str | None = None) -> Central:
        """Create what is missing (dir, key, schema) and bind the database."""
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "keys").mkdir(mode=0o700, exist_ok=True)
        keys = load_or_create(data_dir / "keys")
        open_central(url, data_dir)
        with connected():
            migrate()
        return cls(data_dir, keys, CentralLibrary(data_dir))

    @property
    def central_id(self) -> str:
        return f"central-{self.keys.hub_id}"

    @property
    def replies_dir(self) -> Path:
        return self.data_dir / "replies"

    @property
    def zims(self) -> CentralZims:
        return CentralZims(self.data_dir)

    @property
    def replier(self) -> Replier:
        return Replier(self.keys, self.central_id, self.library, self.zims, self.terms)

    def identity(self) -> dict[str, Any]:
        """Central's public identity: what a hub pins to verify replies and receipts."""
        identity = public_identity(self.keys, "Learning Hub central")
        return {**identity, "central_id": self.central_id}

    def apply(self, path: Path) -> Applied:
        return apply_bundle(path, self.central_id, self.keys, self.library.store)

    def exchange(self, path: Path) -> tuple[Applied, list[ReplyFile]]:
        """Apply one uploaded bundle and write the reply (HTTP: kept under replies/)."""
        applied = self.apply(path)
        written = self.replier.write(applied.hub_id, self.replies_dir, [applied])
        self.prune_replies(applied.hub_id)
        return applied, written

    def prune_replies(self, hub_id: str, keep: int = KEEP_REPLIES) -> int:
        """Delete a hub's older reply files under replies/ (a reply may carry packs, and each
        exchange writes a new one): the newest `keep` stay, and any less than an hour old.
        The rows stay, so an "acked" reply id is still understood."""
        fresh = now_ms() - 3600 * 1000
        removed = 0
        query = Reply.select().where(Reply.hub_id == hub_id).order_by(Reply.created.desc())
        for reply in list(query)[keep:]:
            path = Path(reply.file)
            if reply.created < fresh and path.parent == self.replies_dir and path.exists():
                path.unlink()
                removed += 1
        return removed

    def import_path(self, path: Path) -> tuple[list[Outcome], list[ReplyFile]]:
        """Apply every hub bundle found at `path` (a file, a folder, or a stick holding
        learnhub-sync/), then write each hub's reply next to that hub's bundles."""
        outcomes = [self._import_one(found) for found in find_bundles(path)]
        folders: dict[str, Path] = {}
        done: dict[str, list[Applied]] = defaultdict(list)
        for outcome in outcomes:
            if outcome.applied:
                folders[outcome.applied.hub_id] = outcome.path.parent
                done[outcome.applied.hub_id].append(outcome.applied)
        replies = []
        for hub_id, applied in done.items():
            written = self.replier.write(hub_id, folders[hub_id], applied)
            _remove_older_replies(folders[hub_id], hub_id, self.central_id, written)
            replies += written
        return outcomes, replies

    def _import_one(self, path: Path) -> Outcome:
        try:
            return Outcome(path, applied=self.apply(path))
        except REFUSALS as err:
            return Outcome(path, error=str(err))

    def status(self) -> dict[str, Any]:
        rows = Hub.select(Hub.status, fn.COUNT(Hub.hub_id).alias("n")).group_by(Hub.status)
        counts: dict[str, int] = {row.status: row.n for row in rows}
        held = QuarantineItem.counts()
        return {
            "hubs": counts.get(APPROVED, 0),
            "hubs_pending": counts.get(PENDING, 0),
            "hubs_revoked": counts.get(REVOKED, 0),
            "events": int(scalar("SELECT COALESCE(SUM(events), 0) FROM hub")),
            "learners": int(
                scalar(
                    "SELECT COUNT(*) FROM (SELECT learner_uid FROM learner_hub UNION"
                    " SELECT uid FROM roster WHERE kind = 'learner' AND deleted = 0) AS known"
                )
            ),
            "progress_rows": int(scalar("SELECT COUNT(*) FROM progress")),
            # Conflicting copies of events, and what hubs had no right to send, by kind.
            "quarantined": Quarantine.select().count() + sum(held.values()),
            "quarantined_by_kind": {"event_conflict": Quarantine.select().count(), **held},
            "packs": len(self.library.releases()),
            "zims": len(self.zims.releases()),
            "central_id": self.central_id,
            "database": "postgresql" if is_postgres() else "sqlite",
        }

    def close(self) -> None:
        if not central_db.is_closed():
            central_db.close()


def find_bundles(path: Path) -> list[Path]:
    """Bundles addressed to central at `path`: the file itself, or the .lhb files in a folder
    and in its learnhub-sync/ (a USB stick's layout); replies central wrote are skipped."""
    if not path.exists():
        raise CentralError(f"{path} is neither a bundle file nor a folder.")
    return [found for found in bundles_in(path) if not _is_reply(found)]


def _is_reply(path: Path) -> bool:
    try:
        return peek(path)["kind"] == "reply"
    except BundleError:
        return False  # unreadable: apply_bundle says why, in the import's report


def _remove_older_replies(
    folder: Path, hub_id: str, central_id: str, keep: list[ReplyFile]
) -> None:
    """A new reply supersedes older ones for the same hub (the receipts in it are newer and
    nothing acknowledged was dropped), so a stick carries one current reply per hub."""
    kept = {reply.path for reply in keep}
    for candidate in folder.glob(f"{central_id}-to-{hub_id}-*{SUFFIX}"):
        if candidate in kept:
            continue
        try:
            manifest = peek(candidate)
        except BundleError:
            continue
        if manifest["sender"] == central_id and manifest["recipient"] == hub_id:
            candidate.unlink(missing_ok=True)
