"""Per-language analysis: words are split, case- and accent-folded, stop words dropped, and
stemmed where whoosh has a stemmer for the language (English with porter2, so "run" finds
"running"). Languages without one (Swahili, ...) are folded only; the query side adds prefix
matching for them.

One analyzer does the whole chain in a single loop: on a Pi, a chain of generator filters
costs more than the stemming itself.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from whoosh.analysis import Analyzer, Token
from whoosh.lang import has_stemmer, has_stopwords, stemmer_for_language, stopwords_for_language
from whoosh.lang.porter2 import stem as porter2_stem

# Analyzer key for languages whoosh has no stemmer for: fold, no stemming.
GENERIC = "xx"

# Lists whoosh ships are missing words that are everywhere in lessons.
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

_STEM_CACHE_LIMIT = 50_000

# A lesson's searchable text is one field per language, made of sections joined by this
# mark: title, keywords, about (description and topic path), body. A word weighs by the
# section it appears in, so a title word counts four times a body word.
SECTION_MARK = "\x1e"
SECTION_BOOSTS = (4.0, 3.0, 2.0, 1.0)
# Positions skipped between sections, so a phrase never spans a title and the body.
SECTION_GAP = 8


@lru_cache(maxsize=1)
def word_pattern() -> re.Pattern[str]:
    """Letters and digits with the combining marks that belong to them: Python's \\w stops
    at a combining mark, which would cut Arabic with vowel signs or Hindi words in pieces."""
    marks = _mark_ranges()
    return re.compile(rf"(?:[^\W_]|[{marks}])+")


def _mark_ranges() -> str:
    ranges: list[tuple[int, int]] = []
    for code in range(0x300, sys.maxunicode + 1):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
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
    return word_pattern().findall(text)


def analyzer_key(language: str) -> str:
    """The analyzer a language uses: its primary subtag when whoosh can stem it, else generic."""
    primary = language.split("-")[0].split("_")[0].lower()
    return primary if primary.isalpha() and has_stemmer(primary) else GENERIC


def has_stemming(key: str) -> bool:
    return key != GENERIC


@lru_cache(maxsize=64)
def stop_words(key: str) -> frozenset[str]:
    if key == GENERIC or not has_stopwords(key):
        return frozenset()
    listed = set(stopwords_for_language(key)) | EXTRA_STOP_WORDS.get(key, set())
    return frozenset(fold(word) for word in listed)


class LessonAnalyzer(Analyzer):
    """Tokenize, fold, drop stop words and stem for one analyzer key, in one pass."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._setup()

    def _setup(self) -> None:
        self._stops = stop_words(self.key)
        if self.key == "en":
            self._stemfn: Any = porter2_stem
        elif has_stemming(self.key):
            self._stemfn = stemmer_for_language(self.key)
        else:
            self._stemfn = None
        self._stems: dict[str, str] = {}

    # The schema (with its analyzers) is pickled into the index: keep only the key.
    def __getstate__(self) -> dict[str, str]:
        return {"key": self.key}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.key = state["key"]
        self._setup()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LessonAnalyzer) and other.key == self.key

    def __hash__(self) -> int:
        return hash(("LessonAnalyzer", self.key))

    def __repr__(self) -> str:
        return f"LessonAnalyzer({self.key!r})"

    def has_morph(self) -> bool:
        return self._stemfn is not None

    def stem(self, folded: str) -> str:
        if self._stemfn is None:
            return folded
        stemmed = self._stems.get(folded)
        if stemmed is None:
            if len(self._stems) > _STEM_CACHE_LIMIT:
                self._stems.clear()
            stemmed = self._stems[folded] = self._stemfn(folded)
        return stemmed

    def term(self, word: str) -> str | None:
        """The index term of one word, or None for a stop word."""
        folded = fold(word)
        if folded in self._stops or (len(folded) < 2 and not folded.isdigit()):
            return None
        return self.stem(folded)

    def terms(self, text: str) -> list[str]:
        """The index terms `text` becomes (stop words dropped)."""
        return [t.text for t in self(text)]

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.text, token.stopped, token.boost = fold(value), False, 1.0
            token.pos, token.startchar, token.endchar = (
                start_pos,
                start_char,
                start_char + len(value),
            )
            yield token
            return
        stops = self._stops
        pos = start_pos
        boosts = iter(SECTION_BOOSTS)
        boost = next(boosts)
        section_end = value.find(SECTION_MARK)
        for match in word_pattern().finditer(value):
            while 0 <= section_end < match.start():
                boost = next(boosts, 1.0)
                pos += SECTION_GAP
                section_end = value.find(SECTION_MARK, section_end + 1)
            word = match.group()
            folded = fold(word)
            stopped = folded in stops or (len(folded) < 2 and not folded.isdigit())
            if stopped and removestops:
                continue
            token.text = folded if stopped else self.stem(folded)
            token.stopped = stopped
            token.boost = boost
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = pos
                pos += 1
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token
