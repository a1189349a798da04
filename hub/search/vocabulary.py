"""The index's vocabulary, kept in its own tables beside FTS5: every term with the number of
lessons holding it, and a deletion neighbourhood for finding misspelt words.

`term(field, term, docs)` answers "does this language know the word?", prefix expansion and
"most frequent first" with one B-tree lookup each (FTS5's own fts5vocab table walks its index
for an equality and took 150 µs a lookup on 20,000 lessons).

`near(field, key, term)` holds each term under itself and every string one deletion away
from it ("water" under "water", "ater", "wter", ...). A typed word's own deletions then find
every term one edit away (an insertion, deletion, substitution or swap) by exact lookups,
and most two edits away: a few index probes in SQLite instead of an edit distance computed
against every term of the language in Python.

Title words ("did you mean") use the same tables under the field TITLE_FIELD, counted once
per appearance, with the way each is most often written in `title_word`.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable

from hub.search.analysis import fold, words

TITLE_FIELD = "_title"
MIN_NEAR_CHARS = 3  # shorter terms are never offered for a typo (typos need 4+ letters)
MIN_CORRECTION_CHARS = 4
MAX_CANDIDATES = 400  # terms one probe may bring back before ranking
# Longer words are never looked up for a typo: a word's two-deletion neighbourhood grows with
# the square of its length (110,000 keys and a second of CPU for a 490-letter query word).
MAX_NEAR_CHARS = 64

SCHEMA = """
CREATE TABLE term(field TEXT, term TEXT, docs INTEGER NOT NULL, PRIMARY KEY(field, term))
    WITHOUT ROWID;
CREATE TABLE near(field TEXT, key TEXT, term TEXT, PRIMARY KEY(field, key, term)) WITHOUT ROWID;
CREATE TABLE title_word(word TEXT, surface TEXT, count INTEGER NOT NULL,
    PRIMARY KEY(word, surface)) WITHOUT ROWID;
"""


def deletions(term: str, depth: int = 1) -> set[str]:
    """`term` and the strings `depth` or fewer deletions away from it."""
    found = {term}
    edge = {term}
    for _ in range(depth):
        edge = {t[:i] + t[i + 1 :] for t in edge for i in range(len(t))}
        found |= edge
    return found


def _nearable(term: str) -> bool:
    return len(term) >= MIN_NEAR_CHARS and not term.isdigit()


def count_terms(db: sqlite3.Connection, field: str, counts: Counter[str], sign: int) -> None:
    """Add (sign 1) or remove (sign -1) lessons holding each term; keep `near` in step with
    the terms that appear or disappear."""
    if not counts:
        return
    rows = [(field, term, sign * n) for term, n in counts.items()]
    db.executemany(
        "INSERT INTO term(field, term, docs) VALUES (?, ?, ?) "
        "ON CONFLICT(field, term) DO UPDATE SET docs = docs + excluded.docs",
        rows,
    )
    changed = [t for t in counts if _nearable(t)]
    if sign > 0:
        fresh = [t for t in changed if docs(db, field, t) == counts[t]]
        db.executemany(
            "INSERT OR IGNORE INTO near(field, key, term) VALUES (?, ?, ?)",
            ((field, key, t) for t in fresh for key in deletions(t)),
        )
        return
    gone = [t for t in changed if docs(db, field, t) <= 0]
    db.executemany(
        "DELETE FROM near WHERE field = ? AND key = ? AND term = ?",
        ((field, key, t) for t in gone for key in deletions(t)),
    )
    db.execute("DELETE FROM term WHERE field = ? AND docs <= 0", (field,))


def docs(db: sqlite3.Connection, field: str, term: str) -> int:
    row = db.execute("SELECT docs FROM term WHERE field = ? AND term = ?", (field, term)).fetchone()
    return row[0] if row else 0


def title_counts(texts: Iterable[str]) -> Counter[tuple[str, str]]:
    """(folded word, word as written) of titles and keywords, 4+ letters, with counts."""
    surfaces: Counter[tuple[str, str]] = Counter()
    for text in texts:
        for word in words(text):
            key = fold(word)
            if len(key) >= MIN_CORRECTION_CHARS and not key.isdigit():
                surfaces[key, word.lower()] += 1
    return surfaces


def count_titles(db: sqlite3.Connection, surfaces: Counter[tuple[str, str]]) -> None:
    """Apply title words added (positive counts) and removed (negative) for "did you mean"."""
    changed = [(key, surface, n) for (key, surface), n in surfaces.items() if n]
    if not changed:
        return
    db.executemany(
        "INSERT INTO title_word(word, surface, count) VALUES (?, ?, ?) "
        "ON CONFLICT(word, surface) DO UPDATE SET count = count + excluded.count",
        changed,
    )
    db.execute("DELETE FROM title_word WHERE count <= 0")
    counts: Counter[str] = Counter()
    for key, _, n in changed:
        counts[key] += n
    count_terms(db, TITLE_FIELD, +counts, 1)
    count_terms(db, TITLE_FIELD, -counts, -1)


def docs_of(db: sqlite3.Connection, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Lessons holding each (field, term), for the ones any lesson holds."""
    if not wanted:
        return {}
    pairs = sorted(wanted)
    # A join on the key, not `(field, term) IN (VALUES ...)`: SQLite 3.40 scans for that.
    values = ",".join("(?, ?)" for _ in pairs)
    rows = db.execute(
        f"SELECT term.field, term.term, term.docs FROM (VALUES {values}) "
        "AS wanted JOIN term ON term.field = wanted.column1 AND term.term = wanted.column2 "
        "WHERE term.docs > 0",
        [value for pair in pairs for value in pair],
    )
    return {(field, term): n for field, term, n in rows}


def with_prefix(db: sqlite3.Connection, field: str, prefix: str, limit: int) -> list[str]:
    """Terms of `field` starting with `prefix`, in order, at most `limit`."""
    rows = db.execute(
        "SELECT term FROM term WHERE field = ? AND term >= ? AND term < ? ORDER BY term LIMIT ?",
        (field, prefix, prefix + "\U0010ffff", limit),
    )
    return [term for (term,) in rows]


def near_terms(
    db: sqlite3.Connection, field: str, term: str, distance: int, prefix: int, limit: int
) -> list[tuple[str, int, int]]:
    """Terms of `field` at most `distance` edits from `term` (sharing its first `prefix`
    letters) as (term, edits, lessons), closest then most frequent first; itself excluded.
    Nothing for a word longer than MAX_NEAR_CHARS."""
    if len(term) > MAX_NEAR_CHARS:
        return []
    keys = sorted(deletions(term, distance))
    rows = db.execute(
        f"SELECT DISTINCT near.term, term.docs FROM near JOIN term "
        f"ON term.field = near.field AND term.term = near.term "
        f"WHERE near.field = ? AND near.key IN ({','.join('?' * len(keys))}) LIMIT ?",
        (field, *keys, MAX_CANDIDATES),
    )
    found = []
    for candidate, docs in rows:
        if candidate == term or candidate[:prefix] != term[:prefix]:
            continue
        edits = edit_distance(term, candidate, distance)
        if edits <= distance:
            found.append((candidate, edits, docs))
    found.sort(key=lambda row: (row[1], -row[2], row[0]))
    return found[:limit]


def correction(db: sqlite3.Connection, word: str) -> str | None:
    """The closest common title or keyword word (one edit away, two for 7+ letters), as it
    is most often written; None when the word is known or nothing is close."""
    key = fold(word)
    if len(key) < MIN_CORRECTION_CHARS or key.isdigit() or docs(db, TITLE_FIELD, key):
        return None
    distance = 1 if len(key) < 7 else 2
    found = near_terms(db, TITLE_FIELD, key, distance, 1, 1)
    if not found:
        return None
    row = db.execute(
        "SELECT surface FROM title_word WHERE word = ? ORDER BY count DESC, surface LIMIT 1",
        (found[0][0],),
    ).fetchone()
    return row[0] if row else None


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
