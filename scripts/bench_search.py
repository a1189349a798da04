"""Search benchmark: a generated library of 20,000 lessons (~300 words each, six languages)
indexed by the hub's search (SQLite FTS5 fed by the hub's analysers) and, as a reference
line, by plain SQLite FTS5 (its own unicode61 tokenizer, no stemming, no fuzzy terms).

    .venv/bin/python scripts/bench_search.py [--lessons 20000] [--queries 200] [--json F]

Measures indexing time, index size, and p50/p95 latency of five kinds of query (one term, two
terms, a phrase, a misspelt word, a term with language and subject filters), 200 of each.
The hub's numbers are whole answers, as /api/search computes them: ranked page, total,
facet counts, snippets and "did you mean". Plain FTS5 answers the same queries with a ranked
page with snippets, the total and facet counts; it has no stemming, accent folding per language
or fuzzy matching, so its misspelt-word queries mostly find nothing: the gap between the two is
what the hub's analysis costs. It asserts nothing. Concurrency over HTTP is measured by
scripts/benchlib/search_load.py (section "search-load"), on the 20,000-lesson school library.

Budget on the 2-core development machine: p95 under 50 ms for every kind of query, indexing
under 90 s. A Raspberry Pi 4 is roughly 3-4 times slower per core.

`measure()` returns rows shaped like scripts/benchlib's report rows, for `scripts/bench`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hub.search.documents import LessonDoc  # noqa: E402
from hub.search.engine import Filters, run  # noqa: E402
from hub.search.index import SearchIndex  # noqa: E402
from hub.search.query import parse_query  # noqa: E402
from hub.search.stopwords import STOP_WORDS  # noqa: E402
from hub.search.titles import suggest  # noqa: E402

LESSONS = 20_000
QUERIES = 200
P95_BUDGET_MS = 50.0
INDEXING_BUDGET_S = 90.0
KINDS_OF_QUERY = ("single-term", "two-term", "phrase", "fuzzy", "faceted")

# --- The generated library ---------------------------------------------------------------------

# Real words of school topics per language; the long tail is generated words.
TOPICS = {
    "en": """water cycle evaporation rain cloud river ocean plant plants leaf root seed flower
        photosynthesis energy sunlight animal animals insect bird fish mammal habitat food chain
        fraction fractions half quarter number numbers addition subtraction multiply division
        equation equations triangle circle square angle measure length weight volume money time
        clock map country continent history village farming crops soil health hygiene
        handwashing disease malaria vaccine nutrition vitamin protein body heart blood bones
        muscles brain reading writing letter letters story poem grammar sentence verb noun
        adjective spelling electricity magnet force motion gravity light sound heat temperature
        weather climate season planet moon stars earth rock volcano running swimming game music
        drawing computer internet phone community family""",
    "fr": """eau cycle évaporation pluie nuage rivière océan plante plantes feuille racine graine
        fleur photosynthèse énergie lumière animal animaux insecte oiseau poisson habitat
        nourriture chaîne fraction fractions moitié quart nombre nombres addition soustraction
        multiplication division équation équations triangle cercle carré angle mesure longueur
        poids volume argent heure carte pays continent histoire village agriculture récolte sol
        santé hygiène lavage maladie paludisme vaccin nutrition vitamine protéine corps cœur sang
        os muscles cerveau lecture écriture lettre lettres poème grammaire phrase verbe nom
        adjectif orthographe électricité aimant force mouvement gravité son chaleur température
        météo climat saison planète lune étoiles terre roche volcan école élève maître famille
        communauté""",
    "es": """agua ciclo evaporación lluvia nube río océano planta plantas hoja raíz semilla flor
        fotosíntesis energía luz animal animales insecto pájaro pez hábitat comida cadena
        fracción fracciones mitad cuarto número números suma resta multiplicación división
        ecuación ecuaciones triángulo círculo cuadrado ángulo medida longitud peso volumen dinero
        hora mapa país continente historia pueblo agricultura cosecha suelo salud higiene lavado
        enfermedad malaria vacuna nutrición vitamina proteína cuerpo corazón sangre huesos
        músculos cerebro lectura escritura letra letras cuento poema gramática oración verbo
        sustantivo adjetivo ortografía electricidad imán fuerza movimiento gravedad sonido calor
        temperatura clima estación planeta luna estrellas tierra roca volcán escuela alumno
        maestro familia comunidad""",
    "pt": """água ciclo evaporação chuva nuvem rio oceano planta plantas folha raiz semente flor
        fotossíntese energia luz animal animais inseto pássaro peixe habitat comida cadeia fração
        frações metade quarto número números adição subtração multiplicação divisão equação
        equações triângulo círculo quadrado ângulo medida comprimento peso volume dinheiro hora
        mapa país continente história aldeia agricultura colheita solo saúde higiene lavagem
        doença malária vacina nutrição vitamina proteína corpo coração sangue ossos músculos
        cérebro leitura escrita letra letras conto poema gramática""",
    "sw": """maji mzunguko mvua wingu mto bahari mmea mimea jani mzizi mbegu ua nishati mwanga
        mnyama wanyama mdudu ndege samaki chakula sehemu nusu robo namba kujumlisha kutoa
        kuzidisha kugawanya mlinganyo pembetatu duara mraba pembe kipimo urefu uzito pesa saa
        ramani nchi bara historia kijiji kilimo mazao udongo afya usafi kunawa mikono ugonjwa
        malaria chanjo lishe mwili moyo damu mifupa misuli ubongo kusoma kuandika barua hadithi
        shairi sarufi sentensi kitenzi nomino umeme sumaku nguvu mwendo sauti joto hali hewa
        sayari mwezi nyota dunia mwamba volkano shule mwanafunzi mwalimu familia jamii""",
    "ar": """ماء دورة تبخر مطر سحابة نهر محيط نبات نباتات ورقة جذر بذرة زهرة طاقة ضوء حيوان
        حيوانات حشرة طائر سمكة غذاء كسر كسور نصف ربع عدد أعداد جمع طرح ضرب قسمة معادلة مثلث
        دائرة مربع زاوية قياس طول وزن حجم مال ساعة خريطة بلد قارة تاريخ قرية زراعة تربة صحة
        نظافة غسل مرض ملاريا لقاح تغذية جسم قلب دم عظام عضلات دماغ قراءة كتابة رسالة قصة قصيدة
        قواعد جملة فعل اسم كهرباء مغناطيس قوة حركة صوت حرارة طقس مناخ""",
}
FUNCTION_WORDS = {
    "sw": "na ya wa kwa katika ni za la cha vya kama hii huu hiyo sana pia lakini au",
    "ar": "في من على إلى عن مع هذا هذه ذلك التي الذي هو هي كان أن لا ما",
}
SYLLABLES = {
    "en": "ba be bi bo ca co de di fa fe go ha he ka la le li lo ma me mi mo na ne no pa pe "
    "ra re ri ro sa se si so ta te ti to va ve wa we",
    "fr": "ba be bé bi bo ca ce co dé di fa fe go la le lé li lo ma me mé mi mo na ne né no pa "
    "pe pé ra re ré ri ro sa se sé si so ta te té ti to va ve vé ou ai eu",
    "es": "ba be bi bo ca ce co de di fa fe go ja la le li lo ma me mi mo na ne ni no pa pe pi "
    "ra re ri ro sa se si so ta te ti to va ve ña ñe lla que",
    "pt": "ba be bi bo ca ce co de di fa fe go ja la le li lo ma me mi mo na ne ni no pa pe pi "
    "ra re ri ro sa se si so ta te ti to va ve ção nha lhe",
    "sw": "ba be bi bo ka ke ki ko ku la le li lo ma me mi mo mu na ne ni no nu pa pe pi ra ri "
    "sa se si ta te ti to tu wa we wi ya ye za zi ngu mba nda",
    "ar": "با بي بو تا تي سا سي ما مي نا ني را ري لا لي كا كي دا دي فا في قا قي",
}
LANGUAGES = (("en", 35), ("fr", 22), ("es", 18), ("sw", 12), ("pt", 8), ("ar", 5))
SUBJECTS = ("mathematics", "science", "health", "language", "history", "geography", "arts")
GRADES = tuple(str(g) for g in range(1, 13))
LESSON_KINDS = (("article", 50), ("video", 20), ("exercise", 15), ("pdf", 10), ("audio", 5))
TAIL_WORDS = 12_000  # generated words per language, drawn on a Zipf curve
WORDS_PER_LESSON = 300
LESSONS_PER_PACK = 100


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    language: str = ""
    subject: str = ""


class Corpus:
    """Lessons whose words follow a Zipf curve: function words, the lesson's own topic
    words, other topic words, and a long tail of rare words. Deterministic for a seed."""

    def __init__(self, lessons: int, seed: int = 7) -> None:
        self.lessons = lessons
        self.random = random.Random(seed)
        self.vocab = {language: self._vocabulary(language) for language, _ in LANGUAGES}
        self.docs: list[LessonDoc] = []

    def _vocabulary(self, language: str) -> dict[str, Any]:
        rng = self.random
        syllables = SYLLABLES[language].split()
        tail: set[str] = set()
        while len(tail) < TAIL_WORDS:
            tail.add("".join(rng.choices(syllables, k=rng.randint(2, 4))))
        ordered = sorted(tail)
        rng.shuffle(ordered)
        listed = FUNCTION_WORDS.get(language)
        function = listed.split() if listed else sorted(set(STOP_WORDS[language].split()))[:80]
        weights = itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(TAIL_WORDS))
        return {
            "topics": TOPICS[language].split(),
            "tail": ordered,
            "tail_weights": list(weights),
            "function": function,
        }

    def generate(self) -> list[LessonDoc]:
        rng = self.random
        languages, weights = zip(*LANGUAGES, strict=True)
        kinds, kind_weights = zip(*LESSON_KINDS, strict=True)
        docs: list[LessonDoc] = []
        for number in itertools.count():
            if len(docs) >= self.lessons:
                break
            language = rng.choices(languages, weights)[0]
            pack = f"pack-{number:04d}-{language}"
            subjects = tuple(rng.sample(SUBJECTS, rng.randint(1, 2)))
            first = rng.randint(0, 9)
            grades = GRADES[first : first + rng.randint(1, 3)]
            for n in range(min(LESSONS_PER_PACK, self.lessons - len(docs))):
                kind = rng.choices(kinds, kind_weights)[0]
                docs.append(self._lesson(pack, f"l{n:03d}", language, kind, subjects, grades))
        self.docs = docs
        return docs

    def _lesson(
        self,
        pack: str,
        lesson_id: str,
        language: str,
        kind: str,
        subjects: tuple[str, ...],
        grades: tuple[str, ...],
    ) -> LessonDoc:
        rng = self.random
        vocab = self.vocab[language]
        focus = rng.sample(vocab["topics"], 6)
        sentences = WORDS_PER_LESSON // 12
        return LessonDoc(
            pack_id=pack,
            lesson_id=lesson_id,
            title=" ".join(rng.sample(focus, rng.randint(2, 4))).capitalize(),
            language=language,
            kind=kind,
            keywords=tuple(rng.sample(focus, 2)),
            description=self._sentence(vocab, focus, rng.randint(12, 20)),
            text=" ".join(
                self._sentence(vocab, focus, rng.randint(8, 16)) for _ in range(sentences)
            ),
            subjects=subjects,
            grades=grades,
            topic_path=(" ".join(focus[:2]).capitalize(),),
            pack_title=pack,
        )

    def _sentence(self, vocab: dict[str, Any], focus: list[str], length: int) -> str:
        rng = self.random
        out = []
        for _ in range(length):
            draw = rng.random()
            if draw < 0.42:
                out.append(rng.choice(vocab["function"]))
            elif draw < 0.58:
                out.append(rng.choice(focus))
            elif draw < 0.64:
                out.append(rng.choice(vocab["topics"]))
            else:
                out.append(rng.choices(vocab["tail"], cum_weights=vocab["tail_weights"])[0])
        return " ".join(out).capitalize() + "."

    def queries(self, per_kind: int, seed: int = 11) -> list[Query]:
        """What students type: topic words, two words of one lesson, two neighbouring words
        in quotes, a topic word with one letter wrong, a topic word with filters."""
        rng = random.Random(seed)
        out: list[Query] = []
        for _ in range(per_kind):
            doc = rng.choice(self.docs)
            vocab = self.vocab[doc.language]
            topics = vocab["topics"]
            # Students type content words, not "between" or "aurions".
            skip = set(vocab["function"])
            words = [w for w in (t.strip(".").lower() for t in doc.text.split()) if w not in skip]
            out.append(Query("single-term", rng.choice(topics)))
            out.append(Query("two-term", " ".join(rng.sample(words, 2))))
            out.append(Query("phrase", f'"{_neighbours(rng, doc.text, skip)}"'))
            long_words = [w for w in topics if len(w) >= 5]
            out.append(Query("fuzzy", _typo(rng, rng.choice(long_words))))
            subject = rng.choice(doc.subjects)
            out.append(Query("faceted", rng.choice(topics), doc.language, subject))
        return out


def _neighbours(rng: random.Random, text: str, skip: set[str]) -> str:
    """Two content words side by side in the text."""
    tokens = [t.strip(".").lower() for t in text.split()]
    for _ in range(200):
        at = rng.randrange(len(tokens) - 1)
        if tokens[at] not in skip and tokens[at + 1] not in skip:
            return f"{tokens[at]} {tokens[at + 1]}"
    return f"{tokens[0]} {tokens[1]}"


def _typo(rng: random.Random, word: str) -> str:
    """One edit away, never on the first letter (students rarely get that one wrong)."""
    at = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("swap", "drop", "replace"))
    if edit == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if edit == "drop":
        return word[:at] + word[at + 1 :]
    return word[:at] + rng.choice("aeiourstnl") + word[at + 1 :]


# --- Measuring ------------------------------------------------------------------------------------


@dataclass
class Timings:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    found: dict[str, list[int]] = field(default_factory=dict)

    def add(self, kind: str, elapsed: float, hits: int) -> None:
        self.seconds.setdefault(kind, []).append(elapsed)
        self.found.setdefault(kind, []).append(hits)

    def p(self, kind: str, q: int) -> float:
        values = sorted(self.seconds[kind])
        return 1000 * values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]

    def hit_rate(self, kind: str) -> float:
        found = self.found[kind]
        return sum(1 for n in found if n) / len(found)


@dataclass
class Engine:
    name: str
    index_seconds: float = 0.0
    index_bytes: int = 0
    timings: Timings = field(default_factory=Timings)


@dataclass
class BenchResult:
    lessons: int
    words: int
    rows: list[tuple[str, float | None, str, str, bool | None]]  # benchlib Row fields
    raw: dict[str, Any]


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _time(fn: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    hits = fn()
    return time.perf_counter() - started, hits


def bench_hub(docs: list[LessonDoc], queries: list[Query], scratch: Path) -> tuple[Engine, dict]:
    engine = Engine("hub")
    index = SearchIndex(scratch / "search")
    started = time.perf_counter()
    index.rebuild(docs, 1)
    engine.index_seconds = time.perf_counter() - started
    engine.index_bytes = _dir_bytes(scratch / "search")
    extra: dict[str, float] = {}
    readers = ("en",)

    def answer(query: Query) -> int:
        filters = Filters(
            language=(query.language,) if query.language else (),
            subject=(query.subject,) if query.subject else (),
        )
        with index.snapshot() as snap:
            result = run(snap, parse_query(query.text), filters, 1, readers)
        return result.total

    started = time.perf_counter()
    answer(queries[0])  # nothing is loaded at start: the first search reads from disk
    extra["first_search_s"] = time.perf_counter() - started
    for query in queries[:20]:  # warm the analysers' word memory, as a running hub has it
        answer(query)
    for query in queries:
        elapsed, hits = _time(lambda q=query: answer(q))
        engine.timings.add(query.kind, elapsed, hits)
    extra["suggest_p50_ms"], extra["suggest_p95_ms"] = _suggest_latency(index, queries)
    index.close()
    return engine, extra


def _suggest_latency(index: SearchIndex, queries: list[Query]) -> tuple[float, float]:
    """Each keystroke of the single-term queries, as /api/search/suggest answers it."""
    times = []
    for query in queries:
        if query.kind != "single-term":
            continue
        for end in range(1, len(query.text) + 1):
            started = time.perf_counter()
            with index.snapshot() as snap:
                suggest(snap.db, query.text[:end], ("en",))
            times.append(time.perf_counter() - started)
    times.sort()
    return 1000 * statistics.median(times), 1000 * times[round(0.95 * (len(times) - 1))]


FTS_SCHEMA = """
CREATE VIRTUAL TABLE lesson USING fts5(
    title, keywords, about, body,
    pack UNINDEXED, language UNINDEXED, kind UNINDEXED, subjects UNINDEXED, grades UNINDEXED,
    tokenize = "unicode61 remove_diacritics 2"
)
"""
FTS_PAGE = """
SELECT rowid, title, snippet(lesson, 3, '<mark>', '</mark>', '…', 30) FROM lesson
WHERE lesson MATCH ?{where} ORDER BY bm25(lesson, 4.0, 3.0, 2.0, 1.0) LIMIT 10
"""
FTS_FACET = "SELECT {column}, count(*) FROM lesson WHERE lesson MATCH ?{where} GROUP BY {column}"


def bench_fts5(docs: list[LessonDoc], queries: list[Query], scratch: Path) -> Engine:
    engine = Engine("fts5")
    path = scratch / "fts5.db"
    db = sqlite3.connect(path)
    started = time.perf_counter()
    db.execute(FTS_SCHEMA)
    db.executemany(
        "INSERT INTO lesson VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (_fts_row(d) for d in docs)
    )
    db.commit()
    engine.index_seconds = time.perf_counter() - started
    engine.index_bytes = path.stat().st_size

    def answer(query: Query) -> int:
        match = _fts_match(query)
        where, args = "", [match]
        if query.language:
            where += " AND language = ?"
            args.append(query.language)
        if query.subject:
            where += " AND ',' || subjects || ',' LIKE ?"
            args.append(f"%,{query.subject},%")
        try:
            db.execute(FTS_PAGE.format(where=where), args).fetchall()
            total = db.execute(f"SELECT count(*) FROM lesson WHERE lesson MATCH ?{where}", args)
            hits = total.fetchone()[0]
            for column in ("language", "kind", "pack", "subjects", "grades"):
                db.execute(FTS_FACET.format(column=column, where=where), args).fetchall()
        except sqlite3.OperationalError:
            return 0
        return hits

    for query in queries:
        elapsed, hits = _time(lambda q=query: answer(q))
        engine.timings.add(query.kind, elapsed, hits)
    db.close()
    return engine


def _fts_row(doc: LessonDoc) -> tuple[str, ...]:
    about = "\n".join((doc.description, *doc.topic_path))
    subjects, grades = ",".join(doc.subjects), ",".join(doc.grades)
    keywords = " ".join(doc.keywords)
    return (
        doc.title,
        keywords,
        about,
        doc.text,
        doc.pack_id,
        doc.language,
        doc.kind,
        subjects,
        grades,
    )


def _fts_match(query: Query) -> str:
    """The query in FTS5 syntax: words quoted (so nothing is an operator), a phrase whole."""
    text = query.text.strip('"')
    words = text.split()
    if query.kind == "phrase":
        return '"' + text.replace('"', '""') + '"'
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def measure(
    lessons: int = LESSONS, per_kind: int = QUERIES, scratch: Path | None = None
) -> BenchResult:
    owned = scratch is None
    scratch = scratch or Path(tempfile.mkdtemp(prefix="learnhub-bench-search-"))
    try:
        corpus = Corpus(lessons)
        docs = corpus.generate()
        queries = corpus.queries(per_kind)
        words = sum(len(d.text.split()) for d in docs)
        hub, extra = bench_hub(docs, queries, scratch)
        fts = bench_fts5(docs, queries, scratch)
    finally:
        if owned:
            shutil.rmtree(scratch, ignore_errors=True)
    return _report(lessons, words, hub, fts, extra)


def _report(lessons: int, words: int, hub: Engine, fts: Engine, extra: dict) -> BenchResult:
    rows: list[tuple[str, float | None, str, str, bool | None]] = []
    seconds = hub.index_seconds
    shown = f"{seconds:.1f} s (FTS5 {fts.index_seconds:.1f} s)"
    budget = f"< {INDEXING_BUDGET_S:.0f} s"
    rows.append(("indexing time", seconds, shown, budget, seconds < INDEXING_BUDGET_S))
    shown = f"{hub.index_bytes / 1e6:.0f} MB (FTS5 {fts.index_bytes / 1e6:.0f} MB)"
    rows.append(("index size", hub.index_bytes, shown, "", None))
    for kind in KINDS_OF_QUERY:
        ours, theirs = hub.timings, fts.timings
        p50, p95 = ours.p(kind, 50), ours.p(kind, 95)
        shown = (
            f"p50 {p50:.1f} / p95 {p95:.1f} ms (FTS5 {theirs.p(kind, 50):.1f} / "
            f"{theirs.p(kind, 95):.1f} ms); found {ours.hit_rate(kind):.0%} "
            f"(FTS5 {theirs.hit_rate(kind):.0%})"
        )
        budget = f"p95 < {P95_BUDGET_MS:.0f} ms"
        rows.append((f"{kind} query", p95, shown, budget, p95 < P95_BUDGET_MS))
    p50, p95 = extra["suggest_p50_ms"], extra["suggest_p95_ms"]
    rows.append(("suggest, per keystroke", p95, f"p50 {p50:.2f} / p95 {p95:.2f} ms", "", None))
    first = extra["first_search_s"]
    shown = f"{1000 * first:.0f} ms (nothing is loaded before it)"
    rows.append(("first search after opening", first, shown, "", None))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rows.append(("peak RSS of the bench process", peak, f"{peak / 1e6:.0f} MB", "", None))
    raw = {
        engine.name: {
            "index_seconds": engine.index_seconds,
            "index_bytes": engine.index_bytes,
            "query_seconds": engine.timings.seconds,
            "hits": engine.timings.found,
        }
        for engine in (hub, fts)
    }
    return BenchResult(lessons, words, rows, raw | {"extra": extra})


def format_table(result: BenchResult) -> str:
    header = ("measure", "value", "budget", "")
    lines = [
        (measure, shown, budget, "" if ok is None else ("ok" if ok else "OVER"))
        for measure, _, shown, budget, ok in result.rows
    ]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(3)]
    out = [
        f"search: {result.lessons:,} lessons in {len(LANGUAGES)} languages, "
        f"{result.words / result.lessons:.0f} words each ({result.words / 1e6:.1f} M words), "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    ]
    for row in [header, *lines]:
        out.append(" | ".join(row[i].ljust(widths[i]) for i in range(3)) + " | " + row[3])
        if row is header:
            out.append("-+-".join("-" * w for w in widths) + "-+-----")
    return "\n".join(line.rstrip() for line in out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_search", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lessons", type=int, default=LESSONS, help="lessons to generate")
    parser.add_argument("--queries", type=int, default=QUERIES, help="queries of each kind")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every sample here")
    args = parser.parse_args(argv)
    if args.lessons < 100 or args.queries < 1:
        parser.error("--lessons must be at least 100 and --queries at least 1")
    result = measure(args.lessons, args.queries)
    print(format_table(result))
    if args.json:
        body = {
            "lessons": result.lessons,
            "words": result.words,
            "rows": result.rows,
            "raw": result.raw,
        }
        args.json.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
