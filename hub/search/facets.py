"""Facet counts from the few combinations of facet values the matches fall into.

SQLite groups the matches by their combination (one pack's lessons of one kind: see
schema.py), so a search over 20,000 lessons comes back as a few dozen groups, and every count
is a sum over them. A chosen value of one facet narrows the others; the facet itself still
counts its other values, so the reader can switch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from hub.search.schema import FACETS, split_list


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool
    label: str = ""  # for packs: the pack's title, as the index has it


@dataclass(frozen=True)
class Combo:
    """The facet values of one combination: one pack's lessons of one kind."""

    values: dict[str, frozenset[str]]  # facet -> the values these lessons have
    pack_title: str

    @classmethod
    def of(
        cls, pack: str, kind: str, language: str, subjects: str, grades: str, pack_title: str
    ) -> Combo:
        values = {
            "pack": frozenset((pack,)),
            "kind": frozenset((kind,)),
            "language": frozenset((language,)),
            "subject": frozenset(split_list(subjects)),
            "grade": frozenset(split_list(grades)),
        }
        return cls(values, pack_title)


def passes(combo: Combo, chosen: dict[str, tuple[str, ...]], facet: str | None) -> bool:
    """Whether these lessons pass every chosen filter except `facet`'s own."""
    return all(
        not combo.values[other].isdisjoint(wanted)
        for other, wanted in chosen.items()
        if other != facet
    )


def counts(
    library: Iterable[Combo], counted: list[tuple[Combo, int]], chosen: dict[str, tuple[str, ...]]
) -> dict[str, list[FacetValue]]:
    """Facet values of the matches (`counted`), and the chosen values that matched nothing but
    are somewhere in the `library` (shown, so the reader can unchoose them)."""
    titles = {value: c.pack_title for c, _ in counted for value in c.values["pack"]}
    out: dict[str, list[FacetValue]] = {}
    for facet in FACETS:
        found: Counter[str] = Counter()
        for combo, count in counted:
            if passes(combo, chosen, facet):
                for value in combo.values[facet]:
                    found[value] += count
        selected = chosen.get(facet, ())
        for value in selected:
            if value not in found and any(value in c.values[facet] for c in library):
                found[value] = 0
        shown = [
            FacetValue(
                value, n, value in selected, titles.get(value, "") if facet == "pack" else ""
            )
            for value, n in found.items()
        ]
        out[facet] = sorted(shown, key=lambda v: (-v.count, v.value))
    return out
