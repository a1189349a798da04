"""The search index on disk: one SQLite file of FTS5 tables fed with analysed text, its one
writer, and a bounded pool of read-only connections.

The file lives in <data_dir>/search/ as index-NNNNNN.sqlite, apart from the hub database, so
index writes never wait for (or hold up) progress writes. Every lesson is a row of `lesson`
(what a result shows, the facets, the start of its text for snippets) and a row of its
language's FTS5 table (`fts_en`, `fts_sw`, ...: title, keywords, about, body, each already
analysed by hub/search/analysis.py, so FTS5 only splits on spaces). `meta` records the library
generation the index reflects and the schema version, in the same transaction as the lessons.

Writes: an import changes the current file in one transaction (WAL: readers keep the snapshot
they started with). A rebuild writes a new file beside it and renames it into place, so a
damaged or foreign file is never repaired in place and searches answer from the old one
until the new one is whole. Reads: each search borrows a connection (at most `readers` exist;
each keeps at most `cache_bytes` of pages) and reads inside one transaction, so it sees one
generation from its first query to its last.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import threading
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from hub.search import titles, vocabulary
from hub.search.analysis import LessonAnalyzer, analyzer, analyzer_key
from hub.search.documents import LessonDoc
from hub.search.readers import IndexUnavailable, ReaderPool

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
FACETS = ("language", "subject", "grade", "kind", "pack")
SNIPPET_SOURCE_CHARS = 12_000  # stored (compressed) for snippets; all of the text is indexed
MAX_DESCRIPTION_CHARS = 600
FILE_NAME = re.compile(r"index-([0-9]{6})\.sqlite")
BUILDING = "building.sqlite"
WRITE_TIMEOUT_SECONDS = 30.0
BUILD_CACHE_KIB = 16_000  # page cache of the one connection that builds a new file
LIST_SEPARATOR = ","  # subjects and grades are stored ",a,b," so one can be found with instr

SCHEMA = f"""
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;
CREATE TABLE field(field TEXT PRIMARY KEY, analyzer TEXT NOT NULL, docs INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE lesson(
    id INTEGER PRIMARY KEY, pack TEXT NOT NULL, lesson TEXT NOT NULL, field TEXT NOT NULL,
    language TEXT NOT NULL, kind TEXT NOT NULL, subjects TEXT NOT NULL, grades TEXT NOT NULL,
    title TEXT NOT NULL, keywords TEXT NOT NULL, description TEXT NOT NULL, topic TEXT NOT NULL,
    pack_title TEXT NOT NULL, body BLOB NOT NULL
);
CREATE INDEX lesson_pack ON lesson(pack);
{vocabulary.SCHEMA}
{titles.SCHEMA}
"""


def field_language(language: str) -> str:
    """The language part of a table's name: "pt-BR" -> "pt"; odd codes -> "und"."""
    primary = language.split("-")[0].split("_")[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,8}", primary) else "und"


def fts_table(field: str) -> str:
    """The FTS5 table of one field language (only ever [a-z] letters, so safe to quote)."""
    return f"fts_{field}"


def facet_list(values: Iterable[str]) -> str:
    kept = [v.replace(LIST_SEPARATOR, " ").strip() for v in values if v.strip()]
    return LIST_SEPARATOR + LIST_SEPARATOR.join(kept) + LIST_SEPARATOR if kept else ""


def split_list(stored: str) -> list[str]:
    return [v for v in stored.split(LIST_SEPARATOR) if v]


def snippet_source(body: bytes) -> str:
    try:
        return zlib.decompress(body or b"").decode("utf-8", errors="replace")
    except zlib.error:
        return ""


@dataclass
class Snapshot:
    """One reader inside one read transaction: a single generation of the index."""

    db: sqlite3.Connection
    library_generation: int | None
    lessons: int
    fields: dict[str, LessonAnalyzer]  # field language -> its analyzer
    sizes: dict[str, int]  # field language -> lessons in it


class SearchIndex:
    def __init__(self, path: Path, readers: int = 4, cache_bytes: int = 2 * 1024**2) -> None:
        self.path = path
        self._pool = ReaderPool(readers, cache_bytes)
        self._write_lock = threading.Lock()  # the one writer of this process
        self._listing: tuple[int, Path | None] | None = None  # (directory mtime, current file)

    # --- Which file ---------------------------------------------------------------------

    def current(self) -> Path | None:
        """The newest whole index file, or None. A stat per call; a listing when it moved."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except OSError:
            return None
        listing = self._listing
        if listing is not None and listing[0] == stamp:
            return listing[1]
        found = _newest(self.path)
        self._listing = (stamp, found)
        return found

    def open(self) -> bool:
        """Whether a usable index is there (one that records its library generation)."""
        return self.generation() is not None

    def ensure_open(self) -> bool:
        return self.open()

    @property
    def is_open(self) -> bool:
        return self.current() is not None

    def healthy(self) -> bool:
        """Whether a fresh connection can read the whole index (after an unexpected error)."""
        path = self.current()
        if path is None:
            return False
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                return db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except sqlite3.Error:
            return False

    def close(self) -> None:
        self._pool.close()
        self._listing = None

    def generation(self) -> int | None:
        """The library generation the index reflects; None if there is no usable index."""
        try:
            with self.snapshot() as snap:
                return snap.library_generation
        except IndexUnavailable:
            return None

    # --- Reading ------------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """A reader of the latest committed generation, returned to the pool after use."""
        path = self.current()
        if path is None:
            raise IndexUnavailable("there is no search index")
        db = self._pool.acquire(path)
        try:
            snap = _begin(db)
            yield snap
        finally:
            self._pool.release(db, path, self.current())

    # --- Writing ------------------------------------------------------------------------

    def rebuild(self, docs: Iterable[LessonDoc], generation: int, languages: Iterable[str]) -> int:
        """Write a new index file with `docs` and put it in place of the old one (searches
        read the old one until then). Returns the number of lessons indexed."""
        del languages  # each lesson brings its own; kept for the caller's symmetry
        with self._write_lock:
            self.path.mkdir(parents=True, exist_ok=True)
            building = self.path / BUILDING
            _remove_db(building)
            db = sqlite3.connect(building, isolation_level=None)
            try:
                count = _build(db, docs, generation)
            finally:
                db.close()
            _sync(building)
            newest = _newest(self.path)
            number = int(FILE_NAME.fullmatch(newest.name)[1]) + 1 if newest else 1
            os.replace(building, self.path / f"index-{number:06d}.sqlite")
            _sync(self.path)
            _remove_others(self.path, keep=f"index-{number:06d}.sqlite")
            return count

    def replace_packs(
        self,
        pack_ids: Iterable[str],
        docs: Iterable[LessonDoc],
        generation: int,
        languages: Iterable[str] = (),
    ) -> None:
        """Drop every lesson of these packs, add `docs`, record `generation`: one commit."""
        del languages
        with self._write_lock:
            path = self.current()
            if path is None:
                raise IndexUnavailable("there is no search index")
            db = sqlite3.connect(path, timeout=WRITE_TIMEOUT_SECONDS, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("BEGIN IMMEDIATE")
                writer = _Writer(db)
                for pack_id in pack_ids:
                    writer.remove_pack(pack_id)
                for doc in docs:
                    writer.add(doc)
                writer.finish(generation)
                db.execute("COMMIT")
            finally:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                db.close()


class _Writer:
    """Rows for lessons going in and out, with the vocabulary counted as they pass."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.fields = dict(db.execute("SELECT field, analyzer FROM field"))
        self.terms: dict[str, Counter[str]] = {}  # field -> term -> lessons added/removed
        self.title_words: Counter[tuple[str, str]] = Counter()

    def add(self, doc: LessonDoc) -> None:
        field = field_language(doc.language)
        key = analyzer_key(doc.language)
        if field not in self.fields:
            self._add_field(field, key)
        words = analyzer(self.fields[field])
        columns = [
            words.analysed(doc.title),
            words.analysed(" ".join(doc.keywords)),
            words.analysed("\n".join((doc.description, *doc.topic_path))),
            words.analysed(doc.text),
        ]
        row = self.db.execute(
            "INSERT INTO lesson(pack, lesson, field, language, kind, subjects, grades, title, "
            "keywords, description, topic, pack_title, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.pack_id, doc.lesson_id, field, doc.language, doc.kind,
                facet_list(doc.subjects), facet_list(doc.grades), doc.title,
                "\n".join(doc.keywords), doc.description[:MAX_DESCRIPTION_CHARS],
                " \u203a ".join(doc.topic_path), doc.pack_title,
                zlib.compress(doc.text[:SNIPPET_SOURCE_CHARS].encode("utf-8"), 6),
            ),
        )  # fmt: skip
        self.db.execute(
            f"INSERT INTO {fts_table(field)}(rowid, title, keywords, about, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (row.lastrowid, *columns),
        )
        titles.add_title(self.db, row.lastrowid, doc.title)
        self._count(field, columns, 1)
        self.title_words.update(vocabulary.title_counts([doc.title, *doc.keywords]))

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
        lessons = self.db.execute("SELECT count(*) FROM lesson").fetchone()[0]
        self.db.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            [("schema", SCHEMA_VERSION), ("generation", generation), ("lessons", lessons)],
        )


def _build(db: sqlite3.Connection, docs: Iterable[LessonDoc], generation: int) -> int:
    # Nothing reads this file until it is renamed into place whole: no journal needed.
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(f"PRAGMA cache_size=-{BUILD_CACHE_KIB}")
    db.executescript(SCHEMA)
    db.execute("BEGIN")
    writer = _Writer(db)
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


def _begin(db: sqlite3.Connection) -> Snapshot:
    try:
        db.execute("BEGIN")
        rows = db.execute(
            "SELECT NULL, key, value FROM meta UNION ALL SELECT field, analyzer, docs FROM field"
        ).fetchall()
    except sqlite3.Error as err:  # damaged, foreign, or gone under us
        raise IndexUnavailable(str(err)) from err
    meta = {key: value for name, key, value in rows if name is None}
    if meta.get("schema") != SCHEMA_VERSION or "generation" not in meta:
        raise IndexUnavailable("the index was built by another version")
    fields = {name: analyzer(key) for name, key, _ in rows if name is not None}
    sizes = {name: docs for name, _, docs in rows if name is not None}
    return Snapshot(db, meta["generation"], meta.get("lessons", 0), fields, sizes)


def _newest(folder: Path) -> Path | None:
    try:
        names = [n for n in os.listdir(folder) if FILE_NAME.fullmatch(n)]
    except OSError:
        return None
    return folder / max(names) if names else None


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")


def _remove_others(folder: Path, keep: str) -> None:
    """Older index files (a reader still busy on one keeps its open file until it is done)
    and anything else in the folder, such as an index of an older version."""
    for entry in folder.iterdir():
        if entry.name.startswith(keep):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as err:  # left for the next rebuild
            log.warning("search: could not remove %s: %s", entry, err)
