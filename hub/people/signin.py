"""Checking who someone says they are: one place for the JSON API and the HTML forms."""

from __future__ import annotations

from hub.core.errors import HubError
from hub.core.translate import lazy_gettext
from hub.people.auth import Identity, right_secret, sign_in, take_try
from hub.people.models import Learner, StaffUser
from sync.passwords import PIN_METHOD, check_secret

WRONG = lazy_gettext("That name and secret do not match. Please try again.")


def authenticate(username: str, *, pin: str | None = None, password: str | None = None) -> Identity:
    """Sign in a learner (PIN) or a coach/operator (password), or raise a 401/429 HubError.
    A known and an unknown name cost the same hash, so the time tells nothing."""
    slot = take_try("signin")
    person: Learner | StaffUser | None
    if password is not None:
        person = StaffUser.by_username(username)
        ok = person.check_password(password) if person else check_secret(None, password)
    else:
        person = Learner.by_username(username)
        ok = (
            person.check_pin(pin or "")
            if person
            else check_secret(None, pin or "", method=PIN_METHOD)
        )
    if not ok or person is None:
        raise HubError(401, "wrong_credentials", str(WRONG))
    right_secret(slot)
    return sign_in(person)
