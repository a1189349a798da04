"""Rows of the report: a measure, its value, the budget it is held to, and the verdict."""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Sizes and rates are decimal: 1 MB = 1,000,000 bytes.
MB = 1_000_000


@dataclass
class Row:
    measure: str
    value: float | None
    shown: str
    budget: str = ""
    ok: bool | None = None  # None: no budget, only informative

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return ""
        return "ok" if self.ok else "OVER"


@dataclass
class SectionResult:
    name: str
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)  # every sample, for --json
    error: str | None = None  # why the section stopped early, if it did

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row


def under(measure: str, value: float | None, shown: str, limit: float, budget: str) -> Row:
    """A row whose budget is a ceiling; a missing value (the step failed) is OVER."""
    return Row(measure, value, shown, budget, value is not None and value < limit)


def at_least(measure: str, value: float | None, shown: str, floor: float, budget: str) -> Row:
    return Row(measure, value, shown, budget, value is not None and value >= floor)


def info(measure: str, value: float | None, shown: str) -> Row:
    return Row(measure, value, shown)


def errors_row(errors: Mapping[str, int], label: str = "  errors") -> Row:
    """Errors of a load (budget: none), with the three most frequent kinds."""
    count = sum(errors.values())
    shown = str(count)
    if count:
        worst = sorted(errors.items(), key=lambda item: -item[1])[:3]
        shown += " (" + ", ".join(f"{k}: {v}" for k, v in worst) + ")"
    return Row(label, count, shown, "0", count == 0)


def format_table(results: list[SectionResult]) -> str:
    header = ("measure", "value", "budget", "")
    lines: list[tuple[str, str, str, str]] = []
    for result in results:
        lines.append((f"[{result.name}]", "", "", ""))
        lines.extend((r.measure, r.shown, r.budget, r.verdict) for r in result.rows)
        if result.error:
            lines.append(("  stopped early", result.error, "", "OVER"))
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(3)]

    def render(row: tuple[str, str, str, str]) -> str:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        return (" | ".join(cells) + " | " + row[3]).rstrip()

    rule = "-+-".join("-" * w for w in widths) + "-+-----"
    return "\n".join([render(header), rule, *map(render, lines)])


def machine() -> dict[str, Any]:
    import os

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        # Other work on the machine skews every number: say how busy it was.
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_json(path: Path, results: list[SectionResult], seconds: float) -> None:
    body = {
        "machine": machine(),
        "seconds": round(seconds, 1),
        "sections": {
            r.name: {
                "rows": [asdict(row) | {"verdict": row.verdict} for row in r.rows],
                "raw": r.raw,
                "error": r.error,
            }
            for r in results
        },
    }
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
