"""Who is signed in, what their role allows, and the guards on JSON calls and guessing.

Sessions are Flask's signed cookie (HttpOnly, SameSite=Lax). A learner signs in with a PIN (or
name alone when the class has none), coaches and operators with a password.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import g, request, session

from hub.errors import HubError
from hub.people import Learner, StaffUser
from hub.translate import gettext, ngettext

LEARNER = "learner"


@dataclass(frozen=True)
class Identity:
    kind: str  # "learner" or "staff"
    id: int
    role: str  # "learner", "coach" or "operator"
    username: str
    display_name: str

    def as_json(self) -> dict[str, Any]:
        return {"username": self.username, "display_name": self.display_name, "role": self.role}


def current_user() -> Identity | None:
    """Who this request is from; an account removed since sign-in counts as nobody."""
    if "who" not in g:
        g.who = _identity_still_valid(session.get("who"))
    return g.who


def _identity_still_valid(stored: dict[str, Any] | None) -> Identity | None:
    if not stored:
        return None
    try:
        who = Identity(**stored)
    except TypeError:
        return None
    model = Learner if who.role == LEARNER else StaffUser
    query = model.select().where(model.id == who.id, model.username == who.username)
    if model is StaffUser:
        query = query.where(StaffUser.role == who.role)
    if not query.exists():
        session.clear()
        return None
    return who


def current_learner() -> Learner | None:
    who = current_user()
    if who is None or who.role != LEARNER:
        return None
    return Learner.get_or_none(Learner.id == who.id)


def sign_in(person: Learner | StaffUser) -> Identity:
    """Start a fresh session (never reuse one from before sign-in)."""
    is_learner = isinstance(person, Learner)
    identity = Identity(
        kind=LEARNER if is_learner else "staff",
        id=person.id,
        role=LEARNER if is_learner else person.role,
        username=person.username,
        display_name=person.display_name,
    )
    session.clear()
    session["who"] = identity.__dict__
    g.who = identity
    return identity


def sign_out() -> None:
    session.clear()
    g.who = None


def require(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """401 when nobody is signed in, 403 when the signed-in role is not one of `roles`."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            check_role(*roles)
            return view(*args, **kwargs)

        return guarded

    return decorate


def check_role(*roles: str) -> Identity:
    who = current_user()
    if who is None:
        raise HubError(401, "sign_in_required", gettext("Please sign in first."))
    if who.role not in roles:
        raise HubError(403, "forbidden", gettext("Your account is not allowed to do this."))
    return who


def check_json_call() -> None:
    """JSON calls that change something must say they are JSON and come from our own pages:
    a cross-site form can send neither, so no CSRF token is needed for them."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.mimetype != "application/json":
        raise HubError(415, "json_required", gettext("Send this request as application/json."))
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        raise HubError(403, "cross_origin", gettext("Requests from other sites are not accepted."))


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise HubError(400, "bad_json", gettext("The request body must be a JSON object."))
    return body


class Throttle:
    """Slows down guessing: after a few failures for a username or a client, each further try
    must wait twice as long as the last (capped). In memory: one hub process, and a restart
    forgiving a forgetful child is fine."""

    FREE_FAILURES = 3
    MAX_WAIT = 300.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_for(self, *keys: str) -> float:
        """Seconds before these keys may try again (0 when they may now)."""
        now = self._clock()
        with self._lock:
            return max((self._wait(key, now) for key in keys), default=0.0)

    def _wait(self, key: str, now: float) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        if count < self.FREE_FAILURES:
            return 0.0
        delay = min(2.0 ** (count - self.FREE_FAILURES), self.MAX_WAIT)
        return max(0.0, last + delay - now)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                count, _ = self._failures.get(key, (0, 0.0))
                self._failures[key] = (count + 1, now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def check(self, *keys: str) -> None:
        wait = self.wait_for(*keys)
        if wait > 0:
            seconds = math.ceil(wait)
            raise HubError(
                429,
                "too_many_tries",
                ngettext(
                    "Too many wrong tries. Please wait %(num)d second and try again.",
                    "Too many wrong tries. Please wait %(num)d seconds and try again.",
                    seconds,
                ),
                headers={"Retry-After": str(seconds)},
            )


def throttle_keys(username: str) -> tuple[str, str]:
    return f"user:{username.strip().lower()}", f"client:{request.remote_addr}"
