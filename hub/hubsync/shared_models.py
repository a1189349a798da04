"""The hub's shared-pack tables (migration 9): its own packs offered to central's shared
catalog, the catalog as the last reply listed it, and the catalog packs picked here."""

from __future__ import annotations

import json
from typing import Any

from peewee import CharField, FloatField, IntegerField, TextField

from hub.core.db import BaseModel


class SharedOffer(BaseModel):
    """One of this hub's packs offered to other schools. `hlc` stamps the coach's last
    change (share, a new version, withdraw); a bundle carries it while `sent_hlc` is older.
    `status` is '' until sent, 'sent' until central answers, then central's word."""

    pack_id = CharField(primary_key=True)
    version = CharField()
    hlc = IntegerField()
    withdrawn = IntegerField(default=0)
    sent_hlc = IntegerField(default=0)
    sent_files = TextField(default="[]")  # sha256s central was sent for this pack
    status = CharField(default="")
    reason = TextField(default="")
    hubs = IntegerField(null=True)
    learners = IntegerField(null=True)
    completion = FloatField(null=True)
    mastery = FloatField(null=True)

    @classmethod
    def to_send(cls) -> list[SharedOffer]:
        return list(cls.select().where(cls.hlc > cls.sent_hlc).order_by(cls.hlc))

    def sent_shas(self) -> set[str]:
        return set(json.loads(self.sent_files))


class SharedPick(BaseModel):
    """A catalog pack picked here (deleted: no longer wanted); status 'withdrawn' when
    central said it cannot send it."""

    pack_id = CharField(primary_key=True)
    hlc = IntegerField()
    deleted = IntegerField(default=0)
    sent_hlc = IntegerField(default=0)
    status = CharField(default="")

    @classmethod
    def to_send(cls) -> list[SharedPick]:
        return list(cls.select().where(cls.hlc > cls.sent_hlc).order_by(cls.hlc))

    @classmethod
    def wanted(cls) -> dict[str, SharedPick]:
        return {pick.pack_id: pick for pick in cls.select().where(cls.deleted == 0)}


class SharedListing(BaseModel):
    """A pack of central's shared catalog, as of the last reply (sync.records.check_catalog)."""

    pack_id = CharField(primary_key=True)
    title = CharField()
    record = TextField()

    @classmethod
    def all(cls) -> list[dict[str, Any]]:
        return [json.loads(row.record) for row in cls.select().order_by(cls.title)]
