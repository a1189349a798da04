"""The search pieces on their own: analysis, query parsing, titles, snippets, and the fast
scorer checked against whoosh's own scores."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from whoosh.query import Phrase, Term

from hub.search.analysis import GENERIC, LessonAnalyzer, analyzer_key, fold, words
from hub.search.documents import LessonDoc
from hub.search.engine import _Phrase, _phrase_scores
from hub.search.index import SearchIndex, field_language
from hub.search.query import MAX_WORDS, QueryError, parse_query
from hub.search.scoring import Scorer, near_terms
from hub.search.snippets import make_snippet, plain_snippet
from hub.search.titles import TitleIndex, TitleRow, edit_distance

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


def test_analyzer_by_language() -> None:
    assert analyzer_key("pt-BR") == "pt" and analyzer_key("FR") == "fr"
    assert analyzer_key("sw") == GENERIC and analyzer_key("../x") == GENERIC
    assert LessonAnalyzer("fr").terms("Les équations de l'eau") == ["equat", "eau"]
    assert LessonAnalyzer(GENERIC).terms("Kunawa mikono") == ["kunawa", "mikono"]  # no stems
    assert LessonAnalyzer("es").terms("las plantas") == ["plant"]


def test_analyzer_pickles_as_just_its_language() -> None:
    analyzer = LessonAnalyzer("fr")
    analyzer.terms("équations")  # fills its stem cache
    data = pickle.dumps(analyzer)
    assert len(data) < 200
    assert pickle.loads(data).terms("équations") == ["equat"]


def test_analyzer_positions_skip_stop_words_and_section_gaps() -> None:
    analyzer = LessonAnalyzer("en")
    tokens = [(t.text, t.pos, t.boost) for t in analyzer("The water\x1ecycle", positions=True)]
    assert tokens[0] == ("water", 0, 4.0)
    assert tokens[1][0] == "cycl" and tokens[1][1] > 1 and tokens[1][2] == 3.0


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


# --- Titles --------------------------------------------------------------------------------------


def titles() -> TitleIndex:
    return TitleIndex(
        [
            TitleRow("p-en", "a", "Photosynthesis", "en", ("sunlight",)),
            TitleRow("p-en", "b", "Photos of plants", "en"),
            TitleRow("p-fr", "c", "La photosynthèse", "fr", ("lumière",)),
            TitleRow("p-fr", "d", "La photosynthèse", "fr"),
            TitleRow("p-sw", "e", "Kunawa mikono", "sw"),
        ]
    )


def test_suggest_by_prefix_readers_language_first_no_duplicates() -> None:
    assert [s.title for s in titles().suggest("photos")] == [
        "Photosynthesis", "Photos of plants", "La photosynthèse",
    ]  # fmt: skip
    assert titles().suggest("photos", ("fr",))[0].title == "La photosynthèse"
    assert [s.title for s in titles().suggest("la photo")] == ["La photosynthèse"]
    assert [s.title for s in titles().suggest("photos ")] == ["Photos of plants"]  # a whole word
    assert [s.title for s in titles().suggest("kunawa m")] == ["Kunawa mikono"]
    assert titles().suggest("zzz") == [] and titles().suggest("") == []


def test_correct_offers_the_closest_known_word_as_written() -> None:
    index = titles()
    assert index.correct("photosyntesis") == "photosynthesis"
    assert index.correct("lumiere") is None  # known, once folded
    assert index.correct("lumeire") == "lumière"
    assert index.correct("sunlihgt") == "sunlight"
    assert index.correct("xylophone") is None and index.correct("abc") is None


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


# --- The fast scorer against whoosh --------------------------------------------------------------


@pytest.fixture
def small_index(tmp_path: Path) -> SearchIndex:
    """Three segments, with deletions: the cases the block reader must get right."""
    index = SearchIndex(tmp_path / "ix")

    def docs(pack: str, n: int, extra: str = "") -> list[LessonDoc]:
        return [
            LessonDoc(pack, f"l{i}", f"Water lesson {i}", "en", "article",
                      text=("rain water cycle " * (i % 4 + 1)) + extra)
            for i in range(n)
        ]  # fmt: skip

    index.rebuild(docs("a", 300), 1, ["en"])
    index.replace_packs(["b"], docs("b", 150, "water cycle"), 2, ["en"])
    index.replace_packs(["c"], docs("c", 5, "cycle water"), 3, ["en"])
    index.replace_packs(["a"], docs("a", 40), 4, ["en"])  # deletes 300, adds 40
    return index


def test_scores_match_whoosh(small_index: SearchIndex) -> None:
    with small_index.snapshot() as snap:
        scorer = Scorer(snap.searcher, snap.view.lengths)
        for term in ("water", "cycl", "rain", "lesson"):
            ours = scorer.term("text_en", term, boost=1.5)
            theirs = {
                hit.docnum: hit.score
                for hit in snap.searcher.search(Term("text_en", term, boost=1.5), limit=None)
            }
            assert ours.keys() == theirs.keys() and len(ours) == 40 + 150 + 5
            for docnum, score in theirs.items():
                assert ours[docnum] == pytest.approx(score, rel=1e-6)


def test_phrases_match_whoosh(small_index: SearchIndex) -> None:
    with small_index.snapshot() as snap:
        scorer = Scorer(snap.searcher, snap.view.lengths)
        for terms in (("water", "cycl"), ("cycl", "water"), ("rain", "water", "cycl")):
            ours = set(_phrase_scores(scorer, _Phrase("text_en", terms, 1.0)))
            theirs = set(snap.searcher.docs_for_query(Phrase("text_en", list(terms))))
            assert ours == theirs and ours


def test_near_terms_are_the_close_ones_most_frequent_first(small_index: SearchIndex) -> None:
    with small_index.snapshot() as snap:
        reader = snap.searcher.reader()
        assert near_terms(reader, "text_en", "watr", 1, 1, 5) == ["water"]
        assert near_terms(reader, "text_en", "rainn", 1, 1, 5) == ["rain"]
        assert near_terms(reader, "text_en", "wtaer", 2, 1, 5) == ["water"]
        assert near_terms(reader, "text_en", "water", 1, 1, 5) == []  # itself excluded
        assert near_terms(reader, "text_nope", "water", 1, 1, 5) == []
