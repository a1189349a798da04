"""Central's tables as peewee models, with the queries the service and pages ask of them.
The schema itself is the SQL in migrations.py; these describe today's columns."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    CompositeKey,
    FloatField,
    IntegerField,
    Model,
    TextField,
    fn,
)

from sync.central.db import central_db
from sync.names import find_by_name

PENDING, APPROVED, REVOKED = "pending", "approved", "revoked"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class CentralModel(Model):
    if TYPE_CHECKING:
        # Peewee's dynamic attributes (`id`, a foreign key's `<field>_id`, a query's aliases),
        # as on hub/core/db.BaseModel: sync/ may not import hub, so central's base says it too.
        id: Any

        def __getattr__(self, name: str) -> Any: ...

    class Meta:
        database = central_db
        legacy_table_names = False


class Hub(CentralModel):
    hub_id = CharField(primary_key=True)
    name = CharField()
    public_key = CharField()  # base64, as in the identity document
    status = CharField()
    requested_at = BigIntegerField(null=True)
    enrolled_at = BigIntegerField(null=True)
    revoked_at = BigIntegerField(null=True)
    last_contact = BigIntegerField(null=True)
    last_bundle_in = CharField(null=True)
    last_bundle_out = CharField(null=True)
    have = TextField(default="{}")
    have_created = BigIntegerField(default=0)
    roster_acked = BigIntegerField(default=0)
    events = BigIntegerField(default=0)
    quarantined = BigIntegerField(default=0)
    have_zims = TextField(null=True)  # a JSON list of uuids; None: the hub never said
    region = CharField(default="")
    reads_shared = IntegerField(default=0)  # its bundles said it reads catalog/offers parts
    outcomes = IntegerField(default=0)  # the outcomes part version the hub reads (0: none)
    reads_letters = IntegerField(default=0)  # its bundles said it reads a letters part

    @classmethod
    def by_id(cls, hub_id: str) -> Hub | None:
        return cls.get_or_none(cls.hub_id == hub_id)

    @classmethod
    def ordered(cls) -> list[Hub]:
        return list(cls.select().order_by(cls.status, cls.name, cls.hub_id))

    @classmethod
    def count_approved(cls) -> int:
        return cls.select().where(cls.status == APPROVED).count()

    def installed(self) -> dict[str, str]:
        """What the hub last said it has installed: {pack_id: version}."""
        try:
            have = json.loads(self.have)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in have.items()} if isinstance(have, dict) else {}

    def zims_held(self) -> set[str] | None:
        """The ZIM uuids the hub last said it has; None when it never said (a hub older than
        ZIMs from central, which must not be sent a zims part)."""
        if self.have_zims is None:
            return None
        try:
            held = json.loads(self.have_zims)
        except ValueError:
            return set()
        return {str(u) for u in held} if isinstance(held, list) else set()


class Stream(CentralModel):
    """One hub epoch's run of sequence numbers, and how far it is contiguous."""

    id = BigIntegerField(primary_key=True)
    hub_id = CharField()
    epoch = CharField()
    start_seq = BigIntegerField()
    high_water = BigIntegerField()
    max_seq = BigIntegerField(default=0)
    events = BigIntegerField(default=0)
    first_seen = BigIntegerField()

    @classmethod
    def of_hub(cls, hub_id: str) -> list[Stream]:
        return list(cls.select().where(cls.hub_id == hub_id).order_by(cls.first_seen, cls.id))

    @property
    def missing(self) -> int:
        """Sequence numbers up to the highest seen that no bundle has covered yet (the gaps
        the high-water mark waits at)."""
        covered, reach = 0, self.high_water
        ranges = StreamRange.select().where(StreamRange.stream_id == self.id)
        for first, last in sorted((r.seq_first, r.seq_last) for r in ranges):
            if last > reach:
                covered += last - max(first, reach + 1) + 1
                reach = last
        return max(0, self.max_seq - self.high_water - covered)


class StreamRange(CentralModel):
    """A seq range a bundle covered above the stream's high-water mark: every event the hub
    has in it arrived (a number missing inside a bundle's range does not exist)."""

    stream_id = BigIntegerField()
    seq_first = BigIntegerField()
    seq_last = BigIntegerField()

    class Meta:
        primary_key = CompositeKey("stream_id", "seq_first", "seq_last")


class Event(CentralModel):
    stream_id = BigIntegerField()
    seq = BigIntegerField()
    hlc = BigIntegerField()
    wall = BigIntegerField()
    learner_uid = CharField()
    pack_id = CharField()
    lesson_id = CharField()
    type = CharField()
    fields = TextField()

    class Meta:
        primary_key = CompositeKey("stream_id", "seq")


class Quarantine(CentralModel):
    id = BigIntegerField(primary_key=True)
    stream_id = BigIntegerField()
    seq = BigIntegerField()
    bundle_id = CharField()
    received = BigIntegerField()
    hlc = BigIntegerField()
    wall = BigIntegerField()
    learner_uid = CharField()
    pack_id = CharField()
    lesson_id = CharField()
    type = CharField()
    fields = TextField()


class QuarantineItem(CentralModel):
    """Something a hub sent that it had no right to (another hub's learner or class, progress
    for a learner it does not hold), kept aside for central staff."""

    id = BigIntegerField(primary_key=True)
    hub_id = CharField()
    bundle_id = CharField()
    kind = CharField()
    uid = CharField()
    ref = CharField(default="")
    reason = TextField()
    record = TextField()
    received = BigIntegerField()

    @classmethod
    def newest(cls, limit: int) -> list[QuarantineItem]:
        return list(cls.select().order_by(cls.received.desc(), cls.id.desc()).limit(limit))

    @classmethod
    def counts(cls) -> dict[str, int]:
        rows = cls.select(cls.kind, fn.COUNT(cls.id).alias("n")).group_by(cls.kind)
        return {row.kind: row.n for row in rows}


class Progress(CentralModel):
    learner_uid = CharField()
    pack_id = CharField()
    lesson_id = CharField()
    progress = FloatField()
    completed = IntegerField()
    mastered = IntegerField()
    best_score = FloatField(null=True)
    attempts = BigIntegerField()
    time_spent = FloatField()
    last_activity = BigIntegerField()
    last_hlc = BigIntegerField()

    class Meta:
        primary_key = CompositeKey("learner_uid", "pack_id", "lesson_id")

    @classmethod
    def of_learner(cls, learner_uid: str) -> list[Progress]:
        return list(
            cls.select().where(cls.learner_uid == learner_uid).order_by(cls.pack_id, cls.lesson_id)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "learner_uid": self.learner_uid,
            "pack_id": self.pack_id,
            "lesson_id": self.lesson_id,
            "progress": self.progress,
            "completed": bool(self.completed),
            "mastered": bool(self.mastered),
            "best_score": self.best_score,
            "attempts": self.attempts,
            "time_spent": self.time_spent,
            "last_activity": self.last_activity,
            "last_hlc": self.last_hlc,
        }


class LearnerHub(CentralModel):
    learner_uid = CharField()
    hub_id = CharField()
    events = BigIntegerField()
    last_activity = BigIntegerField()

    class Meta:
        primary_key = CompositeKey("learner_uid", "hub_id")


class BundleIn(CentralModel):
    bundle_id = CharField(primary_key=True)
    hub_id = CharField()
    epoch = CharField()
    seq_first = BigIntegerField(null=True)
    seq_last = BigIntegerField(null=True)
    created = BigIntegerField()
    received = BigIntegerField()
    accepted = BigIntegerField()
    duplicates = BigIntegerField()
    quarantined = BigIntegerField()


class Roster(CentralModel):
    """The winning version of each learner, class, membership and assignment record."""

    kind = CharField()
    uid = CharField()
    hlc = BigIntegerField()
    origin = CharField()
    deleted = IntegerField()
    name = CharField(default="")
    class_uid = CharField(null=True)
    learner_uid = CharField(null=True)
    record = TextField()
    change = BigIntegerField()
    owner = CharField(default="")  # who made it: a hub id or "central"

    class Meta:
        primary_key = CompositeKey("kind", "uid")

    @classmethod
    def find(cls, kind: str, uid: str) -> Roster | None:
        return cls.get_or_none(cls.kind == kind, cls.uid == uid)

    @classmethod
    def named(cls, kind: str, name: str) -> list[Roster]:
        return list(cls.select().where(cls.kind == kind, cls.name == name, cls.deleted == 0))

    @classmethod
    def last_change(cls) -> int:
        return cls.select(cls.change).order_by(cls.change.desc()).limit(1).scalar() or 0

    @classmethod
    def last_hlc(cls) -> int:
        return cls.select(cls.hlc).order_by(cls.hlc.desc()).limit(1).scalar() or 0

    def as_record(self) -> dict[str, Any]:
        return json.loads(self.record)


class RosterTarget(CentralModel):
    kind = CharField()
    uid = CharField()
    hub_id = CharField()

    class Meta:
        primary_key = CompositeKey("kind", "uid", "hub_id")


class PackRelease(CentralModel):
    pack_id = CharField()
    version = CharField()
    title = CharField()
    language = CharField()
    pack_json = TextField()
    files = TextField()  # {path: [sha256, size]}
    size = BigIntegerField()
    added_at = BigIntegerField()

    class Meta:
        primary_key = CompositeKey("pack_id", "version")

    @classmethod
    def versions(cls, pack_id: str) -> list[PackRelease]:
        return list(cls.select().where(cls.pack_id == pack_id))

    def file_map(self) -> dict[str, tuple[str, int]]:
        return {path: (sha, size) for path, (sha, size) in json.loads(self.files).items()}


class PackTarget(CentralModel):
    pack_id = CharField()
    hub_id = CharField()
    assigned_at = BigIntegerField()

    class Meta:
        primary_key = CompositeKey("pack_id", "hub_id")

    @classmethod
    def packs_for(cls, hub_id: str) -> list[str]:
        return [t.pack_id for t in cls.select().where(cls.hub_id == hub_id).order_by(cls.pack_id)]


class ZimRelease(CentralModel):
    """One edition of a ZIM central holds (sync.central.zims), checked whole when added."""

    uuid = CharField(primary_key=True)
    name = CharField()  # central's name for it: the ZIM's Name, as hubs are assigned it
    zim_name = CharField()  # the Name metadata as written ("" when it has none)
    title = CharField()
    language = CharField()
    date = CharField()
    size = BigIntegerField()
    md5 = CharField()  # the checksum the file ends with, hex
    file = CharField()  # its file name in central's zims/ folder
    added_at = BigIntegerField()

    @classmethod
    def editions(cls, name: str) -> list[ZimRelease]:
        return list(cls.select().where(cls.name == name))


class ZimTarget(CentralModel):
    name = CharField()
    hub_id = CharField()
    assigned_at = BigIntegerField()

    class Meta:
        primary_key = CompositeKey("name", "hub_id")

    @classmethod
    def names_for(cls, hub_id: str) -> list[str]:
        return [t.name for t in cls.select().where(cls.hub_id == hub_id).order_by(cls.name)]

    @classmethod
    def assigned(cls, name: str, hub_id: str) -> bool:
        return cls.get_or_none(cls.name == name, cls.hub_id == hub_id) is not None


class Reply(CentralModel):
    reply_id = CharField(primary_key=True)
    hub_id = CharField()
    bundle_id = CharField()
    file = CharField()
    roster_upto = BigIntegerField()
    created = BigIntegerField()

    @classmethod
    def by_bundle(cls, hub_id: str, bundle_id: str) -> Reply | None:
        return cls.get_or_none(cls.hub_id == hub_id, cls.bundle_id == bundle_id)


class Staff(CentralModel):
    username = CharField(primary_key=True)
    display_name = CharField()
    password_hash = CharField()
    created_at = BigIntegerField()

    @classmethod
    def by_username(cls, username: str) -> Staff | None:
        return find_by_name(username, lambda name: cls.get_or_none(cls.username == name))


class StaffSession(CentralModel):
    """A signed-in staff session (migration 3); sync.central.staff starts and ends them."""

    id = AutoField()
    token = CharField(unique=True)
    username = CharField()
    created_at = BigIntegerField()


class SharedOffer(CentralModel):
    """A hub's own pack offered to the shared catalog: the newest version it sent, and what
    staff made of it. `accepted_version` is what hubs that picked it receive."""

    hub_id = CharField()
    pack_id = CharField()
    version = CharField()
    hlc = BigIntegerField()
    author = CharField()
    license = CharField()
    title = CharField()
    language = CharField()
    description = TextField()
    pack_json = TextField()
    files = TextField()  # {path: [sha256, size]}
    size = BigIntegerField()
    status = CharField()
    reason = TextField(default="")
    accepted_version = CharField(null=True)
    received = BigIntegerField()
    reviewed_at = BigIntegerField(null=True)
    reviewed_by = CharField(default="")

    class Meta:
        primary_key = CompositeKey("hub_id", "pack_id")

    @classmethod
    def of(cls, hub_id: str, pack_id: str) -> SharedOffer | None:
        return cls.get_or_none(cls.hub_id == hub_id, cls.pack_id == pack_id)

    @classmethod
    def listed(cls) -> list[SharedOffer]:
        """The catalog: every pack accepted once and not withdrawn."""
        query = cls.select().where(cls.accepted_version.is_null(False), cls.status != "withdrawn")
        return list(query.order_by(cls.language, cls.title))

    def file_map(self) -> dict[str, tuple[str, int]]:
        return {path: (sha, size) for path, (sha, size) in json.loads(self.files).items()}


class SharedPick(CentralModel):
    """A hub's pick of a catalog pack (last writer wins by hlc; deleted: picked no more)."""

    hub_id = CharField()
    pack_id = CharField()
    hlc = BigIntegerField()
    deleted = IntegerField()

    class Meta:
        primary_key = CompositeKey("hub_id", "pack_id")
