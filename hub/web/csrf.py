"""CSRF tokens for HTML forms: one random token per session, compared in constant time."""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

from hub.core.errors import HubError
from hub.core.translate import gettext


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise HubError(
            400,
            "csrf_failed",
            gettext("This form has expired. Please go back, reload the page and try again."),
        )
