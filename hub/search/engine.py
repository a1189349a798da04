"""Running a query on an index snapshot: matching per language, ranking, facets, a page of
hits with snippets, and a "did you mean".

Each language reads the query with its own analyzer: "plantes" is stemmed the French way in
French lessons and the English way in English ones, and a French stop word does not have to
appear in an English lesson. A lesson matches when its language's reading of every word (or
phrase) is in it. A word no language knows is a typo: it matches the close terms of each
language's vocabulary (fuzzy), and the closest title word is offered as "did you mean".

The plan becomes one FTS5 expression per language, made only of quoted analysed terms, so
nothing a student types is ever read as FTS5 syntax. One SQL statement then matches every
language, ranks by BM25 (title x4, keywords x3, description and topic x2, text x1; the
reader's languages boosted), counts the facets and cuts the page, all inside SQLite, where
the interpreter lock is released and both cores can work.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.search import vocabulary
from hub.search.analysis import GENERIC, LessonAnalyzer
from hub.search.facets import Combo, FacetValue, counts, passes
from hub.search.index import Snapshot
from hub.search.query import ParsedQuery
from hub.search.schema import COMBO_SHIFT, FACETS, fts_table, snippet_source
from hub.search.snippets import make_snippet, plain_snippet

PAGE_SIZE = 10
MAX_PAGE = 100
# The reader's first language, then their others: a multiplier on every score in it, so an
# ambiguous query ("plantes", "fraction") lists the reader's lessons first.
READER_BOOSTS = (1.5, 1.25)
COLUMN_WEIGHTS = "4.0, 3.0, 2.0, 1.0"  # title, keywords, about, body
PREFIX_MIN_CHARS = 3
MAX_PREFIX_TERMS = 30
FUZZY_MIN_CHARS = 4
MAX_FUZZY_TERMS = 12
SUGGEST_BELOW = 3  # offer "did you mean" when fewer hits than this
IDF_FLOOR = 1e-6  # FTS5's: a term in more than half the lessons still counts a little


@dataclass(frozen=True)
class Filters:
    language: tuple[str, ...] = ()
    subject: tuple[str, ...] = ()
    grade: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    pack: tuple[str, ...] = ()
    # Lessons ("lessons") and ZIMs ("zim:<name>"): chosen by hub/search/combined.py, never
    # part of the lessons' own facets (chosen() leaves it out).
    source: tuple[str, ...] = ()

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


@dataclass
class SearchResult:
    query: str
    total: int = 0
    page: int = 1
    pages: int = 0
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    suggestion: str | None = None
    notice: str | None = None  # "relaxed", "rebuilding", "updating", "failed", "empty_query"
    generation: int | None = None  # of the library, as the index read reflected it


@dataclass(frozen=True)
class _Clause:
    """The query as one language reads it, in FTS5 syntax."""

    field: str
    match: str
    weight: float  # the reader's language boost over the mean idf (see _clause)
    marks: frozenset[str]  # terms a snippet marks


@dataclass
class _Plan:
    clauses: list[_Clause]
    unknown: list[str]  # words no language knows


class _Planner:
    def __init__(self, snap: Snapshot, parsed: ParsedQuery, readers: tuple[str, ...]) -> None:
        self.db = snap.db
        self.fields = snap.fields
        self.parsed = parsed
        self.readers = readers
        self.sizes = snap.sizes
        self._exact_cache: dict[tuple[str, str], list[str]] = {}
        self._fuzzy_cache: dict[tuple[str, str], list[str]] = {}  # kept for a relaxed plan
        self._corrections: dict[str, str | None] = {}
        self._doc_counts = self._count_all()

    def _count_all(self) -> dict[tuple[str, str], int]:
        """How many lessons hold each term of the query, in each language: one statement
        (each statement is a turn of the interpreter lock for a busy hub)."""
        parsed = self.parsed
        typed = {*parsed.words, *parsed.excluded, *(w for phrase in parsed.phrases for w in phrase)}
        wanted = {
            (name, term)
            for name, analyzer in self.fields.items()
            for term in (analyzer.term(word) for word in typed)
            if term is not None
        }
        found = dict.fromkeys(wanted, 0)
        found.update(vocabulary.docs_of(self.db, wanted))
        return found

    def plan(self, relaxed: bool = False) -> _Plan:
        unknown = [w for w in self.parsed.words if not self._known_anywhere(w)]
        clauses = []
        for name, analyzer in self.fields.items():
            clause = self._clause(name, analyzer, set(unknown), relaxed)
            if clause is not None:
                clauses.append(clause)
        return _Plan(clauses, unknown)

    def _boost(self, name: str) -> float:
        if name not in self.readers:
            return 1.0
        return READER_BOOSTS[min(self.readers.index(name), len(READER_BOOSTS) - 1)]

    def _known_anywhere(self, word: str) -> bool:
        return any(self._exact(name, a, word) for name, a in self.fields.items())

    def _docs(self, name: str, term: str) -> int:
        key = (name, term)
        if key not in self._doc_counts:  # a term the query did not type (a correction's)
            self._doc_counts[key] = vocabulary.docs(self.db, name, term)
        return self._doc_counts[key]

    def _known(self, name: str, term: str) -> bool:
        return self._docs(name, term) > 0

    def _idf(self, name: str, docs: int) -> float:
        """FTS5's own inverse document frequency for a term in `docs` of this language's
        lessons (floored as FTS5 floors it)."""
        size = self.sizes.get(name, 0)
        return max(IDF_FLOOR, math.log((size - docs + 0.5) / (docs + 0.5)))

    def _exact(self, name: str, analyzer: LessonAnalyzer, word: str) -> list[str]:
        """Terms `word` matches in one language: its own, and longer words starting with it
        where there is no stemmer; [] when the language does not know it."""
        key = (name, word)
        if key not in self._exact_cache:
            term = analyzer.term(word)
            found: list[str] = []
            if term is not None:
                if self._known(name, term):
                    found.append(term)
                if analyzer.key == GENERIC and len(term) >= PREFIX_MIN_CHARS:
                    more = vocabulary.with_prefix(self.db, name, term, MAX_PREFIX_TERMS)
                    found += [t for t in more if t != term]
            self._exact_cache[key] = found
        return self._exact_cache[key]

    def _fuzzy(self, name: str, analyzer: LessonAnalyzer, word: str) -> list[str]:
        """For a word no language knows: this language's terms one or two edits away, and
        the term of the closest title word (the one "did you mean" offers)."""
        key = (name, word)
        if key not in self._fuzzy_cache:
            self._fuzzy_cache[key] = self._near(name, analyzer, word)
        return self._fuzzy_cache[key]

    def _near(self, name: str, analyzer: LessonAnalyzer, word: str) -> list[str]:
        term = analyzer.term(word)
        if term is None or len(term) < FUZZY_MIN_CHARS:
            return []
        found: list[str] = []
        corrected = self.correction(word)
        corrected_term = analyzer.term(corrected) if corrected else None
        if corrected_term and self._known(name, corrected_term):
            found.append(corrected_term)
        distance, prefix = (1, 1) if len(term) < 8 else (2, 2)
        near = vocabulary.near_terms(self.db, name, term, distance, prefix, MAX_FUZZY_TERMS)
        found += [t for t, _, _ in near if t not in found]
        return found

    def correction(self, word: str) -> str | None:
        """The closest title word, asked once per word and query."""
        if word not in self._corrections:
            self._corrections[word] = vocabulary.correction(self.db, word)
        return self._corrections[word]

    def _clause(
        self, name: str, analyzer: LessonAnalyzer, unknown: set[str], relaxed: bool
    ) -> _Clause | None:
        units: list[str] = []
        marks: set[str] = set()
        idfs: list[float] = []
        for word in self.parsed.words:
            if analyzer.term(word) is None:
                continue  # a stop word in this language
            if word in unknown:
                alternatives = self._fuzzy(name, analyzer, word)
            else:
                alternatives = self._exact(name, analyzer, word)
            if alternatives:
                units.append(_any_of(alternatives))
                marks.update(alternatives)
                idfs.append(self._idf(name, max(self._docs(name, t) for t in alternatives)))
            elif not relaxed:
                return None
        for words in self.parsed.phrases:
            terms = [t for t in (analyzer.term(w) for w in words) if t is not None]
            if terms and all(self._known(name, t) for t in terms):
                units.append(_quoted(" ".join(terms)))  # FTS5: these terms, side by side
                marks.update(terms)
                idfs.append(self._idf(name, min(self._docs(name, t) for t in terms)))
            elif terms and not relaxed:
                return None
        if not units:
            return None
        match = "(" + (" OR " if relaxed else " AND ").join(units) + ")"
        excluded = [t for t in (analyzer.term(w) for w in self.parsed.excluded) if t]
        if excluded:
            match += " NOT " + _any_of(excluded)
        # BM25 sums idf x saturated term frequency. An idf depends on how many lessons the
        # language has: two English lessons out of 8 weigh more than one French out of 4.
        # Divided by its clause's mean idf, each language's score measures how well a lesson
        # matches (title, keywords, how often), so languages compare and the reader's
        # language boost decides between equally good matches.
        weight = self._boost(name) * len(idfs) / sum(idfs)
        return _Clause(name, match, weight, frozenset(marks))


def _quoted(text: str) -> str:
    """An FTS5 string: whatever is inside is terms, never syntax."""
    return '"' + text.replace('"', '""') + '"'


def _any_of(terms: list[str]) -> str:
    return "(" + " OR ".join(_quoted(t) for t in terms) + ")"


# Given the lessons matched and whether they have only some of the words ("relaxed"): which
# of them (offset, count) a page shows. Search beside the ZIMs (hub/search/merge.py) decides
# that from every source's total; alone, a page is PAGE_SIZE lessons.
Window = Callable[[int, bool], tuple[int, int]]


def run(
    snap: Snapshot,
    parsed: ParsedQuery,
    filters: Filters = Filters(),
    page: int = 1,
    readers: tuple[str, ...] = (),
    window: Window | None = None,
) -> SearchResult:
    """One page of results for `parsed`, with facets and a suggestion. With a `window`, the
    page's hits are the lessons it picks among the first `page` x PAGE_SIZE."""
    result = SearchResult(query=parsed.text, page=page, generation=snap.library_generation)
    if parsed.empty:
        result.notice = "empty_query"
        return result
    span = (0, page * PAGE_SIZE) if window else ((page - 1) * PAGE_SIZE, PAGE_SIZE)
    planner = _Planner(snap, parsed, readers)
    plan = planner.plan()
    counted, ranked = _execute(snap, plan, filters, span)
    if not counted and len(parsed.words) + len(parsed.phrases) > 1:
        plan = planner.plan(relaxed=True)
        counted, ranked = _execute(snap, plan, filters, span)
        if counted:
            result.notice = "relaxed"
    _fill(result, snap, counted, filters)
    if window is not None:
        offset, count = window(result.total, result.notice == "relaxed")
        ranked = ranked[offset : offset + count]
    result.hits = _hits(snap, ranked, _marks(plan))
    if result.total < SUGGEST_BELOW or plan.unknown:
        doubtful = plan.unknown or (list(parsed.words) if not result.total else [])
        result.suggestion = _did_you_mean(planner, parsed, doubtful)
    return result


def _execute(
    snap: Snapshot, plan: _Plan, filters: Filters, span: tuple[int, int]
) -> tuple[list[tuple[Combo, int]], list[tuple[int, float]]]:
    """The facet combinations of every match with their counts, and the page's (id, score):
    one statement, the matches found and scored once. No lesson row is read here: a match's
    combination is its row id shifted (schema.py)."""
    if not plan.clauses:
        return [], []
    matches = " UNION ALL ".join(
        f"SELECT rowid, -bm25({fts_table(c.field)}, {COLUMN_WEIGHTS}) * ? "
        f"FROM {fts_table(c.field)} WHERE {fts_table(c.field)} MATCH ?"
        for c in plan.clauses
    )
    chosen = filters.chosen()
    allowed = [n for n, combo in snap.combos.items() if passes(combo, chosen, None)]
    where = f"id >> {COMBO_SHIFT} IN ({','.join(map(str, allowed))})" if chosen else "1"
    # Two rows whatever the matches: each row fetched is a turn of the interpreter lock.
    sql = (
        f"WITH m(id, score) AS MATERIALIZED ({matches}) "
        "SELECT (SELECT group_concat(combo || ' ' || n) FROM "
        f"(SELECT id >> {COMBO_SHIFT} AS combo, count(*) AS n FROM m GROUP BY 1)), "
        "(SELECT group_concat(id || ' ' || score) FROM "
        f"(SELECT id, score FROM m WHERE {where} ORDER BY score DESC, id LIMIT ? OFFSET ?))"
    )
    args: list[object] = []
    for clause in plan.clauses:
        args += [clause.weight, clause.match]
    offset, limit = span
    args += [limit, offset]
    groups, page_rows = snap.db.execute(sql, args).fetchone()
    counted: list[tuple[Combo, int]] = []
    for combo, count in _pairs(groups):
        if int(combo) in snap.combos:
            counted.append((snap.combos[int(combo)], int(count)))
    ranked = [(int(i), float(score)) for i, score in _pairs(page_rows)]
    # group_concat promises no order (SQLite 3.40 has no ORDER BY inside it): sort again.
    return counted, sorted(ranked, key=lambda row: (-row[1], row[0]))


def _pairs(joined: str | None) -> list[list[str]]:
    return [pair.split(" ") for pair in (joined or "").split(",") if pair]


def _fill(
    result: SearchResult,
    snap: Snapshot,
    counted: list[tuple[Combo, int]],
    filters: Filters,
) -> None:
    chosen = filters.chosen()
    result.facets = counts(snap.combos.values(), counted, chosen)
    result.total = sum(n for combo, n in counted if passes(combo, chosen, None))
    result.pages = min(math.ceil(result.total / PAGE_SIZE), MAX_PAGE)


def _marks(plan: _Plan) -> dict[str, frozenset[str]]:
    return {clause.field: clause.marks for clause in plan.clauses}


def _hits(
    snap: Snapshot, ranked: list[tuple[int, float]], marks: dict[str, frozenset[str]]
) -> list[Hit]:
    if not ranked:
        return []
    ids = [lesson_id for lesson_id, _ in ranked]
    rows = snap.db.execute(
        "SELECT id, pack, lesson, field, language, kind, title, description, topic, "
        f"pack_title, body FROM lesson WHERE id IN ({','.join('?' * len(ids))})",
        ids,
    )
    stored = {row[0]: row for row in rows}
    in_body = _matched_in_body(snap, stored, marks)
    hits = []
    for lesson_id, score in ranked:
        row = stored.get(lesson_id)
        if row is None:
            continue
        _, pack, lesson, name, language, kind, title, description, topic, pack_title, body = row
        text = snippet_source(body)
        snippet = ""
        analyzer = snap.fields.get(name)
        if analyzer is not None and lesson_id in in_body:
            snippet = make_snippet(text, analyzer, marks.get(name, frozenset()))
        if not snippet:
            snippet = plain_snippet(description or text)
        hits.append(Hit(pack, lesson, title, snippet, kind, language, topic, pack_title, score))
    return hits


def _matched_in_body(
    snap: Snapshot, stored: dict[int, tuple], marks: dict[str, frozenset[str]]
) -> set[int]:
    """The hits whose text holds a marked term: FTS5 knows at once, where a snippet would
    read the whole text to find there is nothing to mark (a title-only match)."""
    by_field: dict[str, list[int]] = {}
    for lesson_id, row in stored.items():
        if marks.get(row[3]):
            by_field.setdefault(row[3], []).append(lesson_id)
    found: set[int] = set()
    for name, ids in by_field.items():
        table = fts_table(name)
        match = "body : " + _any_of(sorted(marks[name]))
        rows = snap.db.execute(
            f"SELECT rowid FROM {table} WHERE {table} MATCH ? "
            f"AND rowid IN ({','.join('?' * len(ids))})",
            (match, *ids),
        )
        found.update(lesson_id for (lesson_id,) in rows)
    return found


def _did_you_mean(planner: _Planner, parsed: ParsedQuery, candidates: list[str]) -> str | None:
    corrections = {}
    for word in candidates:
        corrected = planner.correction(word)
        if corrected and corrected != word.lower():
            corrections[word] = corrected
    return parsed.with_words(corrections) if corrections else None
