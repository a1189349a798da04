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
ROWS_PER_SUGGESTION = 2

SCHEMA = """
CREATE VIRTUAL TABLE titles USING fts5(words, field UNINDEXED, tokenize = 'ascii',
    prefix = '1 2 3', detail = none);
"""


@dataclass(frozen=True)
class Suggestion:
    title: str
    pack_id: str
    lesson_id: str
    language: str


def folded_words(title: str) -> str:
    return " ".join(fold(w) for w in words(title))


def add_title(db: sqlite3.Connection, lesson_id: int, title: str, field: str) -> None:
    db.execute(
        "INSERT INTO titles(rowid, words, field) VALUES (?, ?, ?)",
        (lesson_id, folded_words(title), field),
    )


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
    choices = " ".join(f"WHEN ? THEN {n}" for n in range(len(readers)))
    preference = f"CASE field {choices} ELSE {len(readers)} END" if readers else "0"
    # Ranked on the title table alone; only the few kept are joined to `lesson`. One
    # statement: a keystroke is one turn of the interpreter lock, not one per step.
    rows = db.execute(
        "SELECT lesson.title, lesson.pack, lesson.lesson, lesson.language, ranked.words FROM "
        f"(SELECT rowid, words, {preference} AS preferred, substr(words, 1, ?) != ? AS later "
        "FROM titles WHERE titles MATCH ? "
        "ORDER BY preferred, later, length(words), words LIMIT ?) AS ranked "
        "JOIN lesson ON lesson.id = ranked.rowid "
        "ORDER BY ranked.preferred, ranked.later, length(ranked.words), ranked.words",
        (*readers, len(query), query, match, limit * ROWS_PER_SUGGESTION),
    ).fetchall()
    out: list[Suggestion] = []
    shown: set[tuple[str, str]] = set()
    for title, pack_id, lesson_id, language, folded in rows:
        if (folded, language) not in shown and len(out) < limit:
            shown.add((folded, language))  # the same title in one language: shown once
            out.append(Suggestion(title, pack_id, lesson_id, language))
    return out


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'
