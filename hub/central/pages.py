"""Pages for central staff: sign-in, the dashboard, hub approval, progress, CSV exports."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from hub.central.auth import sign_in, sign_out, staff_only
from hub.core.errors import HubError
from hub.people import device
from hub.people.auth import right_secret, take_try
from hub.web.redirects import local_target
from sync.central import reports
from sync.central.hubs import set_status
from sync.central.models import APPROVED, REVOKED, QuarantineItem
from sync.central.service import Central
from sync.central.staff import authenticate
from sync.fingerprint import fingerprint

bp = Blueprint("central_pages", __name__)

QUARANTINE_SHOWN = 500  # rows on the quarantine page: a bounded page, however many there are

REPORTS = {
    "hub": (reports.by_hub, lazy_gettext("Progress by hub")),
    "class": (reports.by_class, lazy_gettext("Progress by class")),
    "pack": (reports.by_pack, lazy_gettext("Progress by pack")),
}
EXPORTS = {
    "hubs": reports.hubs_table,
    "progress-by-hub": reports.by_hub,
    "progress-by-class": reports.by_class,
    "progress-by-pack": reports.by_pack,
}


def _central() -> Central:
    return current_app.extensions["central"]


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> ResponseReturnValue:
    error = None
    if request.method == "POST":
        slot = take_try("signin")
        staff = authenticate(request.form.get("username", ""), request.form.get("password", ""))
        if staff is not None:
            right_secret(slot)
            sign_in(staff)
            home = url_for("central_pages.dashboard")
            return redirect(local_target(request.args.get("next"), home))
        error = gettext("That name and password do not match. Please try again.")
    else:
        device.remember()
    return render_template("signin.html", error=error), 401 if error else 200


@bp.post("/signout")
def signout() -> ResponseReturnValue:
    sign_out()
    return redirect(url_for("central_pages.signin"))


@bp.get("/")
@staff_only
def dashboard() -> ResponseReturnValue:
    return render_template(
        "dashboard.html",
        status=_central().status(),
        hubs=reports.hubs_overview(),
        fingerprint=fingerprint(_central().keys.public_key),  # hubs confirm it (docs/sync.md)
    )


@bp.get("/hubs")
@staff_only
def hubs() -> ResponseReturnValue:
    return render_template("hubs.html", hubs=reports.hubs_overview())


@bp.post("/hubs/<hub_id>/<action>")
@staff_only
def change_hub(hub_id: str, action: str) -> ResponseReturnValue:
    status = {"approve": APPROVED, "revoke": REVOKED}.get(action)
    if status is None:
        raise HubError(404, "not_found", gettext("There is no such action."))
    set_status(hub_id, status)
    return redirect(url_for("central_pages.hubs"))


@bp.get("/quarantine")
@staff_only
def quarantine() -> ResponseReturnValue:
    """What hubs sent that central kept aside, newest first (the page shows at most
    QUARANTINE_SHOWN; `learnhub central status --json` counts them all)."""
    items = QuarantineItem.newest(QUARANTINE_SHOWN)
    return render_template(
        "quarantine.html", items=items, status=_central().status(), shown=QUARANTINE_SHOWN
    )


@bp.get("/progress")
@staff_only
def progress() -> ResponseReturnValue:
    by = request.args.get("by", "hub")
    if by not in REPORTS:
        raise HubError(404, "not_found", gettext("Progress can be shown by hub, class or pack."))
    build, title = REPORTS[by]
    return render_template("progress.html", table=build(), by=by, title=title)


@bp.get("/export/<name>.csv")
@staff_only
def export(name: str) -> ResponseReturnValue:
    if name == "learners":
        columns, rows = reports.LEARNER_COLUMNS, reports.learner_rows()
    elif name in EXPORTS:
        table = EXPORTS[name]()
        columns, rows = table.columns, iter(table.rows)
    else:
        raise HubError(404, "not_found", gettext("There is no such export."))
    body = stream_with_context(reports.csv_lines(columns, rows))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="learnhub-{name}.csv"'},
    )
