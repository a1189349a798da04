"""Central staff sessions: who is signed in, and the guard on every staff page. The cookie
names a session kept at central (sync.central.staff), so signing out ends every copy of it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import redirect, request, session, url_for

from hub.core.errors import HubError
from hub.core.translate import gettext
from sync.central.models import Staff
from sync.central.staff import end_session, staff_of_session, start_session

SESSION_KEY = "central_staff"


def current_staff() -> Staff | None:
    token = session.get(SESSION_KEY)
    return staff_of_session(token) if isinstance(token, str) and token else None


def sign_in(staff: Staff) -> None:
    """Start a fresh session (never reuse one from before sign-in)."""
    session.clear()
    session[SESSION_KEY] = start_session(staff)


def sign_out() -> None:
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        end_session(token)
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
