"""The search pieces on their own: analysis, query parsing, titles, snippets, and the index's
vocabulary and phrase matching checked against counts made by hand."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.search import analysis, readers, vocabulary
from hub.search.analysis import (
    GENERIC,
    LessonAnalyzer,
    analyzer,
    analyzer_key,
    fold,
    word_pattern,
    words,
)
from hub.search.documents import LessonDoc
from hub.search.index import SearchIndex
from hub.search.query import MAX_WORDS, QueryError, parse_query
from hub.search.readers import ReaderPool
from hub.search.schema import COMBO_SHIFT, field_language, fts_table
from hub.search.snippets import _places, make_snippet, plain_snippet
from hub.search.titles import suggest
from hub.search.vocabulary import TITLE_FIELD, correction, edit_distance, near_terms

# --- Analysis ------------------------------------------------------------------------------------


def test_english_uses_porter2() -> None:
    english = LessonAnalyzer("en")
    assert english.terms("run running runs") == ["run", "run", "run"]
    assert english.terms("The generously") == ["generous"]  # porter would say "gener"


def test_folding_removes_accents_and_case_in_every_script() -> None:
    assert fold("Équation") == "equation"
    assert fold("FOTOSÍNTESIS") == "fotosintesis"
    assert fold("Straße") == "strasse"
    assert fold("Œuvre") == "oeuvre"
    assert fold("ﬁn") == "fin"
    assert fold("أَحْمَد") == fold("احمد")


def test_words_keep_their_combining_marks() -> None:
    # Python's \\w stops at a combining mark; these are one word each.
    assert words("الكِتَابُ नमस्ते") == ["الكِتَابُ", "नमस्ते"]
    assert words("l'eau, c\u2019est") == ["l", "eau", "c", "est"]


def test_the_fast_word_splits_find_what_the_full_pattern_finds() -> None:
    """ASCII text, and text without characters past U+FFFF, are split the fast way."""
    rng = random.Random(3)
    pieces = ["abc", " ", "déf", "ÉÈ", "،", "الكِتَابُ", "नमस्ते", "\U0001d165x", "\U000e0100",
              ",", ".", "12", "½", "ﬁ", "_", "a_b", "x"]  # fmt: skip
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        found = words(text)
        assert found == word_pattern().findall(text), text
        assert _places(text, found) == [m.span() for m in word_pattern().finditer(text)], text


def test_analyzer_by_language() -> None:
    assert analyzer_key("pt-BR") == "pt" and analyzer_key("FR") == "fr"
    assert analyzer_key("sw") == GENERIC and analyzer_key("../x") == GENERIC
    assert LessonAnalyzer("fr").terms("Les équations de l'eau") == ["equat", "eau"]
    assert LessonAnalyzer(GENERIC).terms("Kunawa mikono") == ["kunawa", "mikono"]  # no stems
    assert LessonAnalyzer("es").terms("las plantas") == ["plant"]


def test_one_analyzer_per_language_remembers_a_bounded_number_of_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert analyzer("fr") is analyzer("fr") and analyzer("fr") == LessonAnalyzer("fr")
    monkeypatch.setattr(analysis, "_word_memory", analysis._word_memory)  # put back after
    analysis.remember_words(10)  # as the `search_word_memory` setting does
    french = LessonAnalyzer("fr")
    for n in range(100):
        french.term(f"équations{n}")
    assert len(french._terms) <= 10 and len(french._written) <= 10
    assert french.term("équations") == "equat"
    # Snippets still mark every match while the memory starts afresh under them.
    english = LessonAnalyzer("en")
    text = "Running runs " + " ".join(f"word{n}" for n in range(40)) + " running."
    snippet = make_snippet(text, english, frozenset({"run"}))
    assert snippet.startswith("<mark>Running</mark> <mark>runs</mark> word0")


def test_the_index_stores_analysed_text_with_stop_words_dropped() -> None:
    assert LessonAnalyzer("en").analysed("The water, the CYCLE!") == "water cycl"
    assert LessonAnalyzer("fr").analysed("Les équations de l'eau") == "equat eau"
    assert LessonAnalyzer(GENERIC).analysed("Kunawa MIKONO") == "kunawa mikono"


def test_field_names_stay_safe() -> None:
    assert field_language("pt-BR") == "pt"
    assert field_language("../../etc") == "und"
    assert field_language("") == "und"


# --- Queries -------------------------------------------------------------------------------------


def test_parse_words_phrases_and_exclusions() -> None:
    parsed = parse_query('  water  "water cycle" -salt “le cycle”  ')
    assert parsed.words == ("water",)
    assert parsed.phrases == (("water", "cycle"), ("le", "cycle"))
    assert parsed.excluded == ("salt",)


def test_parse_is_forgiving() -> None:
    assert parse_query('"open quote here').phrases == (("open", "quote", "here"),)
    assert parse_query("title:water AND (rain OR snow)").words == (
        "title", "water", "AND", "rain", "OR", "snow",
    )  # fmt: skip
    assert parse_query("\x00wa\x07ter\u200b").words == ("wa", "ter")
    assert parse_query("*").empty and parse_query("   ").empty and parse_query('""').empty
    assert len(parse_query(" ".join(f"w{n}" for n in range(50))).words) == MAX_WORDS


def test_parse_refuses_only_a_query_too_long() -> None:
    parse_query("x" * 500)
    with pytest.raises(QueryError, match="at most 500 characters"):
        parse_query("x" * 501)


# --- Titles ------------------------------------------------------------------------------------

TITLES = [
    ("p-en", "a", "Photosynthesis", "en", ("sunlight",)),
    ("p-en", "b", "Photos of plants", "en", ()),
    ("p-fr", "c", "La photosynthèse", "fr", ("lumière",)),
    ("p-fr", "d", "La photosynthèse", "fr", ()),
    ("p-sw", "e", "Kunawa mikono", "sw", ()),
]


@pytest.fixture
def titles(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    index = SearchIndex(tmp_path / "titles")
    docs = [
        LessonDoc(pack, lesson, title, language, "article", keywords=keywords)
        for pack, lesson, title, language, keywords in TITLES
    ]
    index.rebuild(docs, 1)
    with index.snapshot() as snap:
        yield snap.db
    index.close()


def test_suggest_by_prefix_readers_language_first_no_duplicates(
    titles: sqlite3.Connection,
) -> None:
    def shown(text: str, readers: tuple[str, ...] = ()) -> list[str]:
        return [s.title for s in suggest(titles, text, readers)]

    assert shown("photos") == ["Photosynthesis", "Photos of plants", "La photosynthèse"]
    assert shown("photos", ("fr",))[0] == "La photosynthèse"
    assert shown("la photo") == ["La photosynthèse"]
    assert shown("photos ") == ["Photos of plants"]  # a whole word
    assert shown("kunawa m") == ["Kunawa mikono"]
    assert shown("zzz") == [] and shown("") == [] and shown('"*') == []


def test_correct_offers_the_closest_known_word_as_written(titles: sqlite3.Connection) -> None:
    assert correction(titles, "photosyntesis") == "photosynthesis"
    assert correction(titles, "lumiere") is None  # known, once folded
    assert correction(titles, "lumeire") == "lumière"
    assert correction(titles, "sunlihgt") == "sunlight"
    assert correction(titles, "xylophone") is None and correction(titles, "abc") is None


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("equatoins", "equations", 2) == 1
    assert edit_distance("kitten", "sitting", 3) == 3
    assert edit_distance("kitten", "sitting", 1) == 2  # stops early: more than the limit


# --- Snippets ------------------------------------------------------------------------------------


def test_snippet_marks_words_in_the_best_window() -> None:
    text = ("Filler words here. " * 20) + "Plants use sunlight. " + ("More filler. " * 20)
    text += "Here plants and sunlight and photosynthesis meet."
    snippet = make_snippet(
        text, LessonAnalyzer("en"), frozenset({"plant", "sunlight", "photosynthesi"})
    )
    assert "<mark>photosynthesis</mark>" in snippet and snippet.startswith("…")


def test_snippet_escapes_html() -> None:
    snippet = make_snippet("<b>water</b> & <i>rain</i>", LessonAnalyzer("en"), frozenset({"water"}))
    assert snippet == "&lt;b&gt;<mark>water</mark>&lt;/b&gt; &amp; &lt;i&gt;rain&lt;/i&gt;"
    assert make_snippet("nothing here", LessonAnalyzer("en"), frozenset({"water"})) == ""
    assert plain_snippet("a <b> " + "word " * 50).endswith(" …")


# --- The vocabulary and phrases against counts made by hand ------------------------------------


def small_docs(pack: str, n: int, extra: str = "") -> list[LessonDoc]:
    return [
        LessonDoc(pack, f"l{i}", f"Water lesson {i}", "en", "article",
                  text=("rain water cycle " * (i % 4 + 1)) + extra + f" only{pack}{i % 3}")
        for i in range(n)
    ]  # fmt: skip


@pytest.fixture
def small_index(tmp_path: Path) -> Iterator[SearchIndex]:
    """A rebuild, then imports that add, replace and remove: what the counts must survive."""
    index = SearchIndex(tmp_path / "ix")
    index.rebuild(small_docs("a", 300), 1)
    index.replace_packs(["b"], small_docs("b", 150, "water cycle"), 2)
    index.replace_packs(["c"], small_docs("c", 5, "cycle water"), 3)
    index.replace_packs(["a"], small_docs("a", 40), 4)  # deletes 300, adds 40
    index.replace_packs(["c"], [], 5)  # removed
    yield index
    index.close()


def live_docs() -> list[LessonDoc]:
    return small_docs("a", 40) + small_docs("b", 150, "water cycle")


def test_vocabulary_counts_stay_exact_through_imports(small_index: SearchIndex) -> None:
    english = LessonAnalyzer("en")
    expected: Counter[str] = Counter()
    for doc in live_docs():
        text = " ".join((doc.title, *doc.keywords, doc.description, *doc.topic_path, doc.text))
        expected.update(set(english.terms(text)))
    with small_index.snapshot() as snap:
        stored = dict(snap.db.execute("SELECT term, docs FROM term WHERE field = 'en'"))
        assert stored == dict(expected)  # "onlyc0" and "onlya2" of removed lessons are gone
        keys = {row for row in snap.db.execute("SELECT key, term FROM near WHERE field = 'en'")}
        assert keys == {
            (key, term)
            for term in expected
            if len(term) >= 3 and not term.isdigit()
            for key in vocabulary.deletions(term)
        }
        assert snap.lessons == 190 and snap.sizes == {"en": 190}
        # Each row id names its pack-and-kind combination; a removed pack's is gone.
        packs = {number: set(combo.values["pack"]) for number, combo in snap.combos.items()}
        assert sorted(packs.values()) == [{"a"}, {"b"}]
        for lesson_id, pack in snap.db.execute("SELECT id, pack FROM lesson"):
            assert packs[lesson_id >> COMBO_SHIFT] == {pack}


def test_phrases_match_words_side_by_side_in_order(small_index: SearchIndex) -> None:
    english = LessonAnalyzer("en")

    def by_hand(terms: tuple[str, ...]) -> set[tuple[str, str]]:
        found = set()
        for doc in live_docs():
            text = english.terms(doc.text)
            if any(tuple(text[i : i + len(terms)]) == terms for i in range(len(text))):
                found.add((doc.pack_id, doc.lesson_id))
        return found

    with small_index.snapshot() as snap:
        for terms in (("water", "cycl"), ("cycl", "water"), ("rain", "water", "cycl")):
            rows = snap.db.execute(
                f"SELECT pack, lesson FROM {fts_table('en')} AS f "
                f"JOIN lesson ON lesson.id = f.rowid WHERE {fts_table('en')} MATCH ?",
                (f'body : "{" ".join(terms)}"',),
            )
            assert set(rows) == by_hand(terms) and by_hand(terms)


def test_near_terms_are_the_close_ones_closest_then_most_frequent(
    small_index: SearchIndex,
) -> None:
    with small_index.snapshot() as snap:
        db = snap.db

        def near(term: str, distance: int, prefix: int = 1) -> list[str]:
            return [t for t, _, _ in near_terms(db, "en", term, distance, prefix, 5)]

        assert near("watr", 1) == ["water"]
        assert near("rainn", 1) == ["rain"]
        assert near("wtaer", 2) == ["water"]
        assert near("water", 1) == []  # itself excluded
        assert near("onlyb3", 1) == ["onlyb0", "onlyb1", "onlyb2"]  # each in 50 lessons
        assert near_terms(db, "nope", "water", 1, 1, 5) == []
        assert vocabulary.docs(db, TITLE_FIELD, "lesson") == 190


# --- The bounded pool of readers -----------------------------------------------------------------


def test_searches_share_a_bounded_pool_of_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = SearchIndex(tmp_path / "ix", readers=2)
    index.rebuild(small_docs("a", 50), 1)
    opened: list[int] = []
    real_open = ReaderPool._open
    monkeypatch.setattr(
        ReaderPool, "_open", lambda pool, path: opened.append(1) or real_open(pool, path)
    )
    inside = [0, 0]  # now, most at once
    lock = threading.Lock()
    answers: list[int] = []

    def student() -> None:
        for _ in range(20):
            with index.snapshot() as snap:
                with lock:
                    inside[0] += 1
                    inside[1] = max(inside)
                answers.append(snap.db.execute("SELECT count(*) FROM lesson").fetchone()[0])
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=student) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    index.close()
    assert answers == [50] * 320
    assert inside[1] <= 2 and len(opened) <= 2


def test_a_search_that_finds_every_connection_busy_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "WAIT_SECONDS", 0.05)
    index = SearchIndex(tmp_path / "ix", readers=1)
    index.rebuild(small_docs("a", 5), 1)
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with index.snapshot():
                pass
        except BaseException as err:
            failures.append(err)

    with index.snapshot():
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(10)
    assert [type(f) for f in failures] == [TimeoutError]
    with index.snapshot() as snap:  # free again
        assert snap.lessons == 5
    index.close()


def test_a_search_that_picked_a_file_a_rebuild_just_removed_reads_the_new_one(
    tmp_path: Path,
) -> None:
    index = SearchIndex(tmp_path / "ix")
    index.rebuild(small_docs("a", 5), 1)
    old = index.current()
    index.rebuild(small_docs("a", 7), 2)  # a new file renamed in, the old one removed
    assert old is not None and not old.exists() and index.current() != old
    # As if this process had listed the folder just before the rename.
    index._listing = (index.path.stat().st_mtime_ns, old)
    assert index.current() == old
    with index.snapshot() as snap:
        assert (snap.library_generation, snap.lessons) == (2, 7)
    index.close()
