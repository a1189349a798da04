"""Per-language analysis: words are split, case- and accent-folded, stop words dropped, and
stemmed where Snowball has a stemmer for the language (PyStemmer: Snowball in C; English is
porter2, so "run" finds "running"). Languages without one (Swahili, ...) are folded only; the
query side adds prefix matching for them.

The index stores what this produces (SQLite FTS5 only splits it on spaces again), and a query
is read by the same analyzer, so a lesson and a query always agree on what a word is.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import Stemmer

from hub.search.stopwords import STOP_WORDS

# Analyzer key for languages Snowball has no stemmer for: fold, no stemming.
GENERIC = "xx"
# Language subtags with a Snowball stemmer, and its name there ("english" is porter2).
STEMMERS = {
    "ar": "arabic", "da": "danish", "de": "german", "en": "english", "es": "spanish",
    "fi": "finnish", "fr": "french", "hu": "hungarian", "it": "italian", "nl": "dutch",
    "no": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "sv": "swedish", "tr": "turkish",
}  # fmt: skip

# The Snowball lists are missing words that are everywhere in lessons.
EXTRA_STOP_WORDS = {
    "fr": {"les", "cet", "cette", "ces", "aux"},
    "es": {"los", "las"},
    "pt": {"os", "as"},
}

# Letters that do not decompose into a base letter plus accents.
_SPECIAL_FOLDS = str.maketrans(
    {
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "\u0131": "i",  # dotless i
        "þ": "th",
        "ħ": "h",
        "ـ": "",  # Arabic tatweel, a stretching stroke
        "\u2019": "'",  # typographic apostrophe
    }
)

# Words (as written) whose term an analyzer remembers; past this the memory starts afresh.
_word_memory = 30_000  # per language; the `search_word_memory` setting (remember_words)


@lru_cache(maxsize=1)
def word_pattern() -> re.Pattern[str]:
    """Letters and digits with the combining marks that belong to them: Python's \\w stops
    at a combining mark, which would cut Arabic with vowel signs or Hindi words in pieces."""
    return re.compile(rf"(?:[^\W_]|[{_char_class(_mark_ranges())}])+")


@lru_cache(maxsize=1)
def _plane_word() -> re.Pattern[str]:
    """word_pattern() for text without characters past U+FFFF, where "_" is a space: one
    class (a table lookup per character) instead of an alternation, ten times faster."""
    marks = [r for r in _mark_ranges() if r[1] <= 0xFFFF]
    return re.compile(rf"[\w{_char_class(marks)}]+")


# In ASCII text a word is letters and digits: the same words, the fast way.
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")


@lru_cache(maxsize=1)
def _mark_ranges() -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    # Marks live in the first two planes and among the variation selectors of plane 14;
    # planes 2 to 13 are ideographs and unassigned. Looking only there takes 30 ms, not 500.
    for code in itertools.chain(range(0x300, 0x20000), range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return ranges


def _char_class(ranges: list[tuple[int, int]]) -> str:
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )


def fold(text: str) -> str:
    """Lower case without accents: "Équation" -> "equation", "أَب" -> "اب"."""
    lowered = text.casefold()
    if lowered.isascii():
        return lowered
    return _fold_unicode(lowered)


@lru_cache(maxsize=65536)
def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL_FOLDS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of `text` as typed (unfolded), in order."""
    if text.isascii():
        return _ASCII_WORD.findall(text)
    if max(text) <= "\uffff":
        return _plane_word().findall(text.replace("_", " "))
    return word_pattern().findall(text)


def analyzer_key(language: str) -> str:
    """The analyzer a language uses: its primary subtag when Snowball can stem it, else generic."""
    primary = language.split("-")[0].split("_")[0].lower()
    return primary if primary in STEMMERS else GENERIC


def has_stemming(key: str) -> bool:
    return key != GENERIC


@lru_cache(maxsize=64)
def stop_words(key: str) -> frozenset[str]:
    if key not in STOP_WORDS:
        return frozenset()
    listed = set(STOP_WORDS[key].split()) | EXTRA_STOP_WORDS.get(key, set())
    return frozenset(fold(word) for word in listed)


class LessonAnalyzer:
    """Tokenize, fold, drop stop words and stem for one analyzer key, in one pass.

    Safe to share between threads: it remembers words in plain dicts (a lost race costs one
    recomputation), forgotten all at once when they reach `search_word_memory` words.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self._stops = stop_words(key)
        self._stemfn: Callable[[str], str] | None = None
        if has_stemming(key):
            self._stemfn = Stemmer.Stemmer(STEMMERS[key]).stemWord
        self._terms: dict[str, str | None] = {}  # word as written -> its term
        self._written: dict[str, set[str]] = {}  # term -> the words seen written for it
        self._cleared = 0  # how many times the word memory started afresh
        # A Snowball stemmer keeps its work in one C struct: one thread in it at a time.
        self._stem_lock = threading.Lock()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LessonAnalyzer) and other.key == self.key

    def __hash__(self) -> int:
        return hash(("LessonAnalyzer", self.key))

    def __repr__(self) -> str:
        return f"LessonAnalyzer({self.key!r})"

    def stem(self, folded: str) -> str:
        if self._stemfn is None:
            return folded
        with self._stem_lock:
            return self._stemfn(folded)

    def term(self, word: str) -> str | None:
        """The index term of one word, or None for a stop word."""
        try:
            return self._terms[word]
        except KeyError:
            pass
        folded = fold(word)
        found = None
        if folded not in self._stops and (len(folded) >= 2 or folded.isdigit()):
            found = self.stem(folded)
        if len(self._terms) >= _word_memory:
            self._cleared += 1
            self._terms.clear()
            self._written.clear()
        self._terms[word] = found
        if found is not None:
            self._written.setdefault(found, set()).add(word)
        return found

    def written_as(self, written: set[str], terms: frozenset[str]) -> set[str]:
        """The words among `written` (as written) whose term is one of `terms`: set
        operations on what the analyzer remembers, no Python loop over the words."""
        cleared = self._cleared
        for word in written.difference(self._terms):  # words never seen: analysed once
            self.term(word)
        forms: set[str] = set()
        for term in terms:
            forms |= self._written.get(term, set())
        if cleared != self._cleared:  # its memory started afresh meanwhile: ask each word
            return {word for word in written if self.term(word) in terms}
        return written & forms

    def terms(self, text: str) -> list[str]:
        """The index terms `text` becomes, in order (stop words dropped)."""
        term = self.term
        return [t for t in map(term, words(text)) if t is not None]

    def analysed(self, text: str) -> str:
        """`text` as the index stores it: its terms, one space between them."""
        return " ".join(self.terms(text))


def remember_words(limit: int) -> None:
    """How many written words each language's analyzer keeps with their terms (a setting:
    about 250 bytes a word, and the words of a big library run to hundreds of thousands)."""
    global _word_memory
    _word_memory = max(1, limit)


@lru_cache(maxsize=64)
def analyzer(key: str) -> LessonAnalyzer:
    """The one analyzer of a key, shared by the whole process (its caches too)."""
    return LessonAnalyzer(key)
