"""The hub's outcomes as central last counted them, and its region's (a reply's outcomes part,
docs/sync-format.md). Every value is checked before it is kept (sync.outcomes.check_outcome) and
again when read back; the part holds counts only, and this hub's names are added here, at
the hub, for its own classes and packs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content import durable
from hub.library.models import Pack
from hub.people.models import ClassGroup
from sync.outcomes import MAX_RECORDS, Period, check_outcome
from sync.records import RecordError

FILE = "outcomes.json"  # in <data>/sync/


@dataclass(frozen=True)
class HubOutcomes:
    region: str
    computed: int  # central's clock, milliseconds
    periods: list[Period]
    cells: list[dict[str, Any]]
    missed: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[Period]:
        return [p for p in self.periods if p.kind == kind]

    def cell(self, scope: str, by: str, key: str, period: str) -> dict[str, Any] | None:
        for cell in self.cells:
            if (cell["scope"], cell["by"], cell["key"], cell["period"]) == (scope, by, key, period):
                return cell
        return None

    def keys(self, scope: str, by: str) -> list[str]:
        return sorted({c["key"] for c in self.cells if c["scope"] == scope and c["by"] == by})


def checked(records: Iterable[Any]) -> list[dict[str, Any]]:
    """The part's records, each checked, at most MAX_RECORDS, the first an "about";
    RecordError for anything else (the whole part is then kept out)."""
    kept: list[dict[str, Any]] = []
    for record in records:
        if len(kept) == MAX_RECORDS:
            raise RecordError(f"An outcomes part holds more than {MAX_RECORDS} records.")
        kept.append(check_outcome(record))
    if not kept or kept[0].get("t") != "about" or any(r["t"] == "about" for r in kept[1:]):
        raise RecordError("An outcomes part starts with its one about record.")
    return kept


def keep(data_dir: Path, records: list[dict[str, Any]]) -> None:
    """Replace what the hub holds with the checked records of the newest reply."""
    path = data_dir / "sync" / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    durable.write_text(path, json.dumps(records, separators=(",", ":")))


def held(data_dir: Path) -> HubOutcomes | None:
    """What the last reply said, or None before any (or when the file was damaged)."""
    try:
        records = checked(json.loads((data_dir / "sync" / FILE).read_text("utf-8")))
    except (OSError, ValueError, RecordError, RecursionError):
        return None
    about = records[0]
    return HubOutcomes(
        about["region"],
        about["computed"],
        [Period(p["kind"], p["name"], p["start"], p["end"]) for p in about["periods"]],
        [r for r in records if r["t"] == "cell"],
        [r for r in records if r["t"] == "missed"],
    )


def class_names(uids: Iterable[str]) -> dict[str, str]:
    wanted = list(uids)
    rows = ClassGroup.select(ClassGroup.uid, ClassGroup.name).where(ClassGroup.uid.in_(wanted))
    return {row.uid: row.name for row in rows}


def pack_titles(pack_ids: Iterable[str]) -> dict[str, str]:
    wanted = list(pack_ids)
    return {p.id: p.title for p in Pack.select(Pack.id, Pack.title).where(Pack.id.in_(wanted))}
