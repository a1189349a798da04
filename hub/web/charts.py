"""Small charts drawn on the hub as inline SVG: no script, no library, readable on a phone.

Every bar carries its words and its number as text (colour is never the only cue), and every
chart has a <title> and a <desc> that say the whole of it for screen readers. All text is
escaped: labels come from class names and from content packs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# The chart is laid out in the page's own units, never scaled: heights in em of the page's font
# (a coach who enlarges the text gets larger labels, not clipped ones), widths in % of the
# column, so it fits a 360 px phone and a laptop alike.
LINE = 1.3  # em: one line of label
BAR_HEIGHT = 1.0  # em
ROW_GAP = 0.6  # em below each bar
TRACK = 68  # % of the width for the full bar; the rest holds its number
LINE_CHARS = 30  # a label line, in characters: SVG text does not wrap, so the hub wraps it
MAX_LABEL = 2 * LINE_CHARS  # two lines at most, then "…"
INK = "#1d2330"
TRACK_COLOUR = "#ece9e2"

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


def _lines(text: str) -> list[str]:
    """The label in lines of at most LINE_CHARS, broken between words where it can."""
    lines: list[str] = []
    for word in _clip(text).split():
        while len(word) > LINE_CHARS:  # a word longer than a line is cut into pieces
            lines.append(word[:LINE_CHARS])
            word = word[LINE_CHARS:]
        if lines and len(lines[-1]) + 1 + len(word) <= LINE_CHARS:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _row(bar: Bar, top: float) -> tuple[str, float]:
    """The row's SVG and its height in em."""
    lines = _lines(bar.label)
    length = TRACK * min(max(bar.share, 0.0), 1.0)
    if 0 < length < 0.6:
        length = 0.6  # a sliver stays visible
    y = top + len(lines) * LINE + 0.2
    labels = "".join(
        f'<text class="chart-label" x="0" y="{_number(top + (n + 1) * LINE - 0.3)}em" '
        f'fill="{INK}">{escape(line)}</text>'
        for n, line in enumerate(lines)
    )
    svg = (
        f'<g class="chart-bar {escape(bar.name)}"><title>{escape(bar.label)}: '
        f"{escape(bar.text)}</title>{labels}"
        f'<rect x="0" y="{_number(y)}em" width="{TRACK}%" height="{BAR_HEIGHT}em" '
        f'fill="{TRACK_COLOUR}"/>'
        f'<rect x="0" y="{_number(y)}em" width="{_number(length)}%" height="{BAR_HEIGHT}em" '
        f'fill="{escape(bar.colour)}"/>'
        f'<text class="chart-value" x="{_number(length + 1.5)}%" '
        f'y="{_number(y + BAR_HEIGHT - 0.15)}em" fill="{INK}">{escape(bar.text)}</text>'
        "</g>"
    )
    return svg, len(lines) * LINE + 0.2 + BAR_HEIGHT + ROW_GAP


def bar_chart(bars: Sequence[Bar], title: str, chart_id: str) -> Markup:
    """Horizontal bars, one per row: the label above (wrapped), the bar, its number after it."""
    ident = escape(chart_id)
    summary = "; ".join(f"{bar.label}: {bar.text}" for bar in bars)
    rows, top = [], 0.0
    for bar in bars:
        svg, height = _row(bar, top)
        rows.append(svg)
        top += height
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{ident}" role="img" '
        f'width="100%" height="{_number(max(top, LINE))}em" '
        f'aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(summary)}</desc>'
        f"{''.join(rows)}</svg>"
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
