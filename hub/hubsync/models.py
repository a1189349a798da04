"""The hub's sync tables (migration 4): its state, epochs, the bundles it sent, the receipts
central gave back and the log of roster changes, with the queries the sync service asks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from peewee import AutoField, CharField, IntegerField, TextField, fn

from hub.core.db import BaseModel, db


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class HubState(BaseModel):
    """One row: who this database is (token, epoch), who central is, and how sync went."""

    db_token = CharField(null=True)
    epoch = CharField(null=True)
    central_url = CharField(default="")
    central_id = CharField(null=True)
    central_key = CharField(null=True)  # base64 Ed25519 public key, pinned at enrolment
    previous_bundle = CharField(null=True)  # the last hub bundle's id: the chain's "previous"
    last_reply = CharField(null=True)  # the last reply applied: hub bundles say so ("acked")
    roster_hlc = IntegerField(default=0)
    applying = IntegerField(default=0)
    last_sync = CharField(null=True)
    last_attempt = CharField(null=True)
    last_error = TextField(default="")
    budget_day = CharField(default="")
    budget_bytes = IntegerField(default=0)

    @classmethod
    def get_state(cls) -> HubState:
        return cls.get_by_id(1)

    @classmethod
    def put(cls, **values: object) -> None:
        cls.update(**values).where(cls.id == 1).execute()

    @classmethod
    def observe_hlc(cls, hlc: int) -> None:
        """The next local roster change is stamped after `hlc` (a change seen from central)."""
        cls.update(roster_hlc=fn.MAX(cls.roster_hlc, hlc)).where(cls.id == 1).execute()


class SyncEpoch(BaseModel):
    """Local seq numbers above `base_seq` (up to the next epoch's base) travel in this epoch,
    numbered from 1: seq on the wire = local seq - base_seq."""

    epoch = CharField(primary_key=True)
    base_seq = IntegerField()
    reason = CharField()
    started_at = CharField(default=now_text)

    @classmethod
    def ordered(cls) -> list[SyncEpoch]:
        return list(cls.select().order_by(cls.base_seq, cls.started_at))

    @classmethod
    def ranges(cls) -> list[tuple[SyncEpoch, int | None]]:
        """Each epoch with the last local seq it holds (None: the open, current one)."""
        epochs = cls.ordered()
        ends = [following.base_seq for following in epochs[1:]] + [None]
        return list(zip(epochs, ends, strict=True))


class SentBundle(BaseModel):
    """A hub bundle in the outbox (data/sync/outbox/<file_name>) until a receipt covers it."""

    bundle_id = CharField(primary_key=True)
    epoch = CharField()
    seq_first = IntegerField(null=True)  # wire numbers, as in the manifest
    seq_last = IntegerField(null=True)
    roster_first = IntegerField(null=True)  # roster_change ids
    roster_last = IntegerField(null=True)
    file_name = CharField()
    size = IntegerField()
    created_at = CharField(default=now_text)
    receipted_at = CharField(null=True)
    upload_url = CharField(null=True)
    upload_id = CharField(null=True)

    @classmethod
    def waiting(cls) -> list[SentBundle]:
        """Bundles not yet covered by a receipt, oldest first (the order to send them in)."""
        query = cls.select().where(cls.receipted_at.is_null())
        return list(query.order_by(cls.created_at, cls.seq_first, cls.roster_first))

    @classmethod
    def last_local_seq(cls, epoch: SyncEpoch) -> int:
        """The highest local seq of this epoch already put in a bundle (base_seq if none)."""
        last = cls.select(fn.MAX(cls.seq_last)).where(cls.epoch == epoch.epoch).scalar()
        return epoch.base_seq + (last or 0)

    @classmethod
    def last_roster_change(cls) -> int:
        return cls.select(fn.MAX(cls.roster_last)).scalar() or 0


class Receipt(BaseModel):
    """The highest contiguous seq central holds durably, per epoch, from signed receipts."""

    epoch = CharField(primary_key=True)
    high_water = IntegerField()
    bundles = TextField(default="[]")  # the bundle ids central said it applied (JSON list)
    received_at = CharField(default=now_text)

    @classmethod
    def high_water_of(cls, epoch: str) -> int:
        found = cls.get_or_none(cls.epoch == epoch)
        return found.high_water if found else 0

    @classmethod
    def record(cls, epoch: str, high_water: int, bundles: list[str]) -> int:
        """Keep the highest mark ever received (an old receipt never lowers it)."""
        found = cls.get_or_none(cls.epoch == epoch)
        known = json.loads(found.bundles) if found else []
        merged = sorted(set(known) | set(bundles))
        mark = max(high_water, found.high_water if found else 0)
        cls.insert(
            epoch=epoch, high_water=mark, bundles=json.dumps(merged), received_at=now_text()
        ).on_conflict_replace().execute()
        return mark

    @classmethod
    def applied_bundles(cls) -> set[str]:
        found: set[str] = set()
        for row in cls.select(cls.bundles):
            found.update(json.loads(row.bundles))
        return found


class RosterChange(BaseModel):
    """One change of a learner, class, membership or assignment. Local changes (origin "")
    are logged by triggers; changes from central by the applier, with their origin."""

    id = AutoField()
    kind = CharField()
    uid = CharField()  # a membership: "<class uid>:<learner uid>"
    hlc = IntegerField()
    origin = CharField(default="")
    deleted = IntegerField(default=0)
    wire_uid = CharField(null=True)  # a membership's uid as central sent it
    at = CharField(default=now_text)

    @classmethod
    def latest(cls, kind: str, uid: str) -> RosterChange | None:
        query = cls.select().where(cls.kind == kind, cls.uid == uid)
        return query.order_by(cls.hlc.desc(), cls.origin.desc()).first()

    @classmethod
    def local_since(cls, after: int) -> list[RosterChange]:
        """The newest local change of each thing changed locally after change id `after`."""
        query = cls.select().where(cls.id > after, cls.origin == "").order_by(cls.id)
        newest: dict[tuple[str, str], RosterChange] = {}
        for change in query:
            newest[(change.kind, change.uid)] = change
        return list(newest.values())

    @classmethod
    def last_id(cls) -> int:
        return cls.select(fn.MAX(cls.id)).scalar() or 0


def max_event_seq() -> int:
    """The highest seq the event log ever handed out (AUTOINCREMENT never reuses one)."""
    row = db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = 'event'").fetchone()
    top = db.execute_sql("SELECT MAX(seq) FROM event").fetchone()[0]
    return max(row[0] if row else 0, top or 0)


SYNC_MODELS = (HubState, SyncEpoch, SentBundle, Receipt, RosterChange)
