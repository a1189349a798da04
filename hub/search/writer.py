"""Writing lessons into an index file: their rows, their analysed text, their facet
combination, and the vocabulary counted as they pass. Callers hold the index's one writer
lock and a transaction; a whole new file is made by `build`.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable

from hub.search import titles, vocabulary
from hub.search.analysis import analyzer, analyzer_key
from hub.search.documents import LessonDoc
from hub.search.schema import (
    COMBO_SHIFT,
    MAX_DESCRIPTION_CHARS,
    SCHEMA,
    SCHEMA_VERSION,
    compress_text,
    facet_list,
    field_language,
    fts_table,
)

BUILD_CACHE_KIB = 16_000  # page cache of the one connection that builds a new file


class Writer:
    """Rows for lessons going in and out, with the vocabulary counted as they pass."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.fields = dict(db.execute("SELECT field, analyzer FROM field"))
        self.terms: dict[str, Counter[str]] = {}  # field -> term -> lessons added/removed
        self.title_words: Counter[tuple[str, str]] = Counter()
        self.next_id: dict[tuple[str, str], int] = {}  # (pack, kind) -> the next row id

    def add(self, doc: LessonDoc) -> None:
        field = field_language(doc.language)
        if field not in self.fields:
            self._add_field(field, analyzer_key(doc.language))
        words = analyzer(self.fields[field])
        columns = [
            words.analysed(doc.title),
            words.analysed(" ".join(doc.keywords)),
            words.analysed("\n".join((doc.description, *doc.topic_path))),
            words.analysed(doc.text),
        ]
        lesson_id = self._new_id(doc)
        self.db.execute(
            "INSERT INTO lesson(id, pack, lesson, field, language, kind, title, keywords, "
            "description, topic, pack_title, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                lesson_id, doc.pack_id, doc.lesson_id, field, doc.language, doc.kind, doc.title,
                "\n".join(doc.keywords), doc.description[:MAX_DESCRIPTION_CHARS],
                " \u203a ".join(doc.topic_path), doc.pack_title, compress_text(doc.text),
            ),
        )  # fmt: skip
        self.db.execute(
            f"INSERT INTO {fts_table(field)}(rowid, title, keywords, about, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (lesson_id, *columns),
        )
        titles.add_title(self.db, lesson_id, doc.title, field)
        self._count(field, columns, 1)
        self.title_words.update(vocabulary.title_counts([doc.title, *doc.keywords]))

    def _new_id(self, doc: LessonDoc) -> int:
        """The pack-and-kind combination's number, shifted, plus the next free number in it;
        the combination's facet values are (re)written with the pack's latest."""
        key = (doc.pack_id, doc.kind)
        if key not in self.next_id:
            combo = self.db.execute(
                "INSERT INTO combo(pack, kind, language, subjects, grades, pack_title) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(pack, kind) DO UPDATE SET "
                "language = excluded.language, subjects = excluded.subjects, "
                "grades = excluded.grades, pack_title = excluded.pack_title RETURNING id",
                (
                    doc.pack_id, doc.kind, doc.language, facet_list(doc.subjects),
                    facet_list(doc.grades), doc.pack_title,
                ),
            ).fetchone()[0]  # fmt: skip
            first = combo << COMBO_SHIFT
            last = self.db.execute(
                "SELECT max(id) FROM lesson WHERE id >= ? AND id < ?",
                (first, first + (1 << COMBO_SHIFT)),
            ).fetchone()[0]
            self.next_id[key] = first if last is None else last + 1
        lesson_id = self.next_id[key]
        self.next_id[key] += 1
        return lesson_id

    def remove_pack(self, pack_id: str) -> None:
        rows = self.db.execute(
            "SELECT id, field, title, keywords FROM lesson WHERE pack = ?", (pack_id,)
        ).fetchall()
        for lesson_id, field, title, keywords in rows:
            table = fts_table(field)
            columns = self.db.execute(
                f"SELECT title, keywords, about, body FROM {table} WHERE rowid = ?", (lesson_id,)
            ).fetchone()
            if columns is not None:
                self._count(field, columns, -1)
            self.db.execute(f"DELETE FROM {table} WHERE rowid = ?", (lesson_id,))
            titles.remove_title(self.db, lesson_id)
            self.title_words.subtract(vocabulary.title_counts([title, *keywords.split("\n")]))
        self.db.execute("DELETE FROM lesson WHERE pack = ?", (pack_id,))
        self.next_id = {key: n for key, n in self.next_id.items() if key[0] != pack_id}

    def _count(self, field: str, columns: Iterable[str], sign: int) -> None:
        distinct = set(" ".join(columns).split())
        counter = self.terms.setdefault(field, Counter())
        for term in distinct:
            counter[term] += sign

    def _add_field(self, field: str, key: str) -> None:
        self.db.execute("INSERT INTO field(field, analyzer, docs) VALUES (?, ?, 0)", (field, key))
        self.db.execute(
            f"CREATE VIRTUAL TABLE {fts_table(field)} USING fts5("
            "title, keywords, about, body, tokenize = 'ascii', detail = full)"
        )
        self.fields[field] = key

    def finish(self, generation: int) -> None:
        for field, counter in self.terms.items():
            vocabulary.count_terms(self.db, field, +counter, 1)
            vocabulary.count_terms(self.db, field, -counter, -1)
        vocabulary.count_titles(self.db, self.title_words)
        self.db.execute(
            "UPDATE field SET docs = (SELECT count(*) FROM lesson WHERE lesson.field = field.field)"
        )
        self.db.execute(
            "DELETE FROM combo WHERE NOT EXISTS (SELECT 1 FROM lesson "
            f"WHERE lesson.pack = combo.pack AND lesson.id >> {COMBO_SHIFT} = combo.id)"
        )
        lessons = self.db.execute("SELECT count(*) FROM lesson").fetchone()[0]
        self.db.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            [("schema", SCHEMA_VERSION), ("generation", generation), ("lessons", lessons)],
        )


def build(db: sqlite3.Connection, docs: Iterable[LessonDoc], generation: int) -> int:
    """Fill a new, empty file with `docs`; returns how many."""
    # Nothing reads this file until it is renamed into place whole: no journal needed.
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(f"PRAGMA cache_size=-{BUILD_CACHE_KIB}")
    db.executescript(SCHEMA)
    db.execute("BEGIN")
    writer = Writer(db)
    count = 0
    for doc in docs:
        writer.add(doc)
        count += 1
    writer.finish(generation)
    db.execute("COMMIT")
    for field in writer.fields:  # one b-tree per table, as compact as FTS5 makes it
        table = fts_table(field)
        db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer again
    return count
