"""Signed-in sessions kept on the hub, so they can be ended: the session cookie carries a
random id, and a cookie whose id is no longer here signs nobody in, whichever copy it is.

A row goes on sign-out, when the operator signs an account out everywhere, and (by triggers,
migration 5, whatever changed it: pages, CLI, CSV import, a roster from central) when the
account's PIN or password changes or the account is removed.
"""

from __future__ import annotations

import secrets

from peewee import AutoField, CharField, ForeignKeyField

from hub.core.db import BaseModel, db
from hub.people.models import Learner, StaffUser, now_text

# Devices one account stays signed in on; signing in on one more ends the oldest. Keeps the
# table as small as the roster whatever nobody signs out of.
PER_ACCOUNT = 10


class SigninSession(BaseModel):
    id = AutoField()
    token = CharField(unique=True)
    learner = ForeignKeyField(Learner, null=True, on_delete="CASCADE")
    staff = ForeignKeyField(StaffUser, null=True, on_delete="CASCADE")
    created_at = CharField(default=now_text)

    @classmethod
    def start(cls, person: Learner | StaffUser) -> str:
        """A new session for `person`; returns its token for the cookie."""
        token = secrets.token_urlsafe(24)
        owner = cls._owner(person)
        with db.atomic():  # one commit (one fsync) for both
            cls.insert(token=token, **{owner.name: person.id}).execute()
            newest_first = cls.select(cls.id).where(owner == person.id).order_by(cls.id.desc())
            cls.delete().where(cls.id.in_(newest_first.offset(PER_ACCOUNT))).execute()
        return token

    @classmethod
    def is_live(cls, token: str, account_id: int, username: str, role: str | None) -> bool:
        """Whether `token` is a session of this learner (role None) or staff member still; one
        indexed lookup, made on every signed-in request."""
        if role is None:
            query = cls.select().join(Learner).where(Learner.username == username)
            query = query.where(cls.learner == account_id)
        else:
            query = cls.select().join(StaffUser).where(StaffUser.username == username)
            query = query.where(cls.staff == account_id, StaffUser.role == role)
        return query.where(cls.token == token).exists()

    @classmethod
    def end(cls, token: str) -> None:
        cls.delete().where(cls.token == token).execute()

    @classmethod
    def end_all(cls, person: Learner | StaffUser) -> int:
        """Sign `person` out on every device; returns how many sessions ended."""
        return cls.delete().where(cls._owner(person) == person.id).execute()

    @classmethod
    def _owner(cls, person: Learner | StaffUser) -> ForeignKeyField:
        return cls.learner if isinstance(person, Learner) else cls.staff

    class Meta:
        table_name = "signin_session"
