"""Small charts drawn on the hub as inline SVG: no script, no library, readable on a phone.

Every bar carries its words and its number as text (colour is never the only cue), and every
chart has a <title> and a <desc> that say the whole of it for screen readers. All text is
escaped: labels come from class names and from content packs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 320  # viewBox units; about one CSS pixel each on a 360 px phone
ROW = 38
LABEL_BASELINE = 14
BAR_TOP = 19
BAR_HEIGHT = 14
VALUE_ROOM = 96  # room after the longest bar for its number
MAX_LABEL = 42  # characters; SVG text does not wrap
INK = "#1d2330"
TRACK = "#ece9e2"

STATUS_COLOURS = {
    "not_started": "#8a9099",
    "in_progress": "#2f6db5",
    "needs_help": "#a2322b",
    "completed": "#1e7b34",
}


@dataclass(frozen=True)
class Bar:
    label: str
    share: float  # the bar's length, 0..1 of the full length
    text: str  # written after the bar, e.g. "12 (40%)"
    colour: str
    name: str = ""  # a CSS class hook, e.g. the status


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _row(bar: Bar, index: int) -> str:
    top = index * ROW
    full = WIDTH - VALUE_ROOM
    length = full * min(max(bar.share, 0.0), 1.0)
    if 0 < length < 2:
        length = 2.0  # a sliver stays visible
    y = top + BAR_TOP
    label, text = escape(_clip(bar.label)), escape(bar.text)
    return (
        f'<g class="chart-bar {escape(bar.name)}"><title>{escape(bar.label)}: {text}</title>'
        f'<text x="0" y="{top + LABEL_BASELINE}" fill="{INK}">{label}</text>'
        f'<rect x="0" y="{y}" width="{full}" height="{BAR_HEIGHT}" fill="{TRACK}"/>'
        f'<rect x="0" y="{y}" width="{_number(length)}" height="{BAR_HEIGHT}" '
        f'fill="{escape(bar.colour)}"/>'
        f'<text x="{_number(length + 4)}" y="{y + BAR_HEIGHT - 2}" fill="{INK}">{text}</text>'
        "</g>"
    )


def bar_chart(bars: Sequence[Bar], title: str, chart_id: str) -> Markup:
    """Horizontal bars, one per row: the label above, the bar, its number after it."""
    height = max(len(bars), 1) * ROW
    ident = escape(chart_id)
    summary = "; ".join(f"{bar.label}: {bar.text}" for bar in bars)
    rows = "".join(_row(bar, n) for n, bar in enumerate(bars))
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{ident}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'font-size="14" aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(summary)}</desc>'
        f"{rows}</svg>"
    )


def status_chart(
    counts: Mapping[str, int], labels: Mapping[str, str], title: str, chart_id: str
) -> Markup:
    """How many cells (learner x lesson) are in each status, as counts and shares."""
    total = sum(counts.get(status, 0) for status in labels)
    bars = []
    for status, label in labels.items():
        n = counts.get(status, 0)
        share = n / total if total else 0.0
        bars.append(
            Bar(
                str(label),
                share,
                f"{n} ({round(share * 100)}%)",
                STATUS_COLOURS.get(status, INK),
                status,
            )
        )
    return bar_chart(bars, title, chart_id)


def difficulty_colour(share: float | None) -> str:
    if share is None:
        return STATUS_COLOURS["not_started"]
    if share < 0.5:
        return STATUS_COLOURS["needs_help"]
    if share < 0.8:
        return "#9a6a00"
    return STATUS_COLOURS["completed"]


def difficulty_chart(
    questions: Sequence[tuple[str, float | None, str]], title: str, chart_id: str
) -> Markup:
    """One bar per question: (label, share correct or None when unanswered, text)."""
    bars = [
        Bar(label, share or 0.0, text, difficulty_colour(share)) for label, share, text in questions
    ]
    return bar_chart(bars, title, chart_id)
