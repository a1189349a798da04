"""The appliance's web side: the trusted clock, its correction by a staff member's browser
(POST /api/clock) and an operator's undo (POST /admin/clock/undo), and the status the
operator page shows (appliance/status.html)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.core.appliance_status import appliance_status
from hub.core.clock import ClockError, HubClock
from hub.core.errors import HubError
from hub.people.auth import check_role, json_body

bp = Blueprint("appliance", __name__)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    config = app.config["LEARNHUB"]
    app.extensions["clock"] = HubClock(config.data_dir, max_ahead_days=config.clock_max_ahead_days)
    app.before_request(_see_the_time)
    app.jinja_env.globals["appliance_status"] = lambda: appliance_status(
        app.config["LEARNHUB"], hub_clock()
    )


def _see_the_time() -> None:
    # Every request is a chance to see the time, so "last seen" keeps up while the hub serves
    # (and returns None: a value would replace the response).
    hub_clock().now()


def hub_clock() -> HubClock:
    return current_app.extensions["clock"]


@bp.post("/api/clock")
def correct_clock() -> ResponseReturnValue:
    who = check_role("coach", "operator")
    browser_ms = json_body().get("browser_ms")
    if isinstance(browser_ms, bool) or not isinstance(browser_ms, int | float):
        raise HubError(400, "bad_request", _("Send browser_ms: your clock in milliseconds."))
    try:
        result = hub_clock().correct(
            browser_ms / 1000, who.username, who.role, request.remote_addr or ""
        )
    except ValueError:
        raise HubError(
            400, "bad_time", _("Your device's clock looks wrong; check its date and time.")
        ) from None
    except ClockError as err:
        raise HubError(503, "clock_not_settable", str(err)) from None
    return jsonify(
        {
            "changed": result.changed,
            "reason": result.reason,
            "hub_time_ms": round(result.hub_time * 1000),
            "behind_seconds": round(result.behind),
            "message": _MESSAGES[result.reason](),
        }
    )


@bp.post("/admin/clock/undo")
def undo_correction() -> ResponseReturnValue:
    """The operator takes back the newest correction (a device with a wrong date set it)."""
    who = check_role("operator")
    try:
        hub_clock().undo_last(who.username, who.role)
    except ClockError as err:
        flash(str(err))
    else:
        flash(_MESSAGES["undone"]())
    return redirect(url_for("admin.index") + "#appliance-clock", 303)


_MESSAGES = {
    "corrected": lambda: _("The hub's clock was behind; it now uses your device's time."),
    "in_sync": lambda: _("The hub's clock agrees with your device's (within 5 minutes)."),
    "hub_ahead": lambda: _("The hub's clock is ahead of your device's; it is never set back."),
    "before_last_seen": lambda: _(
        "Your device's time is earlier than a time the hub has already seen; "
        "check your device's date and time."
    ),
    "too_far_ahead": lambda: _(
        "Your device's time is too far ahead of the hub's to be right; the hub kept its own. "
        "Check your device's date and time."
    ),
    "undone_before": lambda: _(
        "An operator took back this same change of the clock; the hub kept its own time. "
        "Check your device's date and time."
    ),
    "undone": lambda: _(
        "The last clock correction was taken back. Work recorded meanwhile keeps its order."
    ),
}
