"""Central's outcomes dashboard: per region, hub, class or pack, over weeks or terms, as
charts, a table and CSV. Cells of fewer than 5 learners are hidden (sync/central/outcomes.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from hub.central.auth import staff_only
from hub.core.errors import HubError
from hub.web.outcome_charts import MEASURES, measure_chart, text, values
from sync.central import outcomes
from sync.central.models import now_ms
from sync.central.reports import csv_lines
from sync.outcomes import KINDS, Period, periods

bp = Blueprint("central_outcomes", __name__)

BY = ("region", "hub", "class", "pack")
CSV_COLUMNS = ["kind", "period", "by", "key", "name", "active_learners", "lessons_completed"]
CSV_COLUMNS += ["hours_spent", "mastery_percent", "hidden"]


def _choice() -> tuple[str, str, outcomes.Scope]:
    by, kind = request.args.get("by", "hub"), request.args.get("kind", "week")
    if by not in BY or kind not in KINDS:
        raise HubError(404, "not_found", gettext("There is no such view of the outcomes."))
    region, hub_id = request.args.get("region") or None, request.args.get("hub") or None
    return by, kind, outcomes.Scope(region=region, hub_id=hub_id)


def _periods(kind: str) -> list[Period]:
    central = current_app.extensions["central"]
    return [p for p in periods(now_ms(), central.terms) if p.kind == kind]


@bp.get("/outcomes")
@staff_only
def dashboard() -> ResponseReturnValue:
    by, kind, scope = _choice()
    shown = _periods(kind)
    totals = {c.period: c.__dict__ for c in outcomes.cells(shown, scope, "all")}
    found = outcomes.cells(shown, scope, by)
    names = outcomes.labels(by, sorted({c.key for c in found}))
    chosen = request.args.get("period") or (shown[-1].name if shown else "")
    latest = sorted((c for c in found if c.period == chosen), key=lambda c: names[c.key])
    trend = [(p.name, totals.get(p.name)) for p in shown]
    breakdown = [(names[c.key], c.__dict__) for c in latest]
    charts = {
        "trend": [measure_chart(trend, m, str(t), f"trend-{m}") for m, t in MEASURES.items()],
        "breakdown": [measure_chart(breakdown, m, str(t), f"by-{m}") for m, t in MEASURES.items()],
    }
    start, end = (shown[0].start, shown[-1].end) if shown else (0, 0)
    return render_template(
        "outcomes.html",
        by=by,
        kind=kind,
        scope=scope,
        periods=shown,
        chosen=chosen,
        charts=charts,
        rows=[(names[c.key], c, values(c.__dict__)) for c in found],
        missed=outcomes.missed(start, end, scope),
        regions=outcomes.regions(),
        hubs=outcomes.hubs(),
        measures=MEASURES,
        text=text,
    )


@bp.get("/outcomes.csv")
@staff_only
def export() -> ResponseReturnValue:
    by, kind, scope = _choice()
    shown = _periods(kind)
    found = outcomes.cells(shown, scope, "all") + outcomes.cells(shown, scope, by)
    names = outcomes.labels(by, sorted({c.key for c in found if c.by == by}))
    return Response(
        csv_lines(CSV_COLUMNS, _csv_rows(found, names)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="learnhub-outcomes-{by}.csv"'},
    )


def _csv_rows(found: list[outcomes.Cell], names: dict[str, str]) -> Iterator[list[Any]]:
    """A row per cell, each number the text its chart bar shows."""
    for cell in found:
        shown = values(cell.__dict__)
        name = names.get(cell.key, cell.key) if cell.by != "all" else ""
        numbers = [text(shown[m]) for m in MEASURES]
        yield [cell.kind, cell.period, cell.by, cell.key, name, *numbers, int(cell.hidden)]
