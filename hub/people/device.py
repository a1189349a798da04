"""Telling clients apart for the sign-in throttle: a long-lived device cookie, signed by the
server, so two phones behind one address are two clients; without one, the address.

The cookie is not the session: it survives sign-out, and carries nothing but a random id.
It is signed so a client cannot invent a fresh id for every guess (it may still fetch fresh
ones, which is why every client at an address also shares an allowance, see hub.core.throttle).
"""

from __future__ import annotations

import secrets

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from itsdangerous import BadSignature, Signer

COOKIE = "hub_device"
MAX_AGE = 5 * 365 * 24 * 3600


def _signer() -> Signer:
    return Signer(current_app.secret_key or "", salt="learnhub-device")


def client_keys() -> tuple[str, ...]:
    """Who this browser is: its device id; or, when it brought no (valid) device cookie, its
    address and the device id this response hands it, so its next tries count where this one
    did whether it keeps the cookie or not."""
    sent = request.cookies.get(COOKIE, "")
    try:
        return ("device:" + _signer().unsign(sent).decode(),)
    except (BadSignature, UnicodeDecodeError):
        fresh = g.hub_device_new = secrets.token_urlsafe(16)
        return (f"address:{request.remote_addr}", f"device:{fresh}")


def address() -> str:
    return str(request.remote_addr)


def remember() -> None:
    """Give this browser a device cookie with the response, unless it has one."""
    g.hub_device_wanted = True


def _hand_out(response: Response) -> Response:
    fresh = g.get("hub_device_new")
    if fresh is None:
        if not g.get("hub_device_wanted") or _valid(request.cookies.get(COOKIE, "")):
            return response
        fresh = secrets.token_urlsafe(16)
    value = _signer().sign(fresh).decode()
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="Lax", path="/")
    return response


def _valid(sent: str) -> bool:
    return bool(sent) and _signer().validate(sent)


def init_app(app: Flask) -> None:
    app.after_request(_hand_out)
