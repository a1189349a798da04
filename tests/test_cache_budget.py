"""Memory is bounded by settings, not by the library: the caches keep what fits their share of
`cache_bytes` (least recently used first out), and a lesson page does the same few queries,
reading the same few rows, in a library of 3 lessons and of 20,000."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest
from flask import Flask

from hub.cli.common import prepare_data_dir
from hub.core.db import db
from hub.core.settings import load_config
from hub.library import cache
from hub.library.models import Lesson, Pack, PackFile, Topic, TopicLesson
from hub.web.app import create_app


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[cache.GenerationCache]:
    monkeypatch.setattr(cache, "current_generation", lambda: ("test.db", 1))
    yield cache.GenerationCache("test", share=1.0, pool=cache.CachePool(10_000))


def test_the_least_recently_used_go_first(fresh_cache: cache.GenerationCache) -> None:
    page = "x" * 1500
    for n in range(20):
        fresh_cache.get(n, lambda: page)
        fresh_cache.get(0, lambda: pytest.fail("the most used page was dropped"))
    stats = fresh_cache.stats()
    assert stats["bytes"] <= 10_000
    assert 3 <= stats["entries"] < 20
    built = []
    fresh_cache.get(1, lambda: built.append(1) or page)
    assert built == [1]  # an old one was dropped, not everything at once


def test_a_value_too_big_for_its_budget_is_never_kept(fresh_cache: cache.GenerationCache) -> None:
    fresh_cache.get("small", lambda: "s")
    fresh_cache.get("big", lambda: "b" * 5000)
    stats = fresh_cache.stats()
    assert stats["entries"] == 1
    assert stats["bytes"] < 1000


def test_a_cache_borrows_what_the_others_leave_unused_and_gives_it_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cache, "current_generation", lambda: ("test.db", 1))
    pool = cache.CachePool(40_000)
    busy = cache.GenerationCache("busy", share=0.5, pool=pool)
    idle = cache.GenerationCache("idle", share=0.5, pool=pool)
    page = "x" * 2000
    for n in range(30):
        busy.get(n, lambda: page)
    assert busy.bytes > busy.budget  # more than its share: the other left its own unused
    assert pool.used <= pool.total
    for n in range(30):
        idle.get(n, lambda: page)
    assert idle.bytes > 0.8 * idle.budget  # its share came back to it, from the borrower
    assert busy.bytes <= busy.budget + 2 * len(page)
    assert pool.used <= pool.total
    busy.get(29, lambda: pytest.fail("the busy cache's newest page was dropped"))


def test_database_rows_are_sized_by_their_fields() -> None:
    small = Lesson(title="t", meta={})
    big = Lesson(title="t", meta={"assets": ["a" * 100] * 1000})
    assert cache.approximate_size(big) > cache.approximate_size(small) + 100_000


def test_the_budget_follows_the_setting(tmp_path: Path) -> None:
    config = load_config(tmp_path / "data", {"load_samples": False, "cache_bytes": 1_000_000})
    create_app(prepare_data_dir(config))
    budgets = {entry["name"]: entry["budget"] for entry in cache.stats()}
    assert sum(budgets.values()) <= 1_000_000
    assert all(budget > 0 for budget in budgets.values())


# --- queries per lesson page ---------------------------------------------------------------


def library_of(app: Flask, lessons: int) -> str:
    """A pack whose one topic holds `lessons` articles; returns the middle lesson's id."""
    with app.app_context(), db.connection_context():
        pack = Pack.create(
            id="big-pack",
            version="1",
            title="Big",
            language="en",
            manifest={"lessons": [{"id": f"l{n}"} for n in range(lessons)]},
            installed_at="2026-01-01",
        )
        topic = Topic.create(pack=pack, topic_id="all", title="All", position=0)
        rows = [
            {
                "pack": pack.id,
                "lesson_id": f"l{n}",
                "title": f"Lesson {n}",
                "kind": "article",
                "file_path": f"l{n}.html",
                "position": n,
            }
            for n in range(lessons)
        ]
        for batch in peewee.chunked(rows, 500):
            Lesson.insert_many(batch).execute()
        ids = [lesson.id for lesson in Lesson.select(Lesson.id).order_by(Lesson.position)]
        links = [{"topic": topic.id, "lesson": lid, "position": n} for n, lid in enumerate(ids)]
        for batch in peewee.chunked(links, 500):
            TopicLesson.insert_many(batch).execute()
        PackFile.insert_many(
            [
                {
                    "pack": pack.id,
                    "path": f"l{n}.html",
                    "sha256": "0" * 64,
                    "size": 1,
                    "media_type": "text/html",
                }
                for n in range(lessons)
            ]
        ).execute()
    return f"l{lessons // 2}"


class Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.queries += 1


def cost_of_a_lesson_page(
    tmp_path: Path, lessons: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """(queries, rows read) for one uncached lesson page."""
    config = load_config(tmp_path / f"data-{lessons}", {"load_samples": False, "cache_bytes": 0})
    app = create_app(prepare_data_dir(config))
    middle = library_of(app, lessons)
    client = app.test_client()
    client.get("/")  # the first request's one-time work is not the page's
    rows = [0]
    iterate = peewee.CursorWrapper.iterate

    def counted(self: peewee.CursorWrapper, cache: bool = True) -> object:
        rows[0] += 1
        return iterate(self, cache)

    monkeypatch.setattr(peewee.CursorWrapper, "iterate", counted)
    counter = Counter()
    logger = logging.getLogger("peewee")
    logger.addHandler(counter)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        assert client.get(f"/lessons/big-pack/{middle}").status_code == 200
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
        monkeypatch.undo()
    return counter.queries, rows[0]


def test_a_lesson_page_costs_the_same_in_a_library_of_20000(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = cost_of_a_lesson_page(tmp_path, 3, monkeypatch)
    large = cost_of_a_lesson_page(tmp_path, 20_000, monkeypatch)
    assert large == small
    queries, rows = large
    assert queries <= 12
    assert rows <= 20


def test_a_kept_lesson_view_holds_no_pack_manifest(tmp_path: Path) -> None:
    """A 20,000-lesson pack's manifest parses to megabytes; each kept view held a copy."""
    from hub.library.lessons import lesson_view

    config = load_config(tmp_path / "data", {"load_samples": False})
    app = create_app(prepare_data_dir(config))
    middle = library_of(app, 20_000)
    with app.test_request_context(), db.connection_context():
        view = lesson_view("big-pack", middle)
        assert view is not None
        assert cache.approximate_size(view) < 50_000
