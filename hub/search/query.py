"""What a student typed, made safe: words, "quoted phrases" and -excluded words.

There is no operator language to get wrong: AND, OR, NOT, field:value, *, ~ and brackets
are plain text here, so a hostile query cannot make the search fail. Control characters are
dropped, quotes may be left open, and the work a query can ask for is capped (MAX_WORDS).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from hub.core.translate import gettext
from hub.search.analysis import words

MAX_QUERY_CHARS = 500
MAX_WORDS = 12  # words and phrases together; the rest of a long query is ignored
MAX_PHRASE_WORDS = 8

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "\uff02": '"'})
# A quoted phrase (the closing quote may be missing), or a run of anything but spaces.
_PIECE = re.compile(r'"([^"]*)(?:"|$)|(\S+)')


class QueryError(ValueError):
    """A query we will not run; str() is one sentence for the person who typed it."""


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the query as we understood it, cleaned, for showing back
    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases)

    def with_words(self, replacements: dict[str, str]) -> str:
        """The query text with some words replaced (for "did you mean")."""
        pieces = [replacements.get(word, word) for word in self.words]
        pieces += ['"' + " ".join(phrase) + '"' for phrase in self.phrases]
        pieces += ["-" + word for word in self.excluded]
        return " ".join(pieces)


def clean(text: str) -> str:
    """NFC text without control or format characters, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    kept = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in text
        if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Cn") or c == "\u200c"
    )
    return " ".join(kept.split())


def parse_query(text: str) -> ParsedQuery:
    """Raises QueryError only for a query too long to be a search."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            gettext("A search can be at most %(n)d characters long.", n=MAX_QUERY_CHARS)
        )
    cleaned = clean(text).translate(_QUOTES)
    found_words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    for match in _PIECE.finditer(cleaned):
        if len(found_words) + len(phrases) >= MAX_WORDS:
            break
        if match[1] is not None:
            phrase = tuple(words(match[1]))[:MAX_PHRASE_WORDS]
            if len(phrase) > 1:
                phrases.append(phrase)
            else:
                found_words.extend(phrase)
            continue
        piece = match[2]
        if piece.startswith("-") and len(piece) > 1:
            excluded.extend(words(piece)[:1])
            continue
        found_words.extend(words(piece))
    found_words = list(dict.fromkeys(found_words))[:MAX_WORDS]
    return ParsedQuery(
        text=cleaned.strip(),
        words=tuple(found_words),
        phrases=tuple(dict.fromkeys(phrases)),
        excluded=tuple(dict.fromkeys(excluded))[:MAX_WORDS],
    )
