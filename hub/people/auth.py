"""Who is signed in, what their role allows, and the guards on JSON calls and guessing.

Sessions are Flask's signed cookie (HttpOnly, SameSite=Lax) naming a session kept on the hub
(hub.people.sessions), so that signing out ends every copy of the cookie. A learner signs in
with a PIN (or name alone when the class has none), coaches and operators with a password.
Guessing is slowed per client (hub.core.throttle); signed-in pages are never stored by the
browser.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request, session
from flask.wrappers import Response

from hub.core.errors import HubError
from hub.core.settings import Config
from hub.core.throttle import Refused, Slot, Throttle
from hub.core.translate import gettext, ngettext
from hub.people import device
from hub.people.models import Learner, StaffUser
from hub.people.sessions import SigninSession

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
    """Who this request is from; a session ended (signed out, secret changed, account removed)
    since sign-in counts as nobody."""
    here = g._get_current_object()  # one context lookup, not two: a page asks several times
    if "who" not in here:
        here.who = _identity_still_valid(session.get("who"), session.get("sid"))
    return cast(Identity | None, here.who)


def _identity_still_valid(stored: dict[str, Any] | None, token: str | None) -> Identity | None:
    if not stored or not isinstance(token, str):
        return None
    try:
        who = Identity(**stored)
    except TypeError:
        return None
    role = None if who.role == LEARNER else who.role
    if not SigninSession.is_live(token, who.id, who.username, role):
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
    session["sid"] = SigninSession.start(person)
    session["who"] = identity.__dict__
    g.who = identity
    return identity


def sign_out() -> None:
    """End this session: every copy of its cookie signs nobody in from now on."""
    token = session.get("sid")
    if isinstance(token, str):
        SigninSession.end(token)
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


def take_try(scope: str) -> Slot:
    """Count a guess by this client before its secret is checked, or answer 429."""
    throttle: Throttle = current_app.extensions["throttle"]
    try:
        return throttle.take(scope, device.client_keys(), device.address())
    except Refused as refused:
        raise HubError(
            429,
            "too_many_tries",
            ngettext(
                "Too many wrong tries. Please wait %(num)d second and try again.",
                "Too many wrong tries. Please wait %(num)d seconds and try again.",
                refused.wait,
            ),
            headers={"Retry-After": str(refused.wait)},
        ) from None


def right_secret(slot: Slot) -> None:
    """The secret was right: the guess does not count against this client."""
    current_app.extensions["throttle"].give_back(slot)


def make_throttle(config: Config) -> Throttle:
    """The throttle `config`'s settings ask for."""
    return Throttle(
        per_client=config.signin_tries_per_minute,
        per_address=config.signin_tries_per_address_minute,
        max_keys=config.throttle_clients,
    )


def init_sign_in(app: Flask, signed_in_key: str = "who") -> None:
    """Sign-in's part of every response: the device cookie, and no-store while the session
    holds `signed_in_key`."""

    def no_store(response: Response) -> Response:
        # Shared phones: what a signed-in page or answer showed must not come back from the
        # browser's cache (or its Back button) for whoever picks the phone up next.
        if session.get(signed_in_key) and response.mimetype in ("text/html", "application/json"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.after_request(no_store)
    device.init_app(app)
