"""/admin/jobs: long work started from the admin pages (imports of uploaded files, verify,
search rebuilds, copies from neighbours) and how far it is. A job's page refreshes itself
without JavaScript while the job runs; with it, job-progress.js follows /api/jobs/<id>."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.core.errors import HubError
from hub.core.jobs import Job, JobRunner, Work
from hub.library.library_jobs import verify_work
from hub.people.auth import require
from hub.web import job_text

bp = Blueprint("jobs", __name__)
NO_STORE = {"Cache-Control": "no-store"}


def runner() -> JobRunner:
    return current_app.extensions["jobs"]


@bp.get("/admin/jobs/")
@require("operator")
def index() -> ResponseReturnValue:
    jobs = runner().recent()
    page = render_template("jobs/index.html", section="jobs", jobs=jobs, text=job_text)
    return page, 200, NO_STORE


@bp.post("/admin/jobs/verify")
@require("operator")
def verify() -> ResponseReturnValue:
    return _started("verify", verify_work(current_app.extensions["library"]))


@bp.post("/admin/jobs/rebuild")
@require("operator")
def rebuild() -> ResponseReturnValue:
    search = current_app.extensions["search"]
    return _started("rebuild", lambda job: search.rebuild(lambda n, of: job.report("", n, of)))


def _started(kind: str, work: Work) -> ResponseReturnValue:
    """The job's page, or back to the list with the sentence when the hub is busy."""
    try:
        job = runner().submit(kind, "", work)
    except HubError as err:
        flash(str(err.description))
        return redirect(url_for(".index"), 303)
    return redirect(url_for(".job_page", job_id=job.id), 303)


@bp.get("/admin/jobs/<int:job_id>")
@require("operator")
def job_page(job_id: int) -> ResponseReturnValue:
    page = render_template("jobs/job.html", section="jobs", job=_job(job_id), text=job_text)
    return page, 200, NO_STORE


@bp.get("/api/jobs/<int:job_id>")
@require("operator")
def job_json(job_id: int) -> ResponseReturnValue:
    return jsonify(job_text.as_json(_job(job_id))), 200, NO_STORE


def _job(job_id: int) -> Job:
    found = runner().get(job_id)
    if found is None:
        raise HubError(404, "no_such_job", _("That work finished long ago; its outcome is gone."))
    return found
