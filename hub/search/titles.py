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
CREATE VIRTUAL TABLE titles USING fts5(words, field UNINDEXED, language UNINDEXED,
    tokenize = 'ascii', prefix = '1 2 3', detail = none);
"""


@dataclass(frozen=True)
class Suggestion:
    title: str
    pack_id: str
    lesson_id: str
    language: str


def folded_words(title: str) -> str:
    return " ".join(fold(w) for w in words(title))


def add_title(
    db: sqlite3.Connection, lesson_id: int, title: str, field: str, language: str
) -> None:
    db.execute(
        "INSERT INTO titles(rowid, words, field, language) VALUES (?, ?, ?, ?)",
        (lesson_id, folded_words(title), field, language),
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
    preference = " ".join(f"WHEN ? THEN {n}" for n in range(len(readers)))
    order = f"CASE field {preference} ELSE {len(readers)} END, " if readers else ""
    # Ranked on the title table alone; only the few shown are looked up in `lesson`.
    ranked = db.execute(
        f"SELECT rowid, words, language FROM titles WHERE titles MATCH ? ORDER BY {order}"
        "substr(words, 1, ?) != ?, length(words), words LIMIT ?",
        (match, *readers, len(query), query, limit * ROWS_PER_SUGGESTION),
    ).fetchall()
    chosen: list[tuple[int, str, str]] = []
    shown: set[tuple[str, str]] = set()
    for lesson_id, folded, language in ranked:
        if (folded, language) not in shown:  # the same title in one language: shown once
            shown.add((folded, language))
            chosen.append((lesson_id, folded, language))
    rows = {
        row[0]: row[1:]
        for row in db.execute(
            "SELECT id, title, pack, lesson, language FROM lesson "
            f"WHERE id IN ({','.join('?' * len(chosen))})",
            [lesson_id for lesson_id, _, _ in chosen],
        )
    }
    out: list[Suggestion] = []
    for lesson_id, _, _ in chosen:
        if lesson_id in rows and len(out) < limit:
            out.append(Suggestion(*rows[lesson_id]))
    return out


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'
