"""Search wired to the hub: kept in step with the library, rebuilt when it is not, and
always answering.

    attach(app, config)        # in create_app, before the sample library is loaded
    attach(library, config)    # in the CLI, where it builds its own Library

The index follows the library inside the same operation: `Library` calls us after each
committed change while it still holds the library lock, so the index has one writer at a
time across threads and processes. If the index is missing, damaged or records an older
library generation (a crash between the two commits), the server notices at start (and on
later searches) and rebuilds it in a background thread, answering meanwhile from the old
index if it can, else with an empty result and a notice. Searches never fail.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import NamedTuple

from flask import Flask

from content.blobstore import BlobStore
from hub.core.db import connected
from hub.core.settings import Config
from hub.library.cache import current_generation, search_answers
from hub.library.models import Lesson, LibraryState, Pack
from hub.library.packs import Library
from hub.search import analysis, combined, engine, zim_sources
from hub.search.documents import LessonDoc, library_docs, pack_docs
from hub.search.index import SearchIndex
from hub.search.query import ParsedQuery
from hub.search.readers import IndexUnavailable
from hub.search.titles import Suggestion, suggest

log = logging.getLogger(__name__)

EXTENSION = "search"
CHECK_EVERY_SECONDS = 2.0  # how often a search looks for changes made by another process
HEALTH_CHECK_SECONDS = 60.0


class Suggested(NamedTuple):
    items: list[Suggestion]
    settled: bool


class SearchService:
    def __init__(self, config: Config, library: Library, *, background: bool = True) -> None:
        self.config = config
        self.library = library
        self.background = background
        self.index = SearchIndex(
            config.data_dir / "search", config.search_readers, config.search_cache_bytes
        )
        self.store = BlobStore(config.blobs_dir)
        analysis.remember_words(config.search_word_memory)
        self._jobs: dict[str, threading.Thread] = {}
        self._jobs_lock = threading.Lock()
        self._checked_at = 0.0
        self._healthy_at = -HEALTH_CHECK_SECONDS  # when the index last passed its check

    # --- Keeping up with the library ------------------------------------------------------

    def start(self) -> None:
        """Rebuild the index in the background if it does not match the library (it is not
        loaded: a search reads the file where it lies)."""
        with connected():
            if self._stale():
                self._start_job("rebuild", self._rebuild_job)

    def on_change(self, pack_id: str, removed: bool) -> None:
        """Library listener, called inside the library's lock after each committed change."""
        try:
            generation = LibraryState.current()
            if self.index.generation() == generation - 1:
                self._apply(pack_id, removed, generation)
            else:
                self._rebuild_locked(generation)
        except Exception:  # the library change stands; the index catches up at the next check
            log.exception("search index not updated after changing %s; it will be rebuilt", pack_id)

    def _apply(self, pack_id: str, removed: bool, generation: int) -> None:
        pack = None if removed else Pack.by_id(pack_id)
        docs = pack_docs(self.store, pack) if pack is not None else []
        self.index.replace_packs([pack_id], docs, generation)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild now, in this thread, holding the library lock; returns the lessons.
        `progress` is told (lessons indexed, lessons in all) as lessons are read."""
        with self.library.exclusive():
            return self._rebuild_locked(LibraryState.current(), progress)

    def _rebuild_locked(
        self, generation: int, progress: Callable[[int, int], None] | None = None
    ) -> int:
        started = time.perf_counter()
        docs: Iterable[LessonDoc] = library_docs(self.store)
        if progress is not None:
            docs = _counted(docs, Lesson.select().count(), progress)
        count = self.index.rebuild(docs, generation)
        log.info("search index rebuilt: %d lessons in %.1f s", count, time.perf_counter() - started)
        return count

    def _rebuild_job(self) -> None:
        with self.library.exclusive():
            # Someone (an import, another process) may have caught up while we waited.
            if self._stale():
                self._rebuild_locked(LibraryState.current())

    def _repair_job(self) -> None:
        """A damaged index may still record the right generation: rebuild all the same."""
        with self.library.exclusive():
            self._rebuild_locked(LibraryState.current())

    def _stale(self) -> bool:
        """The index does not reflect the library (needs a database connection)."""
        generation = LibraryState.current()
        indexed = self.index.generation()
        if indexed is None:
            return Pack.select().exists()
        return indexed != generation

    def _check_now_and_then(self) -> None:
        """Notice changes another process committed without updating the index (a crash)."""
        now = time.monotonic()
        if now - self._checked_at < CHECK_EVERY_SECONDS:
            return
        self._checked_at = now
        try:
            with connected():
                stale = self._stale()
        except Exception:  # a check must never break the search that made it
            log.exception("search: could not check the index against the library")
            return
        if stale:
            self._start_job("rebuild", self._rebuild_job)

    # --- Background jobs ------------------------------------------------------------------

    def _start_job(self, name: str, target: Callable[[], None]) -> None:
        if not self.background:
            target()
            return
        with self._jobs_lock:
            running = self._jobs.get(name)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(
                target=self._run_job, args=(name, target), name=f"search-{name}", daemon=True
            )
            self._jobs[name] = thread
            thread.start()

    def _run_job(self, name: str, target: Callable[[], None]) -> None:
        try:
            target()
        except Exception:  # a background job reports in the log; the next check retries
            log.exception("search: the %s job failed", name)

    def busy(self, name: str = "rebuild") -> bool:
        thread = self._jobs.get(name)
        return thread is not None and thread.is_alive()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait for background jobs (tests, shutdown); True if none is left running."""
        deadline = time.monotonic() + timeout
        for thread in list(self._jobs.values()):
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._jobs.values())

    # --- Answering ------------------------------------------------------------------------

    def search(
        self,
        parsed: ParsedQuery,
        filters: engine.Filters | None = None,
        page: int = 1,
        readers: tuple[str, ...] = (),
    ) -> engine.SearchResult:
        filters = filters or engine.Filters()
        self._check_now_and_then()
        result = search_answers.get(
            ("search", parsed, filters, page, readers),
            lambda: self._search_all(parsed, filters, page, readers),
            keep=settled,
        )
        if result.notice is None and self.busy("rebuild"):
            return replace(result, notice="updating")  # a kept result stays as it was
        return result

    def _search_all(
        self, parsed: ParsedQuery, filters: engine.Filters, page: int, readers: tuple[str, ...]
    ) -> engine.SearchResult:
        """The lessons and every installed ZIM in one ranked page (hub/search/combined.py)."""
        with connected():
            sources = zim_sources.installed(self.config.data_dir)
        return combined.search(
            lambda window: self._run(parsed, filters, page, readers, window),
            sources,
            parsed,
            filters,
            page,
            readers,
            self.config.search_zim_snippets,
        )

    def _run(
        self,
        parsed: ParsedQuery,
        filters: engine.Filters,
        page: int,
        readers: tuple[str, ...],
        window: engine.Window | None = None,
    ) -> engine.SearchResult:
        try:
            with self.index.snapshot() as snap:
                return engine.run(snap, parsed, filters, page, readers, window)
        except IndexUnavailable:
            result = engine.SearchResult(query=parsed.text, page=page)
            if self._library_has_lessons():
                result.notice = "rebuilding"
                self._start_job("rebuild", self._rebuild_job)
            return result
        except TimeoutError:  # the hub is overloaded, the index is fine: say so, check nothing
            log.warning("search: no free connection for %r", parsed.text)
            return engine.SearchResult(query=parsed.text, page=page, notice="failed")
        except Exception:  # never fail a search; find out whether the index is damaged
            log.exception("search failed on %r", parsed.text)
            if self._healthy():
                return engine.SearchResult(query=parsed.text, page=page, notice="failed")
            self.index.close()
            self._start_job("rebuild", self._repair_job)
            return engine.SearchResult(query=parsed.text, page=page, notice="rebuilding")

    def suggested(self, text: str, readers: tuple[str, ...] = ()) -> Suggested:
        """Titles as a student types (none rather than an error when there is no index), and
        whether they are what the index will keep saying until the library changes."""
        generation, found = search_answers.get(
            ("suggest", text, readers),
            lambda: self._suggest(text, readers),
            keep=lambda answer: _is_current(answer[0]),
        )
        return Suggested(found, _is_current(generation))

    def _suggest(self, text: str, readers: tuple[str, ...]) -> tuple[int | None, list[Suggestion]]:
        generation, lessons = self._suggest_lessons(text, readers)
        with connected():
            sources = zim_sources.installed(self.config.data_dir)
        return generation, combined.suggestions(lessons, sources, text, readers)

    def _suggest_lessons(
        self, text: str, readers: tuple[str, ...]
    ) -> tuple[int | None, list[Suggestion]]:
        try:
            with self.index.reader() as (db, generation):
                return generation, suggest(db, text, readers)
        except IndexUnavailable:
            return None, []
        except Exception:  # a keystroke must never fail; the search path repairs the index
            log.exception("search: suggestions failed for %r", text)
            return None, []

    def _healthy(self) -> bool:
        """The index's own check, at most once every HEALTH_CHECK_SECONDS while it passes: it
        reads the whole file, and a bug that fails every search must not run it every time."""
        now = time.monotonic()
        if now - self._healthy_at < HEALTH_CHECK_SECONDS:
            return True
        healthy = self.index.healthy()
        if healthy:
            self._healthy_at = now
        return healthy

    def _library_has_lessons(self) -> bool:
        try:
            with connected():
                return Pack.select().exists()
        except Exception:  # only words a notice
            return True


# Answers that say the index is catching up: true only for the moment.
LAGGING = ("rebuilding", "updating", "failed")


def settled(result: engine.SearchResult) -> bool:
    """The answer is what the index will keep saying until the library changes: not a notice
    that the index is catching up, nor read from an index behind the library. Only such
    answers are kept (the index's generation is read only when a search runs, so a kept one
    costs no turn of the index at all)."""
    return result.notice not in LAGGING and _is_current(result.generation)


def _is_current(index_generation: int | None) -> bool:
    return index_generation is not None and index_generation == current_generation()[1]


def _counted(
    docs: Iterable[LessonDoc], total: int, progress: Callable[[int, int], None]
) -> Iterator[LessonDoc]:
    for done, doc in enumerate(docs, 1):
        yield doc
        progress(done, max(total, done))


def attach(target: Flask | Library, config: Config) -> SearchService:
    """Give an app (or a CLI's Library) its search service; safe to call twice."""
    if isinstance(target, Flask):
        existing = target.extensions.get(EXTENSION)
        if existing is not None:
            return existing
        library: Library = target.extensions["library"]
        service = SearchService(config, library, background=True)
        target.extensions[EXTENSION] = service
        library.on_change(service.on_change)
        service.start()
        return service
    service = SearchService(config, target, background=False)
    target.on_change(service.on_change)
    return service
