"""The hub's tables for partner classes (migration 10): pairings central sent, and letters
both ways with where each one stands."""

from __future__ import annotations

import json
from typing import Any

from peewee import CharField, IntegerField, TextField

from hub.core.db import BaseModel
from hub.people.models import now_text

OUT, IN = "out", "in"
# An outgoing letter: written, approved by its coach, put in a bundle, then as central says.
# An incoming one: waiting for this hub's coach, shown to the class, or declined.
WAITING, APPROVED, DECLINED, SENT = "waiting", "approved", "declined", "sent"
SHOWN = "shown"
OUT_ORDER = (WAITING, APPROVED, SENT, "at_central", "delivered", "read")


class ClassPartner(BaseModel):
    uid = CharField(primary_key=True)
    class_uid = CharField()
    partner_class_uid = CharField()
    partner_class = CharField()
    partner_hub = CharField()
    state = CharField()

    class Meta:
        table_name = "class_partner"

    @classmethod
    def active_of(cls, class_uid: str) -> list[ClassPartner]:
        return list(cls.select().where(cls.class_uid == class_uid, cls.state == "active"))

    @classmethod
    def active(cls, class_uid: str, partner_class_uid: str) -> ClassPartner | None:
        return cls.get_or_none(
            cls.class_uid == class_uid,
            cls.partner_class_uid == partner_class_uid,
            cls.state == "active",
        )


class Letter(BaseModel):
    uid = CharField(unique=True)
    direction = CharField()
    class_uid = CharField()
    partner_class_uid = CharField()
    language = CharField()
    text = TextField()
    attachments = TextField(default="[]")
    authors = TextField(default="[]")
    from_name = CharField(default="")
    hlc = IntegerField()
    state = CharField()
    sent_bundle = CharField(null=True)
    reported = CharField(default="")
    created_at = CharField(default=now_text)

    class Meta:
        indexes = ((("class_uid", "direction", "state"), False),)

    def files(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(self.attachments)
        return found

    def author_uids(self) -> list[str]:
        found: list[str] = json.loads(self.authors)
        return found

    @classmethod
    def of_class(cls, class_uid: str, partner_class_uid: str) -> list[Letter]:
        """The letters both ways between a class and its partner, oldest first."""
        query = cls.select().where(
            cls.class_uid == class_uid, cls.partner_class_uid == partner_class_uid
        )
        return list(query.order_by(cls.hlc))

    @classmethod
    def waiting_for_coach(cls) -> list[Letter]:
        return list(cls.select().where(cls.state == WAITING).order_by(cls.hlc))

    @classmethod
    def last_hlc(cls) -> int:
        return int(cls.select(cls.hlc).order_by(cls.hlc.desc()).limit(1).scalar() or 0)
