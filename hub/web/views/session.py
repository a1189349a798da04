"""Signing in and out: the JSON API, and pages made for shared phones and young children
(pick your class, tap your name, type your PIN). The sign-in pages carry `next=` along, and
after sign-in go there when it is a path on this hub."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.people import device
from hub.people.auth import current_user, json_body, sign_out
from hub.people.models import ClassGroup, Learner
from hub.people.signin import authenticate
from hub.web.redirects import local_target

bp = Blueprint("session", __name__)


@bp.post("/api/session")
def create() -> ResponseReturnValue:
    body = json_body()
    username, pin, password = body.get("username"), body.get("pin"), body.get("password")
    if not isinstance(username, str) or not username.strip():
        raise HubError(400, "bad_request", gettext("Send a username."))
    for secret in (pin, password):
        if secret is not None and not isinstance(secret, str):
            raise HubError(400, "bad_request", gettext("A PIN or password is sent as a string."))
    device.remember()
    identity = authenticate(username, pin=pin, password=password)
    return jsonify({"user": identity.as_json()}), 201


@bp.get("/api/session")
def show() -> ResponseReturnValue:
    who = current_user()
    if who is None:
        raise HubError(401, "sign_in_required", gettext("Nobody is signed in."))
    return jsonify({"user": who.as_json()})


@bp.delete("/api/session")
def delete() -> ResponseReturnValue:
    sign_out()
    return "", 204


@bp.get("/signin")
def choose_class() -> ResponseReturnValue:
    device.remember()
    return render_template("signin/classes.html", classes=ClassGroup.ordered(), next=_next())


@bp.get("/signin/class/<int:class_id>")
def choose_name(class_id: int) -> ResponseReturnValue:
    group = ClassGroup.get_or_none(ClassGroup.id == class_id)
    if group is None:
        raise HubError(404, "class_not_found", gettext("There is no such class on this hub."))
    device.remember()
    return render_template(
        "signin/names.html", group=group, learners=group.learners(), next=_next()
    )


@bp.route("/signin/learner/<username>", methods=["GET", "POST"])
def learner(username: str) -> ResponseReturnValue:
    found = Learner.by_username(username)
    if found is None:
        raise HubError(404, "learner_not_found", gettext("There is no such learner on this hub."))
    device.remember()
    if request.method == "POST":
        try:
            authenticate(username, pin=request.form.get("pin", ""))
        except HubError as err:
            page = render_template(
                "signin/pin.html", learner=found, error=err.description, next=_next()
            )
            return page, err.code
        return redirect(local_target(_next(), url_for("pages.home")), 303)
    return render_template("signin/pin.html", learner=found, error=None, next=_next())


@bp.route("/signin/staff", methods=["GET", "POST"])
def staff() -> ResponseReturnValue:
    device.remember()
    if request.method == "POST":
        username = request.form.get("username", "")
        try:
            identity = authenticate(username, password=request.form.get("password", ""))
        except HubError as err:
            page = render_template("signin/staff.html", error=err.description, next=_next())
            return page, err.code
        home = url_for("admin.index" if identity.role == "operator" else "coach.index")
        return redirect(local_target(_next(), home), 303)
    return render_template("signin/staff.html", error=None, next=_next())


def _next() -> str | None:
    """Where to go after sign-in, as asked (checked only when used: local_target)."""
    return request.args.get("next") or None


@bp.get("/signout")
def confirm_signout() -> ResponseReturnValue:
    """Asks once ("Are you Amina?") before signing out: the name in the bar is a big target."""
    if current_user() is None:
        return redirect(url_for("pages.home"), 303)
    return render_template("signin/signout.html")


@bp.post("/signout")
def signout() -> ResponseReturnValue:
    sign_out()
    return redirect(url_for("pages.home"), 303)
