"""Central staff accounts: a name and a password, hashed and checked by the hasher the hub
uses (sync.passwords): a wrong name costs as much as a wrong password."""

from __future__ import annotations

import secrets

from peewee import IntegrityError

from sync.central.db import writing
from sync.central.errors import CentralError
from sync.central.models import Staff, StaffSession, now_ms
from sync.names import username_of
from sync.passwords import MIN_PASSWORD, check_secret, hash_secret

# Devices one staff member stays signed in on; one more ends the oldest session, so the table
# stays as small as the staff list.
SESSIONS_PER_STAFF = 10


def add_staff(name: str, password: str) -> Staff:
    username = username_of(name)
    if not username:
        raise CentralError("A staff name needs at least one letter or digit.")
    if len(password) < MIN_PASSWORD:
        raise CentralError(f"The password must have at least {MIN_PASSWORD} characters.")
    try:
        with writing():
            return Staff.create(
                username=username,
                display_name=name.strip(),
                password_hash=hash_secret(password),
                created_at=now_ms(),
            )
    except IntegrityError:
        raise CentralError(f"There is already a staff account called {username!r}.") from None


def authenticate(username: str, password: str) -> Staff | None:
    staff = Staff.by_username(username)
    ok = check_secret(staff.password_hash if staff else None, password)
    return staff if ok and staff else None


def start_session(staff: Staff) -> str:
    """A new signed-in session for `staff`; returns the token its cookie carries."""
    token = secrets.token_urlsafe(24)
    with writing():
        StaffSession.create(token=token, username=staff.username, created_at=now_ms())
        newest_first = (
            StaffSession.select(StaffSession.id)
            .where(StaffSession.username == staff.username)
            .order_by(StaffSession.id.desc())
            .offset(SESSIONS_PER_STAFF)
        )
        StaffSession.delete().where(StaffSession.id.in_(newest_first)).execute()
    return token


def staff_of_session(token: str) -> Staff | None:
    """Who a live session belongs to; None once it ended (signed out, account removed)."""
    return (
        Staff.select()
        .join(StaffSession, on=(StaffSession.username == Staff.username))
        .where(StaffSession.token == token)
        .first()
    )


def end_session(token: str) -> None:
    with writing():
        StaffSession.delete().where(StaffSession.token == token).execute()
