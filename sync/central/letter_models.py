"""Central's tables for partner classes: pairings and the letters between them (migration 7),
classes looking for a partner and coaches' proposals (migration 8)."""

from __future__ import annotations

import json
from typing import Any

from peewee import BigIntegerField, CharField, IntegerField, TextField

from sync.central.models import CentralModel
from sync.letters import HasLanguages

ACTIVE, ENDED = "active", "ended"


class ClassPair(CentralModel):
    """Two classes on two hubs that may write to each other (while `state` is active)."""

    uid = CharField(primary_key=True)
    class_a = CharField(index=True)
    hub_a = CharField()
    class_b = CharField(index=True)
    hub_b = CharField()
    state = CharField()
    created = BigIntegerField()

    @classmethod
    def between(cls, one: str, other: str) -> ClassPair | None:
        """The active pairing of two classes, whichever was named first."""
        return cls.get_or_none(
            (cls.state == ACTIVE)
            & (
                ((cls.class_a == one) & (cls.class_b == other))
                | ((cls.class_a == other) & (cls.class_b == one))
            )
        )

    @classmethod
    def of_hub(cls, hub_id: str) -> list[ClassPair]:
        return list(cls.select().where((cls.hub_a == hub_id) | (cls.hub_b == hub_id)))

    @classmethod
    def ordered(cls) -> list[ClassPair]:
        return list(cls.select().order_by(cls.created.desc()))


class Letter(CentralModel):
    uid = CharField(primary_key=True)
    from_hub = CharField()
    from_class = CharField()
    to_hub = CharField()
    to_class = CharField()
    language = CharField()
    text = TextField()
    attachments = TextField()  # JSON list of {"sha256", "type", "size"}
    hlc = BigIntegerField()
    received = BigIntegerField()
    state = CharField()
    told = CharField(default="")
    told_reply = CharField(default="")
    acked = CharField(default="")

    class Meta:
        indexes = ((("to_hub", "state"), False), (("from_hub", "state"), False))

    def files(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(self.attachments)
        return found


class PartnerSeek(HasLanguages, CentralModel):
    """A class whose coach looks for a partner class (migration 8): the latest word of its
    hub by HLC; `received` orders the directory, newest first."""

    class_uid = CharField(primary_key=True)
    hub_id = CharField()
    languages = TextField()  # JSON list of language tags
    grade = CharField()
    note = TextField()
    hlc = BigIntegerField()
    active = IntegerField()
    received = BigIntegerField()

    class Meta:
        table_name = "partner_seek"

    @classmethod
    def looking(cls, class_uid: str) -> PartnerSeek | None:
        return cls.get_or_none((cls.class_uid == class_uid) & (cls.active == 1))

    @classmethod
    def open_elsewhere(cls, hub_id: str, limit: int) -> list[PartnerSeek]:
        """Classes of other hubs looking for a partner, newest first."""
        query = cls.select().where((cls.active == 1) & (cls.hub_id != hub_id))
        return list(query.order_by(cls.received.desc(), cls.class_uid).limit(limit))


PROPOSED, DECLINED, PAIRED, REFUSED = "proposed", "declined", "paired", "refused"
WITHDRAWN = "withdrawn"  # its proposing coach took it back while it was open


class PartnerProposal(CentralModel):
    """A coach's proposal that their class (from) and a class looking (to) become partners
    (migration 8). A refused one names no to_hub: it never reaches the class proposed to."""

    uid = CharField(primary_key=True)
    from_hub = CharField(index=True)
    from_class = CharField()
    to_hub = CharField(index=True)
    to_class = CharField()
    note = TextField()
    hlc = BigIntegerField()
    state = CharField()
    received = BigIntegerField()
    decided = BigIntegerField(null=True)
    pair_uid = CharField(default="")

    class Meta:
        table_name = "partner_proposal"

    @classmethod
    def of_hub(cls, hub_id: str, limit: int) -> list[PartnerProposal]:
        """Open proposals from or to the hub's classes, then the newest decided ones."""
        mine = (cls.from_hub == hub_id) | (cls.to_hub == hub_id)
        newest = cls.received.desc()
        open_ = cls.select().where(mine & (cls.state == PROPOSED)).order_by(newest).limit(limit)
        done = cls.select().where(mine & (cls.state != PROPOSED)).order_by(newest).limit(limit)
        return list(open_) + list(done)

    @classmethod
    def open_between(cls, one: str, other: str) -> PartnerProposal | None:
        return cls.get_or_none(
            (cls.state == PROPOSED)
            & (
                ((cls.from_class == one) & (cls.to_class == other))
                | ((cls.from_class == other) & (cls.to_class == one))
            )
        )

    @classmethod
    def open_ones(cls) -> list[PartnerProposal]:
        return list(cls.select().where(cls.state == PROPOSED).order_by(cls.received.desc()))
