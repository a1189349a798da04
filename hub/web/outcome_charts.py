"""Outcome measures as words, numbers and bar charts, the same on central's dashboard, the
hub's outcomes page and their CSV files (a CSV cell is the text its chart bar shows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import lazy_gettext
from markupsafe import Markup

from hub.web.charts import INK, STATUS_COLOURS, Bar, bar_chart

MEASURES = {
    "learners": lazy_gettext("Active learners"),
    "completed": lazy_gettext("Lessons completed"),
    "hours": lazy_gettext("Hours spent"),
    "mastery": lazy_gettext("Mastery rate (%)"),
}
HIDDEN = lazy_gettext("hidden: fewer than 5 learners")


def values(cell: Mapping[str, Any] | None) -> dict[str, float | None]:
    """The four measures of a cell (None: no activity, hidden, or nothing attempted)."""
    if cell is None or cell.get("learners") is None:
        return dict.fromkeys(MEASURES)
    mastery = cell.get("mastery")
    return {
        "learners": cell["learners"],
        "completed": cell["completed"],
        "hours": round(cell["seconds"] / 3600, 1),
        "mastery": None if mastery is None else round(mastery * 100),
    }


def text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def measure_chart(
    rows: Sequence[tuple[str, Mapping[str, Any] | None]], measure: str, title: str, ident: str
) -> Markup:
    """One bar per (label, cell): the measure's number after it, or why there is none."""
    shown = [(label, values(cell)[measure], cell) for label, cell in rows]
    top = max([v for _, v, _ in shown if v is not None] or [0]) or 1
    if measure == "mastery":
        top = 100
    bars = [
        Bar(label, (value or 0) / top, _bar_text(value, cell), _colour(measure, value))
        for label, value, cell in shown
    ]
    return bar_chart(bars, title, ident)


def _bar_text(value: float | None, cell: Mapping[str, Any] | None) -> str:
    if cell is not None and cell.get("learners") is None:
        return str(HIDDEN)
    return "-" if value is None else text(value)


def _colour(measure: str, value: float | None) -> str:
    if value is None:
        return INK
    return STATUS_COLOURS["completed"] if measure == "mastery" else STATUS_COLOURS["in_progress"]
