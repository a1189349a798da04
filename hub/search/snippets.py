"""A short passage of a lesson around the words that matched, with those words marked.

The passage is found with the lesson's own analyzer, so "running" is marked for a search for
"run", and "équation" for "equation". The result is safe HTML: text escaped, <mark> around
the matches.
"""

from __future__ import annotations

from html import escape

from hub.search.analysis import LessonAnalyzer, words

SNIPPET_WORDS = 30
CONTEXT_BEFORE = 8
MAX_SCANNED_WORDS = 5000
MAX_MATCHES = 60
TAIL_CHARS = 40  # punctuation after the last word of a text


def make_snippet(text: str, analyzer: LessonAnalyzer, terms: frozenset[str]) -> str:
    """ "" when none of `terms` occurs in `text`."""
    if not terms:
        return ""
    found = words(text)[:MAX_SCANNED_WORDS]
    # Each distinct written word is looked up once; the text is then scanned in C speed.
    marked_words = analyzer.written_as(set(found), terms)
    numbers = [n for n, word in enumerate(found) if word in marked_words]
    if not numbers:
        return ""
    last = numbers[0] + 2 * SNIPPET_WORDS
    matches = [(n, analyzer.term(found[n]) or "") for n in numbers[:MAX_MATCHES] if n <= last]
    first = _best_window(matches)
    start = max(0, first - CONTEXT_BEFORE)
    end = min(len(found), start + SNIPPET_WORDS)
    spans = _places(text, found[: end + 1])
    marked = {number for number, _ in matches if start <= number < end}
    return _render(text, spans, start, end, marked)


def _places(text: str, found: list[str]) -> list[tuple[int, int]]:
    """Where each of these words (the text's first words, in order) is: only non-word
    characters lie between two of them, so each is the next occurrence after the last."""
    spans = []
    at = 0
    for word in found:
        at = text.find(word, at)
        spans.append((at, at + len(word)))
        at += len(word)
    return spans


def _best_window(matches: list[tuple[int, str]]) -> int:
    """The word number where a window holding the most different matched terms begins."""
    best, best_score = matches[0][0], 0
    for at, (number, _) in enumerate(matches):
        inside = {term for n, term in matches[at:] if n < number + SNIPPET_WORDS - CONTEXT_BEFORE}
        if len(inside) > best_score:
            best, best_score = number, len(inside)
    return best


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int, marked: set[int]) -> str:
    """The window's text, escaped, with the marked words in <mark>: escaped in a few pieces
    (between the marks), not word by word."""
    out = ["…"] if start > 0 else []
    cursor = spans[start][0] if start > 0 else 0
    for number in sorted(marked):
        begin, finish = spans[number]
        out.append(escape(text[cursor:begin]))
        out.append(f"<mark>{escape(text[begin:finish])}</mark>")
        cursor = finish
    last = spans[end - 1][1]
    out.append(escape(text[cursor:last]))
    if end < len(spans):  # a word follows the window
        tail = text[last : last + 1]
        out.append((tail if tail in ".!?" else "") + " …")
    else:
        out.append(escape(text[last : last + TAIL_CHARS]))
    return " ".join("".join(out).split())


def plain_snippet(text: str, words: int = SNIPPET_WORDS) -> str:
    """The start of a text, escaped, for lessons whose body did not match (title matches)."""
    pieces = text.split()
    clipped = " ".join(pieces[:words])
    return escape(clipped + (" …" if len(pieces) > words else ""))
