"""/admin: the operator's pages (status, staff accounts, learners, classes, roster import),
and /admin/setup, where the first operator is made with the code printed in the server log."""

from __future__ import annotations

import hmac
import re

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from hub.core.errors import HubError
from hub.learning.events import Event
from hub.library import cache
from hub.library.models import Lesson, Pack
from hub.people import device, roster
from hub.people.auth import check_role, current_user, require, right_secret, sign_in, take_try
from hub.people.models import ROLES, ClassGroup, Learner, PeopleError, StaffUser
from hub.people.sessions import SigninSession
from hub.web.csrf import larger_form

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Room for the multipart wrapping around a roster file of the largest size allowed.
UPLOAD_SLACK = 64 * 1024


@bp.get("/")
@require("operator")
def index() -> ResponseReturnValue:
    return render_template(
        "admin/index.html",
        packs=Pack.ordered(),
        status=_status(),
        caches=_caches(),
        cache_total={"mb": cache.POOL.used / 1e6, "of": cache.POOL.total / 1e6},
    )


def _caches() -> list[dict[str, object]]:
    """What each page cache holds, in MB, for the status card (together within `cache_bytes`;
    each may borrow what the others leave unused)."""
    labels = {
        "library": _("Lesson details"),
        "pages": _("Rendered pages"),
        "parsed files": _("Exercises and subtitles"),
        "search answers": _("Search results"),
        "responses": _("Pages kept for visitors"),
    }
    return [{"label": labels[entry["name"]], "mb": entry["bytes"] / 1e6} for entry in cache.stats()]


def _status() -> dict[str, int]:
    return {
        "packs": Pack.select().count(),
        "lessons": Lesson.select().count(),
        "learners": Learner.select().count(),
        "classes": ClassGroup.select().count(),
        "staff": StaffUser.select().count(),
        "events": Event.select().count(),
    }


# --- first operator ---------------------------------------------------------------------


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> ResponseReturnValue:
    code = _setup_code()
    device.remember()
    if request.method == "GET":
        return render_template("admin/setup.html", error=None, form={})
    # Per client: a stranger's wrong codes slow the stranger, not the person at the console.
    slot = take_try("setup")
    if not _same_code(request.form.get("code", ""), code):
        return _setup_form(_("That setup code is not right. Check the server log."), 403)
    right_secret(slot)
    password = request.form.get("password", "")
    if password != request.form.get("password2", ""):
        return _setup_form(_("The two passwords are not the same."), 400)
    try:
        operator = roster.create_first_operator(request.form.get("name", ""), password)
    except PeopleError as err:
        return _setup_form(str(err), 400)
    current_app.extensions["setup_code"] = None
    if operator is None:
        raise HubError(404, "not_found", _("This page does not exist."))
    sign_in(operator)
    flash(_("Welcome! Your user name is %(username)s.", username=operator.username))
    return redirect(url_for("admin.index"), 303)


def _setup_code() -> str:
    """The live code, or 404: once an operator exists (even one made with the CLI while the
    hub runs) the code is void and the page is gone."""
    if StaffUser.has_operator():
        current_app.extensions["setup_code"] = None
    code = current_app.extensions.get("setup_code")
    if not code:
        raise HubError(404, "not_found", _("This page does not exist."))
    return code


def _same_code(typed: str, code: str) -> bool:
    """People copy the code with or without dashes, spaces and capitals."""
    plain = re.sub(r"[^0-9A-Z]", "", typed.upper())[:64]
    return hmac.compare_digest(plain, re.sub(r"[^0-9A-Z]", "", code.upper()))


def _setup_form(error: str, status: int) -> ResponseReturnValue:
    form = {"name": request.form.get("name", "")}
    return render_template("admin/setup.html", error=error, form=form), status


# --- staff accounts ---------------------------------------------------------------------


@bp.get("/users")
@require("operator")
def users() -> ResponseReturnValue:
    return _users_page()


@bp.post("/users")
@require("operator")
def add_user() -> ResponseReturnValue:
    form = request.form
    try:
        user = roster.add_staff(form.get("name", ""), form.get("role", ""), _password())
    except PeopleError as err:
        return _users_page(str(err), 400)
    flash(_("Added %(name)s. They sign in as %(username)s.", **_names(user)))
    return redirect(url_for("admin.users"), 303)


def _users_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    everyone = StaffUser.select().order_by(StaffUser.role.desc(), StaffUser.display_name)
    form = {"name": request.form.get("name", ""), "role": request.form.get("role", "coach")}
    page = render_template("admin/users.html", users=everyone, roles=ROLES, error=error, form=form)
    return page, status


def _password() -> str:
    password = request.form.get("password", "")
    if password != request.form.get("password2", password):
        raise PeopleError(_("The two passwords are not the same."))
    return password


def _names(user: StaffUser | Learner) -> dict[str, str]:
    return {"name": user.display_name, "username": user.username}


@bp.get("/users/<int:user_id>")
@require("operator")
def user(user_id: int) -> ResponseReturnValue:
    return _user_page(_staff(user_id))


@bp.post("/users/<int:user_id>/password")
@require("operator")
def user_password(user_id: int) -> ResponseReturnValue:
    found = _staff(user_id)
    try:
        roster.set_password(found, _password())
    except PeopleError as err:
        return _user_page(found, str(err), 400)
    flash(_("The password of %(name)s is changed.", name=found.display_name))
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/delete")
@require("operator")
def user_delete(user_id: int) -> ResponseReturnValue:
    found = _staff(user_id)
    try:
        roster.remove_staff(found, check_role("operator").username)
    except PeopleError as err:
        return _user_page(found, str(err), 400)
    flash(_("%(name)s can no longer sign in.", name=found.display_name))
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/signout")
@require("operator")
def user_signout(user_id: int) -> ResponseReturnValue:
    return _signed_out_everywhere(_staff(user_id), url_for("admin.user", user_id=user_id))


def _signed_out_everywhere(person: StaffUser | Learner, back: str) -> ResponseReturnValue:
    """End every session of `person` (a lost phone, a shared computer left signed in)."""
    me = current_user()
    SigninSession.end_all(person)
    flash(_("%(name)s is signed out on every device.", name=person.display_name))
    if me is not None and isinstance(person, StaffUser) and me.id == person.id:
        return redirect(url_for("session.staff"), 303)  # that was this session too
    return redirect(back, 303)


def _staff(user_id: int) -> StaffUser:
    found = StaffUser.get_or_none(StaffUser.id == user_id)
    if found is None:
        raise HubError(404, "user_not_found", _("There is no such account on this hub."))
    return found


def _user_page(
    found: StaffUser, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    return render_template("admin/user.html", user=found, error=error), status


# --- learners ---------------------------------------------------------------------------


@bp.get("/learners")
@require("operator")
def learners() -> ResponseReturnValue:
    return _learners_page()


@bp.post("/learners")
@require("operator")
def add_learner() -> ResponseReturnValue:
    form = request.form
    try:
        learner = roster.add_learner(
            form.get("name", ""),
            pin=form.get("pin", ""),
            language=form.get("language", ""),
            classes=_chosen_classes(),
        )
    except PeopleError as err:
        return _learners_page(str(err), 400)
    flash(_("Added %(name)s (user name %(username)s).", **_names(learner)))
    return redirect(url_for("admin.learners"), 303)


def _learners_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    group = _class_filter()
    listing = roster.learner_page(
        group=group, search=request.args.get("q", ""), page=_int(request.args.get("page"), 1)
    )
    page = render_template(
        "admin/learners.html",
        listing=listing,
        group=group,
        search=request.args.get("q", ""),
        classes=ClassGroup.ordered(),
        languages=_languages(),
        chosen=set(request.form.getlist("class")),
        form=request.form,
        error=error,
    )
    return page, status


def _class_filter() -> ClassGroup | None:
    class_id = _int(request.args.get("class"), 0)
    return ClassGroup.get_or_none(ClassGroup.id == class_id) if class_id else None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text or default)
    except ValueError:
        return default


def _chosen_classes() -> list[ClassGroup]:
    """The classes ticked on a form; one that was deleted meanwhile is an error, not a skip."""
    ids = {_int(value, -1) for value in request.form.getlist("class")}
    found = list(ClassGroup.select().where(ClassGroup.id.in_(list(ids))))
    if len(found) != len(ids):
        raise PeopleError(_("One of the classes you chose does not exist any more."))
    return found


def _languages() -> list[str]:
    """Suggestions for the language field: the library's languages."""
    return sorted({pack.language for pack in Pack.select(Pack.language)})


@bp.get("/learners.csv")
@require("operator")
def export_learners() -> ResponseReturnValue:
    text = roster.export_csv(Learner.select().order_by(Learner.display_name, Learner.id))
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="learners.csv"'},
    )


@bp.route("/learners/<int:learner_id>", methods=["GET", "POST"])
@require("operator")
def learner(learner_id: int) -> ResponseReturnValue:
    found = Learner.get_or_none(Learner.id == learner_id)
    if found is None:
        raise HubError(404, "learner_not_found", _("There is no such learner on this hub."))
    if request.method == "GET":
        return _learner_page(found, {group.id for group in found.classes()})
    form = request.form
    try:
        roster.update_learner(
            found,
            name=form.get("name", ""),
            language=form.get("language", ""),
            classes=_chosen_classes(),
            new_pin=form.get("pin", ""),
            remove_pin=form.get("remove_pin") == "1",
        )
    except PeopleError as err:
        chosen = {_int(value, -1) for value in form.getlist("class")}
        return _learner_page(found, chosen, str(err), 400)
    flash(_("Saved %(name)s.", name=found.display_name))
    return redirect(url_for("admin.learners"), 303)


@bp.post("/learners/<int:learner_id>/signout")
@require("operator")
def learner_signout(learner_id: int) -> ResponseReturnValue:
    found = Learner.get_or_none(Learner.id == learner_id)
    if found is None:
        raise HubError(404, "learner_not_found", _("There is no such learner on this hub."))
    return _signed_out_everywhere(found, url_for("admin.learner", learner_id=learner_id))


def _learner_page(
    found: Learner, chosen: set[int], error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    page = render_template(
        "admin/learner.html",
        learner=found,
        classes=ClassGroup.ordered(),
        chosen=chosen,
        languages=_languages(),
        form=request.form if request.method == "POST" else None,
        error=error,
    )
    return page, status


# --- classes ----------------------------------------------------------------------------


@bp.get("/classes")
@require("operator")
def classes() -> ResponseReturnValue:
    return _classes_page()


@bp.post("/classes")
@require("operator")
def add_class() -> ResponseReturnValue:
    try:
        group = roster.add_class(request.form.get("name", ""))
    except PeopleError as err:
        return _classes_page(str(err), 400)
    flash(_("Added the class %(name)s.", name=group.name))
    return redirect(url_for("admin.classes"), 303)


def _classes_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    page = render_template(
        "admin/classes.html",
        classes=ClassGroup.ordered(),
        sizes=roster.class_sizes(),
        form=request.form,
        error=error,
    )
    return page, status


@bp.get("/classes/<int:class_id>")
@require("operator")
def class_page(class_id: int) -> ResponseReturnValue:
    return _class_page(_class(class_id))


@bp.post("/classes/<int:class_id>/rename")
@require("operator")
def rename_class(class_id: int) -> ResponseReturnValue:
    group = _class(class_id)
    try:
        roster.rename_class(group, request.form.get("name", ""))
    except PeopleError as err:
        return _class_page(group, str(err), 400)
    flash(_("The class is now called %(name)s.", name=group.name))
    return redirect(url_for("admin.class_page", class_id=class_id), 303)


@bp.post("/classes/<int:class_id>/delete")
@require("operator")
def delete_class(class_id: int) -> ResponseReturnValue:
    group = _class(class_id)
    if request.form.get("confirm") != "1":
        return _class_page(group, _("Tick the box to confirm, then delete."), 400)
    roster.delete_class(group)
    flash(_("Deleted the class %(name)s. Its learners are still on the hub.", name=group.name))
    return redirect(url_for("admin.classes"), 303)


@bp.post("/classes/<int:class_id>/members")
@require("operator")
def add_members(class_id: int) -> ResponseReturnValue:
    group = _class(class_id)
    ids = [_int(value, -1) for value in request.form.getlist("learner")]
    chosen = list(Learner.select().where(Learner.id.in_(ids)))
    if not chosen:
        return _class_page(group, _("Choose a learner to add."), 400)
    for found in chosen:
        group.add_learner(found)
    return redirect(url_for("admin.class_page", class_id=class_id), 303)


@bp.post("/classes/<int:class_id>/members/<int:learner_id>/remove")
@require("operator")
def remove_member(class_id: int, learner_id: int) -> ResponseReturnValue:
    group = _class(class_id)
    found = Learner.get_or_none(Learner.id == learner_id)
    if found is not None:
        roster.remove_member(group, found)
    return redirect(url_for("admin.class_page", class_id=class_id), 303)


def _class(class_id: int) -> ClassGroup:
    group = ClassGroup.get_or_none(ClassGroup.id == class_id)
    if group is None:
        raise HubError(404, "class_not_found", _("There is no such class on this hub."))
    return group


def _class_page(
    group: ClassGroup, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    page = render_template(
        "admin/class.html",
        group=group,
        members=group.learners(),
        others=roster.not_in_class(group),
        error=error,
    )
    return page, status


# --- roster import ----------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@require("operator")
@larger_form(
    roster.MAX_CSV_BYTES + UPLOAD_SLACK,
    lazy_gettext("The file is larger than 1 MB; split it into smaller files."),
)
def import_roster() -> ResponseReturnValue:
    if request.method == "GET":
        return _import_page()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(error=_("Choose a CSV file first."), status=400)
    data = upload.read(roster.MAX_CSV_BYTES + 1)
    try:
        summary = roster.import_csv(data, check_only=request.form.get("action") == "check")
    except roster.RosterError as err:
        return _import_page(error=str(err), problems=err.problems, status=400)
    return _import_page(summary=summary)


def _import_page(
    *,
    error: str | None = None,
    problems: list[str] | None = None,
    summary: roster.ImportSummary | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    page = render_template(
        "admin/import.html",
        error=error,
        problems=problems or [],
        summary=summary,
        max_rows=roster.MAX_CSV_ROWS,
    )
    return page, status
