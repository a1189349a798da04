"""The hub's tables for finding a partner class (migration 11): its classes looking for one,
the directory of other hubs' classes as central last sent it, and the proposals both ways."""

from __future__ import annotations

from peewee import CharField, IntegerField, TextField

from hub.core.db import BaseModel
from hub.people.models import now_text
from sync.letters import HasLanguages

OUT, IN = "out", "in"
# A proposal's state is central's word on it; an outgoing one is "new" until central has it.
NEW, PROPOSED, DECLINED, PAIRED, REFUSED = "new", "proposed", "declined", "paired", "refused"
WITHDRAWN = "withdrawn"
FINAL = (DECLINED, PAIRED, REFUSED, WITHDRAWN)
# This coach's word on a proposal (its `answer`): accept or decline one to their class, or
# withdraw one from it. `sent` counts what left in a bundle: for an outgoing proposal 1 is the
# proposal, 2 its withdrawal too; for an incoming one 1 is the answer.
ACCEPT, DECLINE, WITHDRAW = "accept", "decline", "withdraw"
PROPOSAL_SENT, WITHDRAWAL_SENT = 1, 2


class PartnerSeek(HasLanguages, BaseModel):
    class_uid = CharField(primary_key=True)
    languages = TextField()  # JSON list of language tags
    grade = CharField()
    note = TextField()
    hlc = IntegerField()
    active = IntegerField()
    sent_hlc = IntegerField(default=0)

    class Meta:
        table_name = "partner_seek"

    @classmethod
    def unsent(cls) -> list[PartnerSeek]:
        return list(cls.select().where(cls.hlc > cls.sent_hlc))


class PartnerListing(HasLanguages, BaseModel):
    """A class of another hub looking for a partner, as of the last reply."""

    class_uid = CharField(primary_key=True)
    position = IntegerField()
    class_name = CharField()
    hub_name = CharField()
    region = CharField()
    languages = TextField()
    grade = CharField()
    note = TextField()

    class Meta:
        table_name = "partner_listing"

    @classmethod
    def ordered(cls) -> list[PartnerListing]:
        return list(cls.select().order_by(cls.position))


class PartnerProposal(HasLanguages, BaseModel):
    uid = CharField(primary_key=True)
    direction = CharField()
    class_uid = CharField()  # this hub's class
    partner_class_uid = CharField()
    partner_class = CharField()
    partner_hub = CharField()
    region = CharField(default="")
    languages = TextField(default="[]")
    grade = CharField(default="")
    note = TextField(default="")
    hlc = IntegerField()
    state = CharField()
    answer = CharField(default="")
    sent = IntegerField(default=0)
    created_at = CharField(default=now_text)

    class Meta:
        table_name = "partner_proposal"

    @classmethod
    def newest(cls) -> list[PartnerProposal]:
        return list(cls.select().order_by(cls.hlc.desc()))

    @classmethod
    def open_to(cls, class_uid: str, partner_class_uid: str) -> PartnerProposal | None:
        """An outgoing proposal between the two classes still waiting for an answer (and
        not withdrawn by this coach)."""
        return cls.get_or_none(
            cls.direction == OUT,
            cls.class_uid == class_uid,
            cls.partner_class_uid == partner_class_uid,
            cls.state.in_((NEW, PROPOSED)),
            cls.answer == "",
        )

    @classmethod
    def last_hlc(cls) -> int:
        return int(cls.select(cls.hlc).order_by(cls.hlc.desc()).limit(1).scalar() or 0)
