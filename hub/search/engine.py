"""Running a query on an index snapshot: matching per language, ranking, facets, a page of
hits with snippets, and a "did you mean".

Each language reads the query with its own analyzer: "plantes" is stemmed the French way in
French lessons and the English way in English ones, and a French stop word does not have to
appear in an English lesson. A lesson matches when its language's reading of every word (or
phrase) is in it. A word no language knows is a typo: it matches the close terms of each
language's lexicon (fuzzy), and the closest title word is offered as "did you mean".
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.search.analysis import GENERIC, LessonAnalyzer
from hub.search.index import FACETS, TEXT_PREFIX, Snapshot, bitset, snippet_source, text_field
from hub.search.query import ParsedQuery
from hub.search.scoring import Scorer, Scores, all_of, any_of, near_terms
from hub.search.snippets import make_snippet, plain_snippet
from hub.search.titles import TitleIndex

PAGE_SIZE = 10
MAX_PAGE = 100
# The reader's first language, then their others: a multiplier on every score in it, so an
# ambiguous query ("plantes", "fraction") lists the reader's lessons first.
READER_BOOSTS = (1.5, 1.25)
PREFIX_MIN_CHARS = 3
MAX_PREFIX_TERMS = 30
FUZZY_MIN_CHARS = 4
MAX_FUZZY_TERMS = 12
PREFIX_WEIGHT = 0.7
CORRECTION_WEIGHT = 0.6
FUZZY_WEIGHT = 0.5
SUGGEST_BELOW = 3  # offer "did you mean" when fewer hits than this


@dataclass(frozen=True)
class Filters:
    language: tuple[str, ...] = ()
    subject: tuple[str, ...] = ()
    grade: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    pack: tuple[str, ...] = ()

    def chosen(self) -> dict[str, tuple[str, ...]]:
        return {facet: getattr(self, facet) for facet in FACETS if getattr(self, facet)}


@dataclass(frozen=True)
class Hit:
    pack_id: str
    lesson_id: str
    title: str
    snippet: str  # safe HTML: escaped text with <mark> around matches
    kind: str
    language: str
    topic: str
    pack_title: str
    score: float


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool


@dataclass
class SearchResult:
    query: str
    total: int = 0
    page: int = 1
    pages: int = 0
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    suggestion: str | None = None
    notice: str | None = None  # "relaxed", "rebuilding", "stale", "empty_query"


@dataclass(frozen=True)
class _Phrase:
    field: str
    terms: tuple[str, ...]
    boost: float


# One way a word can match in one language: (field, term, boost).
_Alternative = tuple[str, str, float]
_Unit = list[_Alternative] | _Phrase


@dataclass
class _Clause:
    """The query as one language reads it."""

    field: str
    units: list[_Unit]
    excluded: list[str]  # terms that rule a lesson out


@dataclass
class _Plan:
    clauses: list[_Clause]
    terms: dict[str, frozenset[str]]  # text field -> terms a snippet marks
    unknown: list[str]  # words no language knows


class _Planner:
    def __init__(
        self,
        snap: Snapshot,
        parsed: ParsedQuery,
        readers: tuple[str, ...],
        titles: TitleIndex | None,
    ) -> None:
        self.reader = snap.searcher.reader()
        self.languages = snap.view.languages
        self.parsed = parsed
        self.readers = readers
        self.titles = titles
        self._exact_cache: dict[tuple[str, str], list[_Alternative]] = {}
        self._corrections: dict[str, str | None] = {}

    def plan(self, relaxed: bool = False) -> _Plan:
        unknown = [w for w in self.parsed.words if not self._known_anywhere(w)]
        clauses = []
        for name, analyzer in self.languages.items():
            clause = self._clause(name, analyzer, set(unknown), relaxed)
            if clause is not None:
                clauses.append(clause)
        return _Plan(clauses, _marks(clauses), unknown)

    def _boost(self, name: str) -> float:
        language = name[len(TEXT_PREFIX) :]
        if language not in self.readers:
            return 1.0
        return READER_BOOSTS[min(self.readers.index(language), len(READER_BOOSTS) - 1)]

    def _known_anywhere(self, word: str) -> bool:
        return any(self._exact(name, a, word) for name, a in self.languages.items())

    def _exact(self, name: str, analyzer: LessonAnalyzer, word: str) -> list[_Alternative]:
        """Ways `word` matches in one language: its term, and longer words starting with it
        where there is no stemmer; [] when the language does not know it."""
        key = (name, word)
        if key not in self._exact_cache:
            term = analyzer.term(word)
            found: list[tuple[str, float]] = []
            if term is not None:
                if (name, term) in self.reader:
                    found.append((term, 1.0))
                if analyzer.key == GENERIC and len(term) >= PREFIX_MIN_CHARS:
                    found += [(t, PREFIX_WEIGHT) for t in self._prefixed(name, term) if t != term]
            self._exact_cache[key] = self._weighted(name, found)
        return self._exact_cache[key]

    def _prefixed(self, name: str, term: str) -> list[str]:
        out = []
        for raw in self.reader.expand_prefix(name, term):
            out.append(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
            if len(out) >= MAX_PREFIX_TERMS:
                break
        return out

    def _fuzzy(self, name: str, analyzer: LessonAnalyzer, word: str) -> list[_Alternative]:
        """For a word no language knows: this language's terms one or two edits away, and
        the term of the closest title word (the one "did you mean" offers)."""
        term = analyzer.term(word)
        if term is None or len(term) < FUZZY_MIN_CHARS:
            return []
        found: list[tuple[str, float]] = []
        corrected = self._correction(word)
        corrected_term = analyzer.term(corrected) if corrected else None
        if corrected_term and (name, corrected_term) in self.reader:
            found.append((corrected_term, CORRECTION_WEIGHT))
        distance, prefix = (1, 1) if len(term) < 8 else (2, 2)
        near = near_terms(self.reader, name, term, distance, prefix, MAX_FUZZY_TERMS)
        found += [(t, FUZZY_WEIGHT) for t in near]
        return self._weighted(name, found)

    def _correction(self, word: str) -> str | None:
        if self.titles is None:
            return None
        if word not in self._corrections:
            self._corrections[word] = self.titles.correct(word)
        return self._corrections[word]

    def _weighted(self, name: str, found: Iterable[tuple[str, float]]) -> list[_Alternative]:
        best: dict[str, float] = {}
        for term, weight in found:
            best[term] = max(weight, best.get(term, 0.0))
        boost = self._boost(name)
        return [(name, term, boost * weight) for term, weight in best.items()]

    def _clause(
        self, name: str, analyzer: LessonAnalyzer, unknown: set[str], relaxed: bool
    ) -> _Clause | None:
        units: list[_Unit] = []
        for word in self.parsed.words:
            if analyzer.term(word) is None:
                continue  # a stop word in this language
            if word in unknown:
                alternatives = self._fuzzy(name, analyzer, word)
            else:
                alternatives = self._exact(name, analyzer, word)
            if alternatives:
                units.append(alternatives)
            elif not relaxed:
                return None
        for words in self.parsed.phrases:
            terms = tuple(t for t in (analyzer.term(w) for w in words) if t is not None)
            if terms and all((name, t) in self.reader for t in terms):
                units.append(_Phrase(name, terms, self._boost(name)))
            elif terms and not relaxed:
                return None
        if not units:
            return None
        excluded = [t for t in (analyzer.term(w) for w in self.parsed.excluded) if t]
        return _Clause(name, units, excluded)


def _marks(clauses: list[_Clause]) -> dict[str, frozenset[str]]:
    marks: dict[str, set[str]] = {}
    for clause in clauses:
        found = marks.setdefault(clause.field, set())
        for unit in clause.units:
            found.update(unit.terms if isinstance(unit, _Phrase) else (t for _, t, _ in unit))
    return {name: frozenset(terms) for name, terms in marks.items()}


def run(
    snap: Snapshot,
    parsed: ParsedQuery,
    filters: Filters = Filters(),
    page: int = 1,
    readers: tuple[str, ...] = (),
    titles: TitleIndex | None = None,
) -> SearchResult:
    """One page of results for `parsed`, with facets and a suggestion."""
    result = SearchResult(query=parsed.text, page=page)
    if parsed.empty:
        result.notice = "empty_query"
        return result
    planner = _Planner(snap, parsed, readers, titles)
    scorer = Scorer(snap.searcher, snap.view.lengths)
    plan = planner.plan()
    scores = _evaluate(scorer, plan, relaxed=False)
    if not scores and len(parsed.words) + len(parsed.phrases) > 1:
        plan = planner.plan(relaxed=True)
        scores = _evaluate(scorer, plan, relaxed=True)
        if scores:
            result.notice = "relaxed"
    _fill(result, snap, scores, filters, page, plan)
    if titles is not None and (result.total < SUGGEST_BELOW or plan.unknown):
        doubtful = plan.unknown or (list(parsed.words) if not result.total else [])
        result.suggestion = _did_you_mean(parsed, doubtful, titles)
    return result


def _evaluate(scorer: Scorer, plan: _Plan, relaxed: bool) -> Scores:
    found: list[Scores] = []
    for clause in plan.clauses:
        units = [_unit_scores(scorer, unit) for unit in clause.units]
        scores = any_of(units) if relaxed else all_of(units)
        for term in clause.excluded:
            for docnum in scorer.docs(clause.field, term):
                scores.pop(docnum, None)
        found.append(scores)
    return any_of(found)


def _unit_scores(scorer: Scorer, unit: _Unit) -> Scores:
    if isinstance(unit, _Phrase):
        return _phrase_scores(scorer, unit)
    return any_of([scorer.term(field, term, boost) for field, term, boost in unit])


def _phrase_scores(scorer: Scorer, phrase: _Phrase) -> Scores:
    """Lessons with the words in this order, side by side (stop words between them do not
    count: they are not in the index)."""
    if len(phrase.terms) == 1:
        return scorer.term(phrase.field, phrase.terms[0], phrase.boost)
    return scorer.phrase(phrase.field, phrase.terms, phrase.boost)


def _fill(
    result: SearchResult,
    snap: Snapshot,
    scores: Scores,
    filters: Filters,
    page: int,
    plan: _Plan,
) -> None:
    view = snap.view
    size = snap.searcher.reader().doc_count_all()
    matched = bitset(scores, size)
    chosen = filters.chosen()
    masks = {facet: _mask(view.facets[facet], values) for facet, values in chosen.items()}
    result.facets = {
        facet: _counts(view.facets[facet], _without(matched, masks, facet), chosen.get(facet, ()))
        for facet in FACETS
    }
    if masks:
        allowed = _without(matched, masks, None).to_bytes((size >> 3) + 1, "little")
        scores = {d: s for d, s in scores.items() if allowed[d >> 3] >> (d & 7) & 1}
    result.total = len(scores)
    result.pages = min(math.ceil(result.total / PAGE_SIZE), MAX_PAGE)
    first = (page - 1) * PAGE_SIZE
    # Best first; equal scores in index order, so pages never overlap.
    best = heapq.nlargest(first + PAGE_SIZE, scores.items(), key=_rank)[first:]
    result.hits = [_hit(snap, score, docnum, plan) for docnum, score in best]


def _rank(item: tuple[int, float]) -> tuple[float, int]:
    return item[1], -item[0]


def _mask(values: dict[str, int], wanted: tuple[str, ...]) -> int:
    out = 0
    for value in wanted:
        out |= values.get(value, 0)
    return out


def _without(matched: int, masks: dict[str, int], facet: str | None) -> int:
    """Matches narrowed by every chosen filter except `facet`'s own (so a reader sees what
    choosing another value of it would give)."""
    out = matched
    for other, mask in masks.items():
        if other != facet:
            out &= mask
    return out


def _counts(values: dict[str, int], matched: int, chosen: tuple[str, ...]) -> list[FacetValue]:
    counts = [
        FacetValue(value, (bits & matched).bit_count(), value in chosen)
        for value, bits in values.items()
    ]
    shown = [c for c in counts if c.count or c.selected]
    return sorted(shown, key=lambda c: (-c.count, c.value))


def _hit(snap: Snapshot, score: float, docnum: int, plan: _Plan) -> Hit:
    stored = snap.searcher.stored_fields(docnum)
    name = text_field(stored.get("language", ""))
    analyzer = snap.view.languages.get(name)
    text = snippet_source(stored)
    snippet = ""
    if analyzer is not None:
        snippet = make_snippet(text, analyzer, plan.terms.get(name, frozenset()))
    if not snippet:
        snippet = plain_snippet(stored.get("description") or text)
    return Hit(
        pack_id=stored.get("pack", ""),
        lesson_id=stored.get("lesson", ""),
        title=stored.get("title", ""),
        snippet=snippet,
        kind=stored.get("kind", ""),
        language=stored.get("language", ""),
        topic=stored.get("topic", ""),
        pack_title=stored.get("pack_title", ""),
        score=score,
    )


def _did_you_mean(parsed: ParsedQuery, candidates: list[str], titles: TitleIndex) -> str | None:
    corrections = {}
    for word in candidates:
        corrected = titles.correct(word)
        if corrected and corrected != word.lower():
            corrections[word] = corrected
    return parsed.with_words(corrections) if corrections else None
