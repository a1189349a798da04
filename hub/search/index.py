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
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from content.durable import fsync_dir
from hub.search.analysis import LessonAnalyzer, analyzer
from hub.search.documents import LessonDoc
from hub.search.facets import Combo
from hub.search.readers import IndexUnavailable, ReaderPool
from hub.search.schema import SCHEMA_VERSION, fts_table
from hub.search.writer import Writer, build

log = logging.getLogger(__name__)

FILE_NAME = re.compile(r"index-([0-9]{6})\.sqlite")
BUILDING = "building.sqlite"
WRITE_TIMEOUT_SECONDS = 30.0
SETTLED_NS = 1_000_000_000
SWAP_RETRIES = 3


@dataclass
class Snapshot:
    """One reader inside one read transaction: a single generation of the index."""

    db: sqlite3.Connection
    library_generation: int | None
    lessons: int
    fields: dict[str, LessonAnalyzer]  # field language -> its analyzer
    sizes: dict[str, int]  # field language -> lessons in it
    combos: dict[int, Combo]  # combination number -> its facet values (schema.py)


class SearchIndex:
    def __init__(self, path: Path, readers: int = 2, cache_bytes: int = 2 * 1024**2) -> None:
        self.path = path
        self._pool = ReaderPool(readers, cache_bytes)
        self._write_lock = threading.Lock()  # the one writer of this process
        self._listing: tuple[int, Path | None] | None = None  # (directory mtime, current file)
        self._header: tuple[tuple[Path, int], _Header] | None = None  # the latest generation's

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
        # A folder's time moves in ticks of a few milliseconds: a rename in the same tick as
        # this listing would leave the time as it is. Only a listing made after the time has
        # settled is kept.
        if time.time_ns() - stamp > SETTLED_NS:
            self._listing = (stamp, found)
        return found

    def open(self) -> bool:
        """Whether a usable index is there (one that records its library generation)."""
        return self.generation() is not None

    def healthy(self) -> bool:
        """Whether the whole index reads back whole (after an unexpected error): SQLite's
        check of the file, and FTS5's of each table against its content. Reads it all."""
        path = self.current()
        if path is None:
            return False
        try:
            with closing(sqlite3.connect(path, timeout=WRITE_TIMEOUT_SECONDS)) as db:
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    return False
                for (field,) in db.execute("SELECT field FROM field").fetchall():
                    table = fts_table(field)
                    # A command, not a change: it raises if the index and content disagree.
                    db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
                db.rollback()
        except sqlite3.Error:
            return False
        return True

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
        path, db, snap = self._open_current(begin=True)
        assert snap is not None
        try:
            yield snap
        finally:
            self._pool.release(db, path, self.current())

    @contextmanager
    def reader(self) -> Iterator[tuple[sqlite3.Connection, int | None]]:
        """A connection to the current file for one statement (SQLite runs each whole), with
        the generation the file held just before: what a keystroke's suggestions need,
        without a transaction or the header."""
        path, db, _ = self._open_current(begin=False)
        try:
            yield db, _generation_of(db)
        finally:
            self._pool.release(db, path, self.current())

    def _open_current(self, begin: bool) -> tuple[Path, sqlite3.Connection, Snapshot | None]:
        """A connection to the current file (in a read transaction if `begin`). A rebuild
        renames a new file in and removes the old one: a search that picked the old name a
        moment before finds it gone, and moves on to the new one rather than answer "no
        index"."""
        for _ in range(SWAP_RETRIES):
            path = self.current()
            if path is None:
                raise IndexUnavailable("there is no search index")
            db = None
            try:
                db = self._pool.acquire(path)
                snap = None
                if begin:
                    snap, self._header = _begin(db, path, self._header)
                return path, db, snap
            except IndexUnavailable:
                if db is not None:
                    self._pool.release(db, path, None)
                self._listing = None  # list the folder again, whatever its time says
                if self.current() == path:
                    raise
        raise IndexUnavailable("the search index kept changing")

    # --- Writing ------------------------------------------------------------------------

    def rebuild(self, docs: Iterable[LessonDoc], generation: int) -> int:
        """Write a new index file with `docs` and put it in place of the old one (searches
        read the old one until then). Returns the number of lessons indexed."""
        with self._write_lock:
            self.path.mkdir(parents=True, exist_ok=True)
            building = self.path / BUILDING
            _remove_db(building)
            db = sqlite3.connect(building, isolation_level=None)
            try:
                count = build(db, docs, generation)
            finally:
                db.close()
            _sync(building)
            newest = _newest(self.path)
            match = FILE_NAME.fullmatch(newest.name) if newest else None
            number = int(match[1]) + 1 if match else 1
            os.replace(building, self.path / f"index-{number:06d}.sqlite")
            fsync_dir(self.path)
            _remove_others(self.path, keep=f"index-{number:06d}.sqlite")
            return count

    def replace_packs(
        self,
        pack_ids: Iterable[str],
        docs: Iterable[LessonDoc],
        generation: int,
    ) -> None:
        """Drop every lesson of these packs, add `docs`, record `generation`: one commit."""
        with self._write_lock:
            path = self.current()
            if path is None:
                raise IndexUnavailable("there is no search index")
            db = sqlite3.connect(path, timeout=WRITE_TIMEOUT_SECONDS, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("BEGIN IMMEDIATE")
                writer = Writer(db)
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


@dataclass(frozen=True)
class _Header:
    """What every search of one generation of one file shares."""

    fields: dict[str, LessonAnalyzer]
    sizes: dict[str, int]
    combos: dict[int, Combo]


def _begin(
    db: sqlite3.Connection, path: Path, known: tuple[tuple[Path, int], _Header] | None
) -> tuple[Snapshot, tuple[tuple[Path, int], _Header]]:
    """A read transaction, and the generation's header: read once per generation (a new
    commit is a new generation), since every statement costs a turn of the interpreter lock."""
    try:
        db.execute("BEGIN")
        schema, generation, lessons = db.execute(
            "SELECT (SELECT value FROM meta WHERE key = 'schema'), "
            "(SELECT value FROM meta WHERE key = 'generation'), "
            "(SELECT value FROM meta WHERE key = 'lessons')"
        ).fetchone()
        if schema != SCHEMA_VERSION or generation is None:
            raise IndexUnavailable("the index was built by another version")
        key = (path, generation)
        header = known[1] if known is not None and known[0] == key else _read_header(db)
    except sqlite3.Error as err:  # damaged, foreign, or gone under us
        raise IndexUnavailable(str(err)) from err
    snap = Snapshot(db, generation, lessons or 0, header.fields, header.sizes, header.combos)
    return snap, (key, header)


def _generation_of(db: sqlite3.Connection) -> int | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    except sqlite3.Error as err:  # damaged, foreign, or gone under us
        raise IndexUnavailable(str(err)) from err
    return row[0] if row else None


def _read_header(db: sqlite3.Connection) -> _Header:
    rows = db.execute("SELECT field, analyzer, docs FROM field").fetchall()
    combos = db.execute(
        "SELECT id, pack, kind, language, subjects, grades, pack_title FROM combo"
    ).fetchall()
    return _Header(
        fields={name: analyzer(key) for name, key, _ in rows},
        sizes={name: docs for name, _, docs in rows},
        combos={row[0]: Combo.of(*row[1:]) for row in combos},
    )


def _newest(folder: Path) -> Path | None:
    try:
        names = [n for n in os.listdir(folder) if FILE_NAME.fullmatch(n)]
    except OSError:
        return None
    return folder / max(names) if names else None


def _sync(path: Path) -> None:
    """Flush a file written with `synchronous=OFF` before it is renamed into place."""
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
