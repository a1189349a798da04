"""Central staff sessions: who is signed in, and the guard on every staff page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import redirect, request, session, url_for

from hub.errors import HubError
from hub.translate import gettext
from sync.central.models import Staff

SESSION_KEY = "central_staff"


def current_staff() -> Staff | None:
    username = session.get(SESSION_KEY)
    return Staff.by_username(username) if username else None


def sign_in(staff: Staff) -> None:
    """Start a fresh session (never reuse one from before sign-in)."""
    session.clear()
    session[SESSION_KEY] = staff.username


def sign_out() -> None:
    session.clear()


def staff_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pages for central staff: a reader who is not signed in is sent to sign in (GET) or
    refused (anything that changes something)."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if current_staff() is None:
            if request.method == "GET":
                return redirect(url_for("central_pages.signin", next=request.full_path))
            raise HubError(401, "sign_in_required", gettext("Please sign in first."))
        return view(*args, **kwargs)

    return guarded
