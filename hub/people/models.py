"""Learners, coaches, operators and classes, with the queries asked of them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from peewee import CharField, ForeignKeyField, IntegerField, IntegrityError

from hub.core.db import BaseModel
from hub.core.translate import gettext
from sync.names import find_by_name, username_of
from sync.passwords import MIN_PASSWORD, PIN_METHOD, check_secret, hash_pin, hash_secret

ROLES = ("coach", "operator")
PIN = re.compile(r"[0-9]{4,6}")


class PeopleError(ValueError):
    """A person or class could not be added or changed; str() is one sentence."""


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_uid() -> str:
    """The global id of a learner, class or assignment, the same on every hub and at central."""
    return uuid.uuid4().hex


def slug(name: str) -> str:
    """A username from a display name, by the rule central shares (sync.names)."""
    return username_of(name) or "learner"


class StaffUser(BaseModel):
    username = CharField(unique=True)
    display_name = CharField()
    role = CharField()
    password_hash = CharField()
    created_at = CharField(default=now_text)

    @classmethod
    def add(cls, name: str, role: str, password: str) -> StaffUser:
        if role not in ROLES:
            raise PeopleError(
                gettext("The role must be coach or operator, not %(role)r.", role=role)
            )
        if len(password) < MIN_PASSWORD:
            raise PeopleError(
                gettext("The password must have at least %(n)d characters.", n=MIN_PASSWORD)
            )
        username = _username(name)
        try:
            return cls.create(
                username=username,
                display_name=name.strip(),
                role=role,
                password_hash=hash_secret(password),
            )
        except IntegrityError:
            raise PeopleError(
                gettext("There is already a user called %(name)r.", name=username)
            ) from None

    @classmethod
    def by_username(cls, username: str) -> StaffUser | None:
        return find_by_name(username, lambda name: cls.get_or_none(cls.username == name))

    @classmethod
    def has_operator(cls) -> bool:
        return cls.select().where(cls.role == "operator").exists()

    def check_password(self, password: str) -> bool:
        return check_secret(self.password_hash, password)


class Learner(BaseModel):
    username = CharField(unique=True)
    display_name = CharField()
    pin_hash = CharField(null=True)
    language = CharField(default="")
    created_at = CharField(default=now_text)
    # Sync (migration 4): triggers stamp `hlc` and log each change in roster_change.
    uid = CharField(unique=True, default=new_uid)
    hlc = IntegerField(default=0)

    @classmethod
    def add(cls, name: str, pin: str | None = None, language: str = "") -> Learner:
        if pin is not None and not PIN.fullmatch(pin):
            raise PeopleError(gettext("A PIN is 4 to 6 digits."))
        base = _username(name)
        username = base
        for n in range(2, 1000):
            if not cls.select().where(cls.username == username).exists():
                break
            username = f"{base}-{n}"
        return cls.create(
            username=username,
            display_name=name.strip(),
            pin_hash=hash_pin(pin) if pin else None,
            language=language,
        )

    @classmethod
    def by_username(cls, username: str) -> Learner | None:
        return find_by_name(username, lambda name: cls.get_or_none(cls.username == name))

    def check_pin(self, pin: str) -> bool:
        """A learner without a PIN signs in with their name alone (young children)."""
        if self.pin_hash is None:
            return pin == ""
        return check_secret(self.pin_hash, pin, method=PIN_METHOD)

    def classes(self) -> list[ClassGroup]:
        return list(
            ClassGroup.select()
            .join(ClassMember)
            .where(ClassMember.learner == self)
            .order_by(ClassGroup.name)
        )


class ClassGroup(BaseModel):
    name = CharField(unique=True)
    created_at = CharField(default=now_text)
    # Sync (migration 4): triggers stamp `hlc` and log each change in roster_change.
    uid = CharField(unique=True, default=new_uid)
    hlc = IntegerField(default=0)

    @classmethod
    def named(cls, name: str, create: bool = False) -> ClassGroup | None:
        name = name.strip()
        if not name:
            raise PeopleError(gettext("A class needs a name."))
        found = cls.get_or_none(cls.name == name)
        if found is None and create:
            found = cls.create(name=name)
        return found

    @classmethod
    def ordered(cls) -> list[ClassGroup]:
        return list(cls.select().order_by(cls.name))

    def learners(self) -> list[Learner]:
        return list(
            Learner.select()
            .join(ClassMember)
            .where(ClassMember.class_group == self)
            .order_by(Learner.display_name)
        )

    def add_learner(self, learner: Learner) -> None:
        ClassMember.insert(class_group=self, learner=learner).on_conflict_ignore().execute()


class ClassMember(BaseModel):
    class_group = ForeignKeyField(ClassGroup, on_delete="CASCADE")
    learner = ForeignKeyField(Learner, on_delete="CASCADE")


def _username(name: str) -> str:
    if not name.strip():
        raise PeopleError(gettext("A name cannot be empty."))
    if len(name) > 100:
        raise PeopleError(gettext("A name can have at most %(n)d characters.", n=100))
    return slug(name)


class Assignment(BaseModel):
    """A lesson, or a whole topic, that a coach set for a class."""

    class_group = ForeignKeyField(ClassGroup, on_delete="CASCADE")
    pack_id = CharField()
    topic_id = CharField(null=True)
    lesson_id = CharField(null=True)
    assigned_by = CharField()
    created_at = CharField(default=now_text)
    # Sync (migration 4): triggers stamp `hlc` and log each change in roster_change.
    uid = CharField(unique=True, default=new_uid)
    hlc = IntegerField(default=0)

    @classmethod
    def for_class(cls, class_group: ClassGroup) -> list[Assignment]:
        return list(cls.select().where(cls.class_group == class_group).order_by(cls.id.desc()))

    @classmethod
    def for_learner(cls, learner: Learner) -> list[Assignment]:
        return list(
            cls.select()
            .join(ClassMember, on=(ClassMember.class_group == cls.class_group))
            .where(ClassMember.learner == learner)
            .order_by(cls.id.desc())
        )
