"""Search-as-you-type over lesson titles, answered by an FTS5 table of folded title words
with prefix indexes: a keystroke is one indexed query, nothing is held in memory.

Every typed word must be in the title, the last one as a prefix (a trailing space makes it a
whole word); the reader's language comes first, then titles that start with what was typed,
then shorter titles.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from hub.search.analysis import fold, words

MAX_SUGGESTIONS = 8
# Rows read per suggestion shown: the same title in one language is shown once.
ROWS_PER_SUGGESTION = 4

SCHEMA = """
CREATE VIRTUAL TABLE titles USING fts5(words, tokenize = 'ascii', prefix = '1 2 3',
    detail = none);
"""


@dataclass(frozen=True)
class Suggestion:
    title: str
    pack_id: str
    lesson_id: str
    language: str


def folded_words(title: str) -> str:
    return " ".join(fold(w) for w in words(title))


def add_title(db: sqlite3.Connection, lesson_id: int, title: str) -> None:
    db.execute("INSERT INTO titles(rowid, words) VALUES (?, ?)", (lesson_id, folded_words(title)))


def remove_title(db: sqlite3.Connection, lesson_id: int) -> None:
    db.execute("DELETE FROM titles WHERE rowid = ?", (lesson_id,))


def suggest(
    db: sqlite3.Connection, text: str, readers: tuple[str, ...] = (), limit: int = MAX_SUGGESTIONS
) -> list[Suggestion]:
    """Titles holding every typed word, the last one as a prefix ("photos" -> ...)."""
    typed = [fold(w) for w in words(text)]
    if not typed:
        return []
    complete = not text[-1:].isalnum()
    match = " ".join(
        _quoted(word) + ("" if complete and at == len(typed) - 1 else "*")
        for at, word in enumerate(typed)
    )
    query = " ".join(typed)
    preference = " ".join(f"WHEN ? THEN {n}" for n in range(len(readers)))
    order = f"CASE lesson.field {preference} ELSE {len(readers)} END, " if readers else ""
    rows = db.execute(
        "SELECT lesson.title, lesson.pack, lesson.lesson, lesson.language, titles.words "
        "FROM titles JOIN lesson ON lesson.id = titles.rowid WHERE titles MATCH ? "
        f"ORDER BY {order}substr(titles.words, 1, ?) != ?, length(titles.words), titles.words "
        "LIMIT ?",
        (match, *readers, len(query), query, limit * ROWS_PER_SUGGESTION),
    )
    out: list[Suggestion] = []
    shown: set[tuple[str, str]] = set()
    for title, pack_id, lesson_id, language, folded in rows:
        if (folded, language) in shown:
            continue
        shown.add((folded, language))
        out.append(Suggestion(title, pack_id, lesson_id, language))
        if len(out) >= limit:
            break
    return out


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'
