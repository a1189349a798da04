"""Checking who someone says they are: one place for the JSON API and the HTML forms."""

from __future__ import annotations

from flask import current_app

from hub.auth import Identity, sign_in, throttle_keys
from hub.errors import HubError
from hub.people import Learner, StaffUser, check_secret
from hub.translate import lazy_gettext

WRONG = lazy_gettext("That name and secret do not match. Please try again.")


def authenticate(username: str, *, pin: str | None = None, password: str | None = None) -> Identity:
    """Sign in a learner (PIN) or a coach/operator (password), or raise a 401/429 HubError."""
    throttle = current_app.extensions["throttle"]
    keys = throttle_keys(username)
    throttle.check(*keys)
    person: Learner | StaffUser | None
    if password is not None:
        person = StaffUser.by_username(username)
        ok = person.check_password(password) if person else _burn(password)
    else:
        person = Learner.by_username(username)
        ok = person.check_pin(pin or "") if person else _burn(pin or "")
    if not ok or person is None:
        throttle.failed(*keys)
        raise HubError(401, "wrong_credentials", str(WRONG))
    throttle.succeeded(*keys)
    return sign_in(person)


def _burn(secret: str) -> bool:
    """Spend the time a real check costs, so unknown names cannot be told from known ones."""
    check_secret(None, secret)
    return False
