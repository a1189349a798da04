"""Central's tables for partner classes: pairings and the letters between them (migration 7)."""

from __future__ import annotations

import json
from typing import Any

from peewee import BigIntegerField, CharField, TextField

from sync.central.models import CentralModel

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
