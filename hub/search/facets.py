"""Facet counts from the few combinations of facet values the matches fall into.

SQLite groups the matches by (pack, kind, language, subjects, grades): a pack fixes all but
the kind, so a search over 20,000 lessons comes back as a few dozen groups, and every count
is a sum over them. A chosen value of one facet narrows the others; the facet itself still
counts its other values, so the reader can switch.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

from hub.search.index import FACETS, split_list

# How to find whether a facet value is anywhere in the library (for a chosen value that
# matched nothing: it is still shown, so the reader can unchoose it).
_EXISTS = {
    "pack": "SELECT 1 FROM lesson WHERE pack = ? LIMIT 1",
    "kind": "SELECT 1 FROM lesson WHERE kind = ? LIMIT 1",
    "language": "SELECT 1 FROM lesson WHERE language = ? LIMIT 1",
    "subject": "SELECT 1 FROM lesson WHERE instr(subjects, ',' || ? || ',') > 0 LIMIT 1",
    "grade": "SELECT 1 FROM lesson WHERE instr(grades, ',' || ? || ',') > 0 LIMIT 1",
}


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool
    label: str = ""  # for packs: the pack's title, as the index has it


@dataclass(frozen=True)
class Combo:
    values: dict[str, frozenset[str]]  # facet -> the values these lessons have
    count: int
    pack_title: str = ""

    @classmethod
    def of(
        cls,
        pack: str,
        kind: str,
        language: str,
        subjects: str,
        grades: str,
        count: int,
        pack_title: str = "",
    ) -> Combo:
        values = {
            "pack": frozenset((pack,)),
            "kind": frozenset((kind,)),
            "language": frozenset((language,)),
            "subject": frozenset(split_list(subjects)),
            "grade": frozenset(split_list(grades)),
        }
        return cls(values, count, pack_title)


def passes(combo: Combo, chosen: dict[str, tuple[str, ...]], facet: str | None) -> bool:
    """Whether these lessons pass every chosen filter except `facet`'s own."""
    return all(
        not combo.values[other].isdisjoint(wanted)
        for other, wanted in chosen.items()
        if other != facet
    )


def counts(
    db: sqlite3.Connection, combos: list[Combo], chosen: dict[str, tuple[str, ...]]
) -> dict[str, list[FacetValue]]:
    out: dict[str, list[FacetValue]] = {}
    for facet in FACETS:
        found: Counter[str] = Counter()
        for combo in combos:
            if passes(combo, chosen, facet):
                for value in combo.values[facet]:
                    found[value] += combo.count
        selected = chosen.get(facet, ())
        for value in selected:
            if value not in found and db.execute(_EXISTS[facet], (value,)).fetchone():
                found[value] = 0
        titles = {value: c.pack_title for c in combos for value in c.values["pack"]}
        shown = [
            FacetValue(
                value, n, value in selected, titles.get(value, "") if facet == "pack" else ""
            )
            for value, n in found.items()
        ]
        out[facet] = sorted(shown, key=lambda v: (-v.count, v.value))
    return out
