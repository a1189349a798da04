"""Search-as-you-type over lesson titles, and the words "did you mean" may propose.

Both live in memory, built in one pass over the library's titles and keywords:
a keystroke costs a few bisections and set operations, no disk, no index searcher. Built
again (off the request path) after the library changes.
"""

from __future__ import annotations

import bisect
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from hub.search.analysis import fold, words

MAX_SUGGESTIONS = 8
MAX_PREFIX_WORDS = 2000  # words one typed prefix may expand to before we stop looking
MIN_CORRECTION_CHARS = 4


@dataclass(frozen=True)
class TitleRow:
    pack_id: str
    lesson_id: str
    title: str
    language: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    title: str
    pack_id: str
    lesson_id: str
    language: str


class TitleIndex:
    def __init__(self, rows: Iterable[TitleRow], generation: int = 0) -> None:
        self.generation = generation
        self.rows: list[TitleRow] = []
        self.folded: list[str] = []
        postings: dict[str, list[int]] = {}
        seen: Counter[str] = Counter()
        surfaces: dict[str, Counter[str]] = {}
        for row in rows:
            at = len(self.rows)
            self.rows.append(row)
            folded_words = [fold(w) for w in words(row.title)]
            self.folded.append(" ".join(folded_words))
            for word in dict.fromkeys(folded_words):
                postings.setdefault(word, []).append(at)
            for text in (row.title, *row.keywords):
                for word in words(text):
                    key = fold(word)
                    if len(key) >= MIN_CORRECTION_CHARS and not key.isdigit():
                        seen[key] += 1
                        surfaces.setdefault(key, Counter())[word.lower()] += 1
        self.words = sorted(postings)
        self.postings = [array("I", postings[w]) for w in self.words]
        # Each folded word with how often it appears and its most common written form.
        self.vocabulary = {
            key: (count, surfaces[key].most_common(1)[0][0]) for key, count in seen.items()
        }
        self._by_length: dict[int, list[str]] = {}
        for key in self.vocabulary:
            self._by_length.setdefault(len(key), []).append(key)

    def __len__(self) -> int:
        return len(self.rows)

    def suggest(
        self, text: str, readers: tuple[str, ...] = (), limit: int = MAX_SUGGESTIONS
    ) -> list[Suggestion]:
        """Titles holding every typed word, the last one as a prefix ("photos" -> ...)."""
        typed = [fold(w) for w in words(text)]
        if not typed:
            return []
        complete = not text[-1:].isalnum()
        candidates: set[int] | None = None
        for position, word in enumerate(typed):
            last = position == len(typed) - 1
            found = self._with_word(word) if last and complete else self._with_prefix(word)
            candidates = found if candidates is None else candidates & found
            if not candidates:
                return []
        assert candidates is not None
        query = " ".join(typed)
        ranked = sorted(candidates, key=lambda at: self._rank(at, query, readers))
        out: list[Suggestion] = []
        shown: set[tuple[str, str]] = set()
        for at in ranked:
            row = self.rows[at]
            key = (self.folded[at], row.language)
            if key in shown:
                continue
            shown.add(key)
            out.append(Suggestion(row.title, row.pack_id, row.lesson_id, row.language))
            if len(out) >= limit:
                break
        return out

    def _rank(self, at: int, query: str, readers: tuple[str, ...]) -> tuple[int, int, int, str]:
        language = self.rows[at].language.split("-")[0].lower()
        preferred = readers.index(language) if language in readers else len(readers)
        starts = 0 if self.folded[at].startswith(query) else 1
        return preferred, starts, len(self.folded[at]), self.folded[at]

    def _with_word(self, word: str) -> set[int]:
        at = bisect.bisect_left(self.words, word)
        if at < len(self.words) and self.words[at] == word:
            return set(self.postings[at])
        return set()

    def _with_prefix(self, prefix: str) -> set[int]:
        start = bisect.bisect_left(self.words, prefix)
        found: set[int] = set()
        for at in range(start, min(start + MAX_PREFIX_WORDS, len(self.words))):
            if not self.words[at].startswith(prefix):
                break
            found.update(self.postings[at])
        return found

    def knows(self, folded_word: str) -> bool:
        return folded_word in self.vocabulary

    def correct(self, word: str) -> str | None:
        """The closest common word of the library (one or two edits away), as it is written;
        None when the word is known or nothing is close."""
        key = fold(word)
        if len(key) < MIN_CORRECTION_CHARS or key in self.vocabulary or key.isdigit():
            return None
        limit = 1 if len(key) < 7 else 2
        best: tuple[int, int, str] | None = None
        for length in range(len(key) - limit, len(key) + limit + 1):
            for candidate in self._by_length.get(length, ()):
                if candidate[0] != key[0]:
                    continue
                distance = edit_distance(key, candidate, limit)
                if distance > limit:
                    continue
                rank = (distance, -self.vocabulary[candidate][0], candidate)
                if best is None or rank < best:
                    best = rank
        return self.vocabulary[best[2]][1] if best else None


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count one), or limit + 1 if above it."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]
