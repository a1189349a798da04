"""One ranked list from several sources: the lessons (the hub's FTS5 index, scored by BM25)
and each installed ZIM (its own Xapian or title index, which gives an order but no score we
can read: libzim's Python binding hands back paths only).

Scores of different engines do not compare, so the merge uses ranks only: weighted
reciprocal rank fusion. The hit at rank r (from 1) of a source with weight w scores
w / (K + r); the merged list is every source's hits by that score, a tie going to the source
listed first (lessons, then the ZIMs in the library's order). With equal weights this is a
fair interleave: each source's best, then each one's second... A source counts less when its
hits are weaker by the hub's own measure: lessons with only some of the words ("relaxed")
weigh RELAXED_WEIGHT, a ZIM in none of the reader's languages weighs OTHER_LANGUAGE_WEIGHT (the
inverse of the boost the lessons' own ranking gives the reader's first language).

Since a score depends only on a hit's rank, which ranks of which source fill a page follows
from the sources' totals alone (`layout`): each source is asked only for those.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass

from hub.search.engine import PAGE_SIZE
from hub.search.facets import FacetValue

K = 60  # RRF's usual constant: ranks 1 and 2 differ little, so no source can crowd out another
RELAXED_WEIGHT = 0.5
OTHER_LANGUAGE_WEIGHT = 1 / 1.5
LESSONS = "lessons"  # the source facet's value for the hub's own lessons


@dataclass(frozen=True)
class Lane:
    """One source's ranked matches: `total` of them, scored with `weight`."""

    key: str
    total: int
    weight: float


def layout(lanes: list[Lane], page: int) -> list[tuple[str, int]]:
    """The page's places in merged order: (lane key, rank in that lane from 0)."""
    heap = [(-lane.weight / (K + 1), order, 0) for order, lane in enumerate(lanes) if lane.total]
    heapq.heapify(heap)
    places: list[tuple[str, int]] = []
    while heap and len(places) < page * PAGE_SIZE:
        _, order, rank = heapq.heappop(heap)
        lane = lanes[order]
        places.append((lane.key, rank))
        if rank + 1 < lane.total:
            heapq.heappush(heap, (-lane.weight / (K + rank + 2), order, rank + 1))
    return places[(page - 1) * PAGE_SIZE :]


def span(places: list[tuple[str, int]], key: str) -> tuple[int, int]:
    """The ranks of one lane a page shows, as (offset, count): always consecutive."""
    ranks = [rank for lane, rank in places if lane == key]
    return (ranks[0], len(ranks)) if ranks else (0, 0)


def add_counts(
    facet: list[FacetValue], extra: Counter[str], selected: tuple[str, ...]
) -> list[FacetValue]:
    """A facet's values with the ZIMs' counts added, in the facets' order (most first)."""
    counts = Counter({v.value: v.count for v in facet})
    counts.update(extra)
    labels = {v.value: v.label for v in facet}
    shown = [
        FacetValue(value, n, value in selected, labels.get(value, ""))
        for value, n in counts.items()
    ]
    return sorted(shown, key=lambda v: (-v.count, v.value))
