"""One search over the lessons and every installed ZIM: the lessons from the FTS5 engine, each
ZIM from its own index, merged into one ranked page (hub/search/merge.py) with one set of
facets, where `source` says lessons or which ZIM, and `language` and `kind` ("zim") count
both. ZIM articles have no subject, grade or pack: choosing one of those leaves them out.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from hub.search import merge
from hub.search.analysis import words
from hub.search.engine import MAX_PAGE, PAGE_SIZE, Filters, Hit, SearchResult, Window
from hub.search.facets import FacetValue
from hub.search.query import ParsedQuery
from hub.search.titles import MAX_SUGGESTIONS, Suggestion
from hub.search.zim_sources import ZimSource, snippet

ZIM_KIND = "zim"
# Runs the lessons' search with a window (SearchService._run): the page's lessons, if any.
LessonSearch = Callable[[Window], SearchResult]


@dataclass
class _Found:
    source: ZimSource
    estimate: int
    paths: list[str]
    language_ok: bool
    kind_ok: bool
    chosen: bool  # by the source filter

    @property
    def shown(self) -> bool:
        return self.language_ok and self.kind_ok and self.chosen


def search(
    lessons: LessonSearch,
    sources: list[ZimSource],
    parsed: ParsedQuery,
    filters: Filters,
    page: int,
    readers: tuple[str, ...],
    snippets: int = 0,
) -> SearchResult:
    """One page of lessons and ZIM articles; the first `snippets` ZIM hits are quoted."""
    found = _search_zims(sources, parsed, filters, page)
    lessons_chosen = not filters.source or merge.LESSONS in filters.source
    places: list[tuple[str, int]] = []

    def window(total: int, relaxed: bool) -> tuple[int, int]:
        weight = merge.RELAXED_WEIGHT if relaxed else 1.0
        lanes = [merge.Lane(merge.LESSONS, total if lessons_chosen else 0, weight)]
        lanes += [
            merge.Lane(f.source.key, f.estimate, _weight(f, readers)) for f in found if f.shown
        ]
        places.extend(merge.layout(lanes, page))
        return merge.span(places, merge.LESSONS)

    result = lessons(window)
    if not places and not parsed.empty:  # no lesson search ran (no index yet): ZIMs alone
        window(0, False)
    lesson_total = result.total
    if not lessons_chosen and result.notice == "relaxed":
        result.notice = None  # it speaks of lessons, which this search leaves out
    _merge_hits(result, places, found, parsed, snippets)
    _merge_facets(result, found, filters, lessons_chosen)
    result.total = (lesson_total if lessons_chosen else 0) + sum(
        f.estimate for f in found if f.shown
    )
    result.pages = min(math.ceil(result.total / PAGE_SIZE), MAX_PAGE)
    return result


def _search_zims(
    sources: list[ZimSource], parsed: ParsedQuery, filters: Filters, page: int
) -> list[_Found]:
    if parsed.empty or filters.subject or filters.grade or filters.pack:
        return []
    found = []
    for source in sources:
        answer = source.find(parsed, 0, page * PAGE_SIZE)
        if answer.estimate:
            language = source.archive.language
            found.append(
                _Found(
                    source,
                    answer.estimate,
                    answer.paths,
                    not filters.language or language in filters.language,
                    not filters.kind or ZIM_KIND in filters.kind,
                    not filters.source or source.key in filters.source,
                )
            )
    return found


def _weight(found: _Found, readers: tuple[str, ...]) -> float:
    return _weight_of(found.source.archive.language, readers)


def _weight_of(language: str, readers: tuple[str, ...]) -> float:
    primary = language.split("-")[0]
    if not readers or primary in {r.split("-")[0] for r in readers}:
        return 1.0
    return merge.OTHER_LANGUAGE_WEIGHT


def _merge_hits(
    result: SearchResult,
    places: list[tuple[str, int]],
    found: list[_Found],
    parsed: ParsedQuery,
    snippets: int,
) -> None:
    lessons = iter(result.hits)
    by_key = {f.source.key: f for f in found}
    hits: list[Hit] = []
    for key, rank in places:
        if key == merge.LESSONS:
            hits.extend(hit for hit in [next(lessons, None)] if hit is not None)
            continue
        zim = by_key[key]
        if rank < len(zim.paths):
            quoted = sum(1 for hit in hits if hit.kind == ZIM_KIND) < snippets
            hit = _zim_hit(zim, zim.paths[rank], parsed if quoted else None)
            if hit is not None:
                hits.append(hit)
    result.hits = hits


def _zim_hit(found: _Found, path: str, parsed: ParsedQuery | None) -> Hit | None:
    """The article as a hit; quoted when `parsed` is given."""
    source = found.source
    article = source.searcher.hit(path)
    if article is None:
        return None
    archive = source.archive
    return Hit(
        pack_id=archive.pack_id,
        lesson_id=article.path,
        title=article.title,
        snippet=snippet(source, article, parsed) if parsed else "",
        kind=ZIM_KIND,
        language=archive.language,
        topic="",
        pack_title=archive.title,
        score=0.0,
    )


def _merge_facets(
    result: SearchResult, found: list[_Found], filters: Filters, lessons_chosen: bool
) -> None:
    facets = result.facets if lessons_chosen else _only_selected(result.facets, filters)
    languages: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for f in found:
        if f.kind_ok and f.chosen:
            languages[f.source.archive.language] += f.estimate
        if f.language_ok and f.chosen:
            kinds[ZIM_KIND] += f.estimate
    facets["language"] = merge.add_counts(facets.get("language", []), languages, filters.language)
    facets["kind"] = merge.add_counts(facets.get("kind", []), kinds, filters.kind)
    facets["source"] = _sources(result.total, found, filters)
    result.facets = facets


def _only_selected(
    facets: dict[str, list[FacetValue]], filters: Filters
) -> dict[str, list[FacetValue]]:
    """The lessons' facets when the source filter leaves lessons out: no counts, only the
    values chosen (so the reader can unchoose them)."""
    chosen = filters.chosen()
    return {
        facet: [FacetValue(v.value, 0, True, v.label) for v in values if v.selected]
        for facet, values in facets.items()
        if facet in chosen
    }


def _sources(lesson_total: int, found: list[_Found], filters: Filters) -> list[FacetValue]:
    chosen = filters.source
    values = []
    if lesson_total or merge.LESSONS in chosen:
        values.append(FacetValue(merge.LESSONS, lesson_total, merge.LESSONS in chosen))
    for f in found:
        if f.language_ok and f.kind_ok:
            key = f.source.key
            values.append(FacetValue(key, f.estimate, key in chosen, f.source.archive.title))
    return sorted(values, key=lambda v: (-v.count, v.value))


def suggestions(
    lessons: list[Suggestion], sources: list[ZimSource], text: str, readers: tuple[str, ...]
) -> list[Suggestion]:
    """Lesson titles and ZIM article titles as a student types: taken in turn from each
    source (lessons first, then ZIMs in the reader's language), at most MAX_SUGGESTIONS."""
    ordered = sorted(sources, key=lambda s: _weight_of(s.archive.language, readers), reverse=True)
    lanes = [lessons] + [_zim_titles(source, text) for source in ordered]
    merged: list[Suggestion] = []
    for turn in itertools.zip_longest(*lanes):
        merged.extend(s for s in turn if s is not None)
    return merged[:MAX_SUGGESTIONS]


def _zim_titles(source: ZimSource, text: str) -> list[Suggestion]:
    # Bare lower-case words: nothing of Xapian's query syntax reaches libzim (zim_sources).
    paths = source.searcher.suggestions(" ".join(words(text)).lower(), MAX_SUGGESTIONS)
    out = []
    for path in paths:
        article = source.searcher.hit(path)
        if article is not None:
            archive = source.archive
            out.append(Suggestion(article.title, archive.pack_id, article.path, archive.language))
    return out
