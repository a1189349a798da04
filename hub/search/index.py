"""The whoosh index on disk: its schema, its single writer, and reusable searchers.

One directory (<data_dir>/search/). Every lesson is one document. Its searchable text is one
field per language (`text_fr`, `text_sw`, ...), analysed by that language's analyzer; facets
(pack, language, subject, grade, kind) are plain keyword fields. A `_meta` document records
the library generation the index reflects and the schema version, in the same commit as the
lessons, so "is the index current?" is one comparison.

Writes happen under one lock (whoosh allows one writer; callers also hold the library lock,
so another process never writes at the same time). Reads use searchers kept in a small pool
and refreshed when a commit (ours or another process's) made a new generation: a search never
opens the index, and never sees a half-written one.
"""

from __future__ import annotations

import gc
import logging
import re
import shutil
import threading
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.searching import Searcher
from whoosh.writing import CLEAR, SegmentWriter

from hub.search.analysis import SECTION_MARK, LessonAnalyzer, analyzer_key
from hub.search.documents import LessonDoc

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
META_KEY = "_meta"
TEXT_PREFIX = "text_"
FACETS = ("language", "subject", "grade", "kind", "pack")
SNIPPET_SOURCE_CHARS = 12_000  # stored (compressed) for snippets; all of the text is indexed
MAX_DESCRIPTION_CHARS = 600
WRITER_MEMORY_MB = 96
MAX_IDLE_SEARCHERS = 8


class IndexUnavailable(Exception):
    """There is no usable index right now (missing, damaged, or being created)."""


def field_language(language: str) -> str:
    """The language part of a text field's name: "pt-BR" -> "pt"; odd codes -> "und"."""
    primary = language.split("-")[0].split("_")[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,8}", primary) else "und"


def text_field(language: str) -> str:
    return TEXT_PREFIX + field_language(language)


def base_schema() -> Schema:
    return Schema(
        key=ID(unique=True, stored=True),
        pack=ID(stored=True),
        lesson=STORED,
        language=ID(stored=True),
        kind=ID(stored=True),
        subject=KEYWORD(stored=True, commas=True),
        grade=KEYWORD(stored=True, commas=True),
        title=STORED,
        description=STORED,
        topic=STORED,
        pack_title=STORED,
        body=STORED,
        meta=STORED,
    )


def _facet_list(values: Iterable[str]) -> str:
    return ",".join(v.replace(",", " ").strip() for v in values if v.strip())


def document_fields(doc: LessonDoc) -> dict[str, Any]:
    sections = (
        doc.title,
        " ".join(doc.keywords),
        "\n".join((doc.description, *doc.topic_path)),
        doc.text,
    )
    return {
        "key": doc.key,
        "pack": doc.pack_id,
        "lesson": doc.lesson_id,
        "language": doc.language,
        "kind": doc.kind,
        "subject": _facet_list(doc.subjects),
        "grade": _facet_list(doc.grades),
        "title": doc.title,
        "description": doc.description[:MAX_DESCRIPTION_CHARS],
        "topic": " \u203a ".join(doc.topic_path),
        "pack_title": doc.pack_title,
        "body": zlib.compress(doc.text[:SNIPPET_SOURCE_CHARS].encode("utf-8"), 6),
        text_field(doc.language): SECTION_MARK.join(s.replace(SECTION_MARK, " ") for s in sections),
    }


def snippet_source(stored: dict[str, Any]) -> str:
    try:
        return zlib.decompress(stored.get("body") or b"").decode("utf-8", errors="replace")
    except zlib.error:
        return ""


@dataclass
class View:
    """What every searcher of one index generation shares: facet sets and the meta record."""

    toc_generation: int
    library_generation: int | None
    lessons: int
    languages: dict[str, LessonAnalyzer]  # text field -> its analyzer
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # facet -> value -> bitset
    # (segment, field) -> {docnum: field length}, filled as queries need them
    lengths: dict[tuple[str, str], dict[int, float]] = field(default_factory=dict)


@dataclass
class Snapshot:
    searcher: Searcher
    view: View


class SearchIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._ix: Any = None
        self._lock = threading.RLock()  # guards _ix, the pool and the views
        self._write_lock = threading.Lock()  # the one writer of this process
        self._idle: list[Searcher] = []
        self._views: dict[int, View] = {}

    # --- Opening ------------------------------------------------------------------------

    def open(self) -> bool:
        """Open the index on disk if it is there and readable; True when usable."""
        with self._lock, _closing_what_whoosh_leaks():
            self._close_locked()
            try:
                if not whoosh_index.exists_in(str(self.path)):
                    return False
                self._ix = whoosh_index.open_dir(str(self.path))
                with self.snapshot() as snap:
                    if snap.view.library_generation is None:
                        raise IndexUnavailable("the index has no generation record")
            except Exception as err:  # a damaged index is any error at all
                log.warning("the search index in %s cannot be used: %s", self.path, str(err))
                self._close_locked()
                return False
            return True

    @property
    def is_open(self) -> bool:
        return self._ix is not None

    def ensure_open(self) -> bool:
        with self._lock:
            return self.is_open or self.open()

    def healthy(self) -> bool:
        """Whether a fresh searcher can read the index (after an unexpected error)."""
        with self._lock:
            ix = self._ix
        if ix is None:
            return False
        with _closing_what_whoosh_leaks():
            try:
                with ix.searcher() as searcher:
                    return _read_meta(searcher) is not None
            except Exception:  # any failure to read is damage
                return False

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        for searcher in self._idle:
            _quietly(searcher.close)
        self._idle = []
        self._views = {}
        if self._ix is not None:
            _quietly(self._ix.close)
        self._ix = None

    def generation(self) -> int | None:
        """The library generation the index reflects; None if there is no usable index."""
        if not self.ensure_open():
            return None
        try:
            with self.snapshot() as snap:
                return snap.view.library_generation
        except IndexUnavailable:
            return None

    # --- Reading ------------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """A searcher of the latest committed generation, returned to the pool after use."""
        searcher = self._acquire()
        try:
            view = self._view(searcher)
            yield Snapshot(searcher, view)
        finally:
            self._release(searcher)

    def _acquire(self) -> Searcher:
        with self._lock:
            ix = self._ix
            if ix is None:
                raise IndexUnavailable("no search index is open")
            searcher = self._idle.pop() if self._idle else None
        try:
            if searcher is not None and _generation(searcher) == ix.latest_generation():
                return searcher
            if searcher is not None:
                # Not Searcher.refresh(): in whoosh-reloaded 2.7.5 it keeps the old segments
                # (and their old deletions) beside the new ones, so removed lessons stay.
                _quietly(searcher.close)
            return ix.searcher()
        except Exception as err:  # files gone or damaged under us
            raise IndexUnavailable(str(err)) from err

    def _release(self, searcher: Searcher) -> None:
        with self._lock:
            if self._ix is not None and len(self._idle) < MAX_IDLE_SEARCHERS:
                self._idle.append(searcher)
                return
        _quietly(searcher.close)

    def _view(self, searcher: Searcher) -> View:
        toc = _generation(searcher)
        with self._lock:
            view = self._views.get(toc)
            if view is None:
                view = _build_view(searcher, toc)
                # Keep the newest few: a searcher still busy on an older one keeps its own.
                self._views = {g: v for g, v in self._views.items() if g > toc - 3}
                self._views[toc] = view
            return view

    # --- Writing ------------------------------------------------------------------------

    def rebuild(self, docs: Iterable[LessonDoc], generation: int, languages: Iterable[str]) -> int:
        """Replace everything with `docs` (in `languages`); searchers see the old index
        until the commit. An index that cannot be opened is created afresh. Returns the
        number of lessons indexed."""
        with self._write_lock:
            if not (self.ensure_open() and self.healthy()):
                self._create()
            count = 0

            def add_all(writer: SegmentWriter) -> None:
                nonlocal count
                for doc in docs:
                    writer.add_document(**document_fields(doc))
                    count += 1

            self._commit(add_all, generation, languages, mergetype=CLEAR)
            return count

    def replace_packs(
        self,
        pack_ids: Iterable[str],
        docs: Iterable[LessonDoc],
        generation: int,
        languages: Iterable[str] = (),
    ) -> None:
        """Drop every lesson of these packs, add `docs`, record `generation`: one commit."""
        with self._write_lock:
            if not self.is_open:
                raise IndexUnavailable("no search index is open")

            def apply(writer: SegmentWriter) -> None:
                for pack_id in pack_ids:
                    writer.delete_by_term("pack", pack_id)
                for doc in docs:
                    writer.add_document(**document_fields(doc))

            self._commit(apply, generation, languages)

    def _commit(
        self,
        change: Callable[[SegmentWriter], None],
        generation: int,
        languages: Iterable[str],
        mergetype: Callable[..., Any] | None = None,
    ) -> None:
        writer = self._ix.writer(limitmb=WRITER_MEMORY_MB, timeout=30.0)
        try:
            # whoosh takes new fields only before the first document of a commit.
            for language in languages:
                _ensure_field(writer, language)
            change(writer)
            writer.update_document(key=META_KEY, meta=_meta(generation))
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=mergetype)

    def _create(self) -> None:
        """A new, empty index (whatever was in the directory is removed first)."""
        with self._lock:
            self._close_locked()
            if self.path.exists():
                shutil.rmtree(self.path)
            self.path.mkdir(parents=True)
            self._ix = whoosh_index.create_in(str(self.path), base_schema())


def _generation(searcher: Searcher) -> int:
    """The index generation a searcher reads (-1 for a new index with no segment yet)."""
    generation = searcher.reader().generation()
    return -1 if generation is None else generation


def _meta(generation: int) -> dict[str, int]:
    return {"schema": SCHEMA_VERSION, "generation": generation}


def _ensure_field(writer: SegmentWriter, language: str) -> None:
    name = text_field(language)
    if name not in writer.schema:
        analyzer = LessonAnalyzer(analyzer_key(language))
        writer.add_field(name, TEXT(analyzer=analyzer, phrase=True))


def _build_view(searcher: Searcher, toc: int) -> View:
    reader = searcher.reader()
    meta = _read_meta(searcher)
    languages = {
        name: searcher.schema[name].analyzer
        for name in searcher.schema.names()
        if name.startswith(TEXT_PREFIX) and reader.field_length(name) > 0
    }
    size = reader.doc_count_all()
    view = View(
        toc_generation=toc,
        library_generation=meta.get("generation") if meta else None,
        lessons=max(0, reader.doc_count() - (1 if meta else 0)),
        languages=languages,
    )
    for facet in FACETS:
        values: dict[str, int] = {}
        for raw in reader.lexicon(facet):
            ids = reader.postings(facet, raw).all_ids()
            values[raw.decode("utf-8")] = bitset(ids, size)
        view.facets[facet] = values
    return view


def _read_meta(searcher: Searcher) -> dict[str, int] | None:
    stored = searcher.document(key=META_KEY)
    meta = (stored or {}).get("meta")
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA_VERSION:
        return None
    return meta


def bitset(ids: Iterable[int], size: int) -> int:
    """A set of document numbers as the bits of one int: unions and counts run in C."""
    bits = bytearray((size >> 3) + 1)
    for docnum in ids:
        bits[docnum >> 3] |= 1 << (docnum & 7)
    return int.from_bytes(bits, "little")


@contextmanager
def _closing_what_whoosh_leaks() -> Iterator[None]:
    """whoosh leaves a file open when it fails to read a damaged index; the file is closed
    when the error is dropped, with a ResourceWarning that says nothing we do not know."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield
        gc.collect()


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception:  # closing a damaged index must not hide the real problem
        log.debug("closing a search resource failed", exc_info=True)
