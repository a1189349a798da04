"""/coach/outcomes: this hub's outcomes as central counted them at the last sync, beside its
region's (issue #18 part 3), as charts, a table and CSV. The numbers come whole from the reply
(hub.learning.outcomes.held); only this hub's own class names and pack titles are added here,
and no learner is ever named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from hub.core.errors import HubError
from hub.learning import outcomes
from hub.learning.outcomes import HubOutcomes
from hub.people.auth import require
from hub.web.outcome_charts import MEASURES, measure_chart, text, values
from sync.central.reports import csv_lines
from sync.outcomes import KINDS

bp = Blueprint("outcomes", __name__)
ROLES = ("coach", "operator")
BY = ("class", "pack")
CSV_COLUMNS = ["scope", "kind", "period", "by", "key", "name", "active_learners"]
CSV_COLUMNS += ["lessons_completed", "hours_spent", "mastery_percent", "hidden"]


def _held() -> HubOutcomes | None:
    return outcomes.held(current_app.config["LEARNHUB"].data_dir)


def _choice() -> tuple[str, str]:
    by, kind = request.args.get("by", "class"), request.args.get("kind", "week")
    if by not in BY or kind not in KINDS:
        raise HubError(404, "not_found", _("There is no such view of the outcomes."))
    return by, kind


def _names(held: HubOutcomes, by: str) -> dict[str, str]:
    """This hub's names for the keys of its cells: a class that is gone keeps its key."""
    keys = {c["key"] for c in held.cells if c["by"] == by}
    found = outcomes.class_names(keys) if by == "class" else outcomes.pack_titles(keys)
    return {key: found.get(key) or key for key in keys}


@bp.get("/coach/outcomes")
@require(*ROLES)
def index() -> ResponseReturnValue:
    held = _held()
    if held is None:
        return render_template("coach/outcomes.html", held=None)
    by, kind = _choice()
    shown = held.of_kind(kind)
    names = [p.name for p in shown]
    chosen = request.args.get("period", "")
    chosen = chosen if chosen in names else (names[-1] if names else "")
    labels = _names(held, by)
    keys = sorted(held.keys("hub", by), key=lambda k: labels[k].casefold())
    trend = [(name, held.cell("hub", "all", "", name)) for name in names]
    compare = [(_("This hub"), held.cell("hub", "all", "", chosen))]
    if held.region:
        region = held.cell("region", "all", "", chosen)
        compare.append((_("Region: %(name)s", name=held.region), region))
    breakdown = [(labels[key], held.cell("hub", by, key, chosen)) for key in keys]
    charts = {
        "trend": _charts(trend, "trend"),
        "compare": _charts(compare, "compare"),
        "breakdown": _charts(breakdown, "by"),
    }
    rows = [(labels[k], p, values(held.cell("hub", by, k, p))) for k in keys for p in names]
    return render_template(
        "coach/outcomes.html",
        held=held,
        computed=datetime.fromtimestamp(held.computed / 1000, UTC),
        by=by,
        kind=kind,
        periods=names,
        chosen=chosen,
        charts=charts,
        rows=rows,
        missed=_missed(held),
        measures=MEASURES,
        text=text,
    )


def _charts(rows: list[tuple[str, dict[str, Any] | None]], ident: str) -> list[Any]:
    return [measure_chart(rows, m, str(title), f"{ident}-{m}") for m, title in MEASURES.items()]


def _missed(held: HubOutcomes) -> dict[str, list[dict[str, Any]]]:
    """The most missed questions, this hub's and the region's, with this hub's pack titles."""
    titles = outcomes.pack_titles({m["pack_id"] for m in held.missed})
    found: dict[str, list[dict[str, Any]]] = {"hub": [], "region": []}
    for item in held.missed:
        found[item["scope"]].append({**item, "pack": titles.get(item["pack_id"], item["pack_id"])})
    return found


@bp.get("/coach/outcomes.csv")
@require(*ROLES)
def export() -> ResponseReturnValue:
    held = _held()
    if held is None:
        raise HubError(404, "not_found", _("No outcomes have come from central yet."))
    by, kind = _choice()
    return Response(
        csv_lines(CSV_COLUMNS, _csv_rows(held, by, kind)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="hub-outcomes-{by}.csv"'},
    )


def _csv_rows(held: HubOutcomes, by: str, kind: str) -> Iterator[list[Any]]:
    """The hub's and the region's totals and the hub's cells by class or pack, a row per
    period; each number the text its chart bar shows."""
    labels = _names(held, by)
    for cell in held.cells:
        if cell["kind"] != kind or cell["by"] not in ("all", by):
            continue
        shown = values(cell)
        name = labels.get(cell["key"], cell["key"]) if cell["by"] == by else ""
        hidden = int(cell["learners"] is None)
        numbers = [text(shown[m]) for m in MEASURES]
        yield [cell["scope"], kind, cell["period"], cell["by"], cell["key"], name, *numbers, hidden]
