"""/coach: classes, assignments and reports for coaches (operators may look too).

Pages work without JavaScript on a phone; the queries live in hub.learning.reports, the charts in
hub.web.charts, and this module only picks, renders and exports.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from hub.core.errors import HubError
from hub.learning import reports
from hub.learning.events import Progress
from hub.library.models import Lesson, Pack
from hub.library.responses import pack_or_404
from hub.people.auth import current_user, require
from hub.people.models import Assignment, ClassGroup, Learner
from hub.web import charts, i18n

bp = Blueprint("coach", __name__, url_prefix="/coach")
COACHES = ("coach", "operator")

STATUS_LABELS = {
    "not_started": lazy_gettext("Not started"),
    "in_progress": lazy_gettext("In progress"),
    "needs_help": lazy_gettext("Needs help"),
    "completed": lazy_gettext("Completed"),
}
# A shape as well as a colour and a word, so a status reads in black and white too.
STATUS_SYMBOLS = {"not_started": "○", "in_progress": "◔", "needs_help": "!", "completed": "✓"}
# Spreadsheets run a cell starting with these as a formula; a leading ' makes it plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# ------------------------------------------------------------------------------- formatting


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def cell_text(status: str, row: Progress | None) -> str:
    """The words in a grid cell: the status, and the best score of a scored lesson (a quiz,
    an H5P activity), else how far an unfinished lesson has got."""
    label = status_label(status)
    if row is not None and row.best_score is not None:
        return f"{label} {percent(row.best_score)}"
    if status == "in_progress" and row is not None and row.progress > 0:
        return f"{label} {percent(row.progress)}"
    return label


def percent(share: float | None) -> str:
    return i18n.percent(share)


def when(millis: int | None) -> str:
    """A wall time in the hub's local time (a Pi's clock may be wrong; we show what it says)."""
    return i18n.local_time(millis)


def spent(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return gettext("%(n)d s", n=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return gettext("%(n)d min", n=minutes)
    return gettext("%(h)d h %(m)02d min", h=minutes // 60, m=minutes % 60)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "STATUSES": reports.STATUSES,
        "STATUS_SYMBOLS": STATUS_SYMBOLS,
        "status_label": status_label,
        "cell_text": cell_text,
        "percent": percent,
        "when": when,
        "spent": spent,
    }


# ------------------------------------------------------------------------------- lookups


def _class(class_id: int) -> ClassGroup:
    group = ClassGroup.get_or_none(ClassGroup.id == class_id)
    if group is None:
        raise HubError(404, "class_not_found", gettext("There is no such class on this hub."))
    return group


def _learner(learner_id: int) -> Learner:
    learner = Learner.get_or_none(Learner.id == learner_id)
    if learner is None:
        raise HubError(404, "learner_not_found", gettext("There is no such learner on this hub."))
    return learner


def _chosen_pack() -> Pack | None:
    """The pack picked to see all its lessons (?pack=), or None for the assigned lessons."""
    pack_id = request.args.get("pack", "")
    if not pack_id:
        return None
    return pack_or_404(pack_id)


def _grid_lessons(items: list[reports.AssignedItem], pack: Pack | None) -> list[Lesson]:
    return reports.pack_lessons(pack) if pack else reports.assigned_lessons(items)


# ------------------------------------------------------------------------------- pages


@bp.get("/")
@require(*COACHES)
def index() -> ResponseReturnValue:
    return render_template("coach/index.html", classes=reports.class_summaries())


@bp.get("/classes/<int:class_id>")
@require(*COACHES)
def class_page(class_id: int) -> ResponseReturnValue:
    group, pack = _class(class_id), _chosen_pack()
    items = reports.assigned_items(group)
    grid = reports.class_grid(group, _grid_lessons(items, pack))
    chart = charts.status_chart(
        grid.counts(), STATUS_LABELS, gettext("Lessons by status"), "class-status"
    )
    return render_template(
        "coach/class.html",
        group=group,
        pack=pack,
        packs=Pack.ordered(),
        items=items,
        grid=grid,
        chart=chart,
    )


@bp.get("/classes/<int:class_id>/assign")
@require(*COACHES)
def assign_page(class_id: int) -> ResponseReturnValue:
    group, pack = _class(class_id), _chosen_pack()
    done = {(a.pack_id, a.topic_id or "", a.lesson_id or "") for a in Assignment.for_class(group)}
    return render_template(
        "coach/assign.html",
        group=group,
        pack=pack,
        packs=Pack.ordered(),
        tree=pack.topic_tree() if pack else [],
        loose=pack.loose_lessons() if pack else [],
        done=done,
    )


@bp.post("/classes/<int:class_id>/assignments")
@require(*COACHES)
def assign(class_id: int) -> ResponseReturnValue:
    group = _class(class_id)
    who = current_user()
    try:
        reports.assign(
            group,
            request.form.get("pack_id", ""),
            topic_id=request.form.get("topic_id", ""),
            lesson_id=request.form.get("lesson_id", ""),
            by=who.username if who else "",
        )
    except reports.AssignmentError as err:
        raise HubError(400, "bad_assignment", str(err)) from None
    return redirect(url_for(".class_page", class_id=group.id, _anchor="assignments"), 303)


@bp.post("/assignments")
@require(*COACHES)
def assign_to_class() -> ResponseReturnValue:
    """The "assign to a class" form of pages outside a class (a ZIM article's page)."""
    raw = request.form.get("class_id", "")
    if not raw.isdigit() or len(raw) > 12:
        raise HubError(400, "bad_assignment", gettext("Choose a class."))
    return assign(int(raw))


@bp.post("/classes/<int:class_id>/assignments/<int:assignment_id>/remove")
@require(*COACHES)
def unassign(class_id: int, assignment_id: int) -> ResponseReturnValue:
    group = _class(class_id)
    if not reports.unassign(group, assignment_id):
        raise HubError(404, "assignment_not_found", gettext("This class has no such assignment."))
    return redirect(url_for(".class_page", class_id=group.id, _anchor="assignments"), 303)


@bp.get("/classes/<int:class_id>/questions/<pack_id>/<lesson_id>")
@require(*COACHES)
def questions(class_id: int, pack_id: str, lesson_id: str) -> ResponseReturnValue:
    group = _class(class_id)
    lesson = Lesson.find(pack_id, lesson_id)
    if lesson is None or lesson.kind != "exercise":
        raise HubError(
            404, "lesson_not_found", gettext("There is no such exercise in this library.")
        )
    report = reports.question_stats(group, lesson)
    bars = [
        (f"{n}. {q.prompt}", q.share, _share_text(q))
        for n, q in enumerate(report.questions, start=1)
    ]
    chart = charts.difficulty_chart(bars, gettext("Share of right answers"), "question-share")
    return render_template("coach/questions.html", group=group, report=report, chart=chart)


def _share_text(stat: reports.QuestionStat) -> str:
    if stat.share is None:
        return gettext("no answers yet")
    return gettext(
        "%(share)s (%(right)d of %(total)d)",
        share=percent(stat.share),
        right=stat.correct,
        total=stat.answered,
    )


@bp.get("/learners/<int:learner_id>")
@require(*COACHES)
def learner_page(learner_id: int) -> ResponseReturnValue:
    detail = reports.learner_detail(_learner(learner_id))
    chart = charts.status_chart(
        detail.counts(), STATUS_LABELS, gettext("Lessons by status"), "learner-status"
    )
    return render_template("coach/learner.html", detail=detail, chart=chart)


# ------------------------------------------------------------------------------- CSV


@bp.get("/classes/<int:class_id>/grid.csv")
@require(*COACHES)
def grid_csv(class_id: int) -> ResponseReturnValue:
    group, pack = _class(class_id), _chosen_pack()
    grid = reports.class_grid(group, _grid_lessons(reports.assigned_items(group), pack))
    header = [gettext("Learner"), gettext("User name")]
    header += [lesson.title for lesson in grid.lessons]
    header += [status_label("completed"), status_label("needs_help")]
    rows: list[Sequence[Any]] = [header]
    for learner in grid.learners:
        counts = grid.learner_counts(learner)
        cells = [cell_text(grid.status(learner, q), grid.cell(learner, q)) for q in grid.lessons]
        rows.append(
            [
                learner.display_name,
                learner.username,
                *cells,
                counts["completed"],
                counts["needs_help"],
            ]
        )
    name = f"{gettext('progress')}-{group.name}" + (f"-{pack.id}" if pack else "")
    return csv_response(rows, name)


@bp.get("/learners/<int:learner_id>.csv")
@require(*COACHES)
def learner_csv(learner_id: int) -> ResponseReturnValue:
    detail = reports.learner_detail(_learner(learner_id))
    rows: list[Sequence[Any]] = [
        [
            gettext("Pack"),
            gettext("Lesson ID"),
            gettext("Lesson"),
            gettext("Status"),
            gettext("Progress %"),
            gettext("Best score %"),
            gettext("Attempts"),
            gettext("Minutes"),
            gettext("Last activity"),
        ]
    ]
    for line in detail.lessons:
        row = line.progress
        score = None if row.best_score is None else round(row.best_score * 100)
        rows.append(
            [
                row.pack_id,
                row.lesson_id,
                line.title,
                status_label(line.status),
                round(row.progress * 100),
                score,
                row.attempts,
                round(row.time_spent / 60, 1),
                i18n.sortable_time(row.last_activity),
            ]
        )
    for lesson in detail.waiting:
        rows.append(
            [lesson.pack_id, lesson.lesson_id, lesson.title, status_label("not_started"), 0]
        )
    return csv_response(rows, f"{gettext('learner')}-{detail.learner.display_name}")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as it is and never runs (OWASP's CSV injection advice)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(rows: Iterable[Sequence[Any]], name: str) -> Response:
    """UTF-8 with a byte-order mark: without it Excel reads accented names as mojibake."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    response = Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = attachment(name)
    response.headers["Cache-Control"] = "private, no-store"  # learners' results
    return response


def attachment(name: str) -> str:
    """A download name: plain ASCII for old browsers, the real name (RFC 6266) for the rest."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9_-]+", "-", plain).strip("-")[:80] or "export"
    readable = "".join(c for c in name if c.isprintable() and c not in '/\\"').strip()
    return (
        f'attachment; filename="{fallback}.csv"; '
        f"filename*=UTF-8''{quote((readable or fallback) + '.csv', safe='')}"
    )
