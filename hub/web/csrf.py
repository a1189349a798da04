"""CSRF, checked in one place for the hub and for central (`protect`, a `before_request`).

Every request that changes something (POST, PUT, PATCH, DELETE) must show it came from our own
pages: a form carries the session's token (one random token per session, compared in constant
time); a JSON call under /api/ says it is JSON and comes from our own origin
(`hub.people.auth.check_json_call`), which a cross-site form cannot do. The few endpoints that
legitimately take requests without a session are named in EXEMPT, each with its reason;
tests/test_csrf.py walks every route of both apps against this rule.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request, session
from flask_babel.speaklater import LazyString

from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.people.auth import check_json_call

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Endpoints that take state-changing requests without a session token, and why.
EXEMPT: dict[str, str] = {
    "central_api.join": "signed by the key the hub asks to enrol, no cookie; limited per address",
    "central_api.create_upload": "signed by an approved hub's key (sync.request_auth), no cookie",
    "central_api.upload_chunk": "signed by the hub that opened the upload; finish checks sha256",
    "central_api.finish_upload": "signed by the hub that opened the upload, no cookie",
}

View = TypeVar("View", bound=Callable[..., Any])
_LARGER_FORM = "csrf_larger_form"
TOKEN_HEADER = "X-CSRF-Token"


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def protect() -> None:
    """Refuse a state-changing request that does not show it came from our own pages, before
    any view runs: a route added tomorrow is covered without anyone remembering a call."""
    # No route (404/405): routing answers it, and there is nothing to protect.
    if request.method not in STATE_CHANGING or request.endpoint is None:
        return
    if request.endpoint in EXEMPT:
        return
    if request.path.startswith("/api/"):
        check_json_call()
        return
    _check_form_token()


def larger_form(
    limit: int | Callable[[], int], too_large: str | LazyString
) -> Callable[[View], View]:
    """For a form that may be larger than MAX_CONTENT_LENGTH (the roster import's CSV): its
    token is read before the view runs, so the larger limit (or a function of the settings
    giving it), and the words for a body over it, must be known to `protect` first."""

    def mark(view: View) -> View:
        setattr(view, _LARGER_FORM, (limit, too_large))
        return view

    return mark


def _check_form_token() -> None:
    view = current_app.view_functions[request.endpoint or ""]
    larger: tuple[int | Callable[[], int], str | LazyString] | None
    larger = getattr(view, _LARGER_FORM, None)
    if larger is not None:
        limit = larger[0]() if callable(larger[0]) else larger[0]
        too_large = larger[1]
        if (request.content_length or 0) > limit:
            raise HubError(413, "too_large", str(too_large))
        request.max_content_length = limit
    # A script sending a file in pieces (raw bytes, no form) carries the token in a header.
    sent = request.headers.get(TOKEN_HEADER) or request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise HubError(
            400,
            "csrf_failed",
            gettext("This form has expired. Please go back, reload the page and try again."),
        )
