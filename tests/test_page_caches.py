"""What the hub keeps between requests to serve pages fast, and that it never shows a reader
something stale or meant for someone else: the library generation, lesson parts, gzip."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, request, request_started, template_rendered
from flask.testing import FlaskClient

from hub.cli.common import prepare_data_dir
from hub.core.db import connected, db
from hub.core.settings import load_config
from hub.library import cache
from hub.library.models import LibraryState
from hub.people.models import ClassGroup, Learner
from hub.web import compress, kept_responses
from tests.content_helpers import sample_files, sample_manifest, write_pack_dir
from tests.zim_helpers import Entry, ZimSpec, default_entries, make_zim

LESSON = "/lessons/fractions-en/halves"


@pytest.fixture
def library(app: Flask, tmp_path: Path) -> Flask:
    lib = app.extensions["library"]
    outcome = lib.import_paths([write_pack_dir(tmp_path / "en", sample_manifest(), sample_files())])
    assert outcome[0].error is None, outcome[0].error
    with app.app_context(), connected():
        learner = Learner.add("Amina Juma", pin="1234")
        ClassGroup.named("Class 4", create=True).add_learner(learner)
    return app


@pytest.fixture
def renders(library: Flask) -> Iterator[list[str]]:
    """Names of the templates rendered while the test runs."""
    names: list[str] = []

    def seen(sender: Flask, template: object, context: dict, **extra: object) -> None:
        names.append(template.name)  # type: ignore[attr-defined]

    template_rendered.connect(seen, library)
    yield names
    template_rendered.disconnect(seen, library)


def csrf_of(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


def learner_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    answer = client.post("/api/session", json={"username": "amina-juma", "pin": "1234"})
    assert answer.status_code == 201
    return client


def test_a_lesson_part_is_rendered_once_per_language(library: Flask, renders: list[str]) -> None:
    learner = learner_client(library)
    english = [learner.get(LESSON).text for _ in range(3)]
    assert renders.count("lesson.html") == 3  # a signed-in page is drawn each time...
    assert renders.count("lesson/_main.html") == 1  # ...around a part kept for everyone
    assert english[0] == english[2]
    learner.post("/language", data={"lang": "fr", "csrf_token": csrf_of(learner)})
    french = learner.get(LESSON).text
    assert renders.count("lesson/_main.html") == 2
    assert "Bibliothèque" in french and "Licence" in french  # the part is French too


def test_a_visitors_page_is_rendered_once_per_language(library: Flask, renders: list[str]) -> None:
    visitor = library.test_client()
    pages = [visitor.get(LESSON) for _ in range(3)]
    assert renders.count("lesson.html") == 1
    assert pages[0].data == pages[2].data and pages[2].status_code == 200
    assert pages[2].headers["Content-Security-Policy"]  # the hub's headers, kept or not
    french = visitor.get(LESSON, headers={"Accept-Language": "fr"}).text
    assert "Bibliothèque" in french and renders.count("lesson.html") == 2
    assert "Bibliothèque" not in visitor.get(LESSON).text


def test_visitors_reading_other_languages_get_their_own_library(
    library: Flask, renders: list[str]
) -> None:
    visitor = library.test_client()
    visitor.get("/", headers={"Accept-Language": "en"})
    visitor.get("/", headers={"Accept-Language": "en, sw;q=0.8"})  # Swahili packs come next
    visitor.get("/?subject=mathematics", headers={"Accept-Language": "en"})
    visitor.get("/", headers={"Accept-Language": "en"})
    assert renders.count("home.html") == 3


def test_hostile_addresses_and_languages_are_served_but_not_kept(
    library: Flask, renders: list[str]
) -> None:
    visitor = library.test_client()
    babel = ", ".join(f"x{n:04d}" for n in range(2000))  # 2,000 made-up languages
    long_query = "/?subject=" + "a" * 4000
    for _ in range(2):
        assert visitor.get("/", headers={"Accept-Language": babel}).status_code == 200
        page = visitor.get(long_query)
        assert page.status_code == 200 and "No packs match" in page.text
    assert renders.count("home.html") == 4


def test_signed_in_and_visitor_pages_never_mix(library: Flask) -> None:
    visitor = library.test_client()
    first = visitor.get(LESSON).text
    assert "Sign in" in first and "data-track" not in first
    learner = learner_client(library)
    page = learner.get(LESSON).text
    assert "Sign out" in page and 'data-track="1"' in page
    again = visitor.get(LESSON).text
    assert again == first
    home = learner.get("/").text
    assert "Sign out" in home and "Sign out" not in visitor.get("/").text


def test_answers_that_are_not_pages_are_not_kept(library: Flask, renders: list[str]) -> None:
    visitor = library.test_client()
    for _ in range(2):
        assert visitor.get("/lessons/fractions-en/nope").status_code == 404
        assert visitor.get("/packs/nope").status_code == 404
    assert visitor.head(LESSON).status_code == 200
    assert visitor.get(LESSON).status_code == 200
    assert "lesson.html" in renders and renders.count("lesson.html") == 2  # HEAD, then GET


def test_a_learners_lesson_part_tracks_and_a_visitors_does_not(library: Flask) -> None:
    visitor = library.test_client()
    assert "data-track" not in visitor.get(LESSON).text
    learner = learner_client(library)
    assert 'data-track="1"' in learner.get(LESSON).text
    assert "data-track" not in visitor.get(LESSON).text


def test_a_visitors_bar_is_rendered_once_and_returns_to_each_page(
    library: Flask, renders: list[str]
) -> None:
    visitor = library.test_client()
    other = "/lessons/fractions-en/quarters"
    pages = {path: visitor.get(path).text for path in (LESSON, other, "/packs/fractions-en?x=<1>")}
    assert renders.count("_header.html") == 1
    assert f'name="next" value="{LESSON}"' in pages[LESSON]
    assert f'name="next" value="{other}"' in pages[other]
    assert 'value="/packs/fractions-en?x=&lt;1&gt;"' in pages["/packs/fractions-en?x=<1>"]
    assert "\x00" not in "".join(pages.values())
    visitor.get(LESSON, headers={"Accept-Language": "fr"})
    assert renders.count("_header.html") == 2  # one per language


def test_a_signed_in_bar_is_never_a_visitors(library: Flask) -> None:
    visitor = library.test_client()
    assert "Sign in" in visitor.get(LESSON).text
    learner = learner_client(library)
    mine = learner.get("/lessons/fractions-en/quarters").text
    assert '<a class="who" href="/signout"' in mine and "<bdi>Amina Juma</bdi>" in mine
    assert 'method="post" action="/language"' in mine
    theirs = visitor.get("/lessons/fractions-en/quarters").text
    assert "/signout" not in theirs and "Amina Juma" not in theirs


def test_exercises_are_never_kept(library: Flask, renders: list[str]) -> None:
    visitor = library.test_client()
    first = visitor.get("/lessons/fractions-en/check-1").text
    again = visitor.get("/lessons/fractions-en/check-1").text
    pages = [name for name in renders if name != "_header.html"]
    assert pages == ["lesson.html", "lesson.html"]  # the part is drawn inside, every time
    # Each visitor's form carries their own CSRF token.
    other = library.test_client().get("/lessons/fractions-en/check-1").text
    assert first == again and other != first


def test_a_change_in_this_process_shows_at_once(library: Flask, tmp_path: Path) -> None:
    visitor = library.test_client()
    assert "Halves" in visitor.get(LESSON).text
    manifest = sample_manifest(version="1.1.0")
    manifest["lessons"][0]["title"] = "Halves, again"
    lib = library.extensions["library"]
    outcome = lib.import_paths([write_pack_dir(tmp_path / "v2", manifest, sample_files())])
    assert outcome[0].error is None, outcome[0].error
    assert manifest["lessons"][0]["id"] == "halves"
    assert "Halves, again" in visitor.get(LESSON).text
    lib.remove("fractions-en")
    assert visitor.get(LESSON).status_code == 404


def test_a_change_by_another_process_shows_within_the_recheck(
    library: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(cache, "_clock", lambda: now[0])
    cache.library_changed()
    visitor = library.test_client()
    assert visitor.get(LESSON).status_code == 200
    with library.app_context(), connected():
        # What the CLI's import does, seen from here: the generation moves, nobody says so.
        db.execute_sql("DELETE FROM pack WHERE id = 'fractions-en'")
        LibraryState.bump()
    now[0] += cache.RECHECK_SECONDS / 2
    assert visitor.get(LESSON).status_code == 200  # still the kept page, for a moment
    now[0] += cache.RECHECK_SECONDS
    assert visitor.get(LESSON).status_code == 404


def test_two_databases_never_share_kept_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both libraries are at the same generation; only the database tells them apart."""
    from hub.web.app import create_app

    monkeypatch.setattr(cache, "_clock", lambda: 1000.0)
    pages = []
    for name, title in (("one", "First title"), ("two", "Second title")):
        manifest = sample_manifest()
        manifest["lessons"][0]["title"] = title
        app = create_app(prepare_data_dir(load_config(tmp_path / name, {"load_samples": False})))
        outcome = app.extensions["library"].import_paths(
            [write_pack_dir(tmp_path / f"pack-{name}", manifest, sample_files())]
        )
        assert outcome[0].error is None
        pages.append(app.test_client().get(LESSON).text)
    assert "First title" in pages[0] and "Second title" in pages[1]


def test_identical_bodies_are_compressed_once() -> None:
    body = b"<p>A lesson page, the same for every visitor.</p>" * 40
    before = compress._gzip_remembered.cache_info().hits
    first, second = compress.gzip_bytes(body), compress.gzip_bytes(bytes(body))
    assert first == second and gzip.decompress(first) == body
    assert compress._gzip_remembered.cache_info().hits == before + 1
    big = b"x" * (compress.REMEMBER_UP_TO + 1)
    compress.gzip_bytes(big)
    compress.gzip_bytes(big)
    assert compress._gzip_remembered.cache_info().hits == before + 1  # large ones are not kept


# --- whole answers kept for visitors without cookies (hub/web/kept_responses.py) ----------


@pytest.fixture
def asked(library: Flask) -> Iterator[list[str]]:
    """Paths of the requests that reached Flask (a kept answer never does)."""
    seen: list[str] = []

    def started(sender: Flask, **extra: object) -> None:
        seen.append(request.path)

    request_started.connect(started, library)
    yield seen
    request_started.disconnect(started, library)


def test_a_visitors_repeated_request_never_reaches_flask(library: Flask, asked: list[str]) -> None:
    visitor = library.test_client()
    gzip_please = {"Accept-Encoding": "gzip"}
    first, again = (visitor.get(LESSON, headers=gzip_please) for _ in range(2))
    assert asked == [LESSON]
    assert again.data == first.data and again.status_code == 200
    assert again.headers == first.headers  # CSP, nosniff, Vary, gzip: all kept
    assert again.headers["Content-Encoding"] == "gzip"
    assert "X-Learnhub-Shareable" not in again.headers  # the view's mark is never sent
    assert visitor.get(LESSON).headers.get("Content-Encoding") is None  # another key
    french = visitor.get(LESSON, headers={"Accept-Language": "fr"}).text
    assert "Bibliothèque" in french and len(asked) == 3
    suggest = "/api/search/suggest?q=hal"
    assert visitor.get(suggest).json == visitor.get(suggest).json
    assert asked.count("/api/search/suggest") == 1


def test_a_visitors_repeated_api_search_never_reaches_flask(
    library: Flask, asked: list[str]
) -> None:
    visitor = library.test_client()
    search = "/api/search?q=fractions"
    first, again = (visitor.get(search) for _ in range(2))
    assert first.json["results"] and again.json == first.json
    assert asked.count("/api/search") == 1
    visitor.set_cookie("session", "anything")
    visitor.get(search)
    assert asked.count("/api/search") == 2  # a cookie may be a person: never a kept answer


def test_kept_answers_share_what_repeats_and_are_charged_for_the_rest(library: Flask) -> None:
    visitor = library.test_client()
    for path in (LESSON, "/lessons/fractions-en/intro-video"):
        assert visitor.get(path, headers={"Accept-Encoding": "gzip"}).status_code == 200
    kept = dict(cache.kept_responses._items)
    (key_a, (a, cost_a)), (key_b, (b, _)) = kept.items()
    policy_a, policy_b = (
        next(h for h in answer.headers if h[0] == "Content-Security-Policy") for answer in (a, b)
    )
    assert policy_a is policy_b  # one copy for every kept answer
    assert key_a[4] is key_b[4]  # the Host they were asked with, too
    alone = cache.approximate_size(key_a) + cache.approximate_size(a)
    assert len(a.body) < cost_a < alone - len(policy_a[1])


def test_strangers_odd_headers_cannot_grow_what_is_shared(library: Flask) -> None:
    visitor = library.test_client()
    for n in range(kept_responses.SHARED_UP_TO + 50):
        visitor.get(LESSON, headers={"Accept-Language": f"x-{n}"})
    assert len(kept_responses.shared._values) <= kept_responses.SHARED_UP_TO
    shared = kept_responses.Shared(limit=1)
    first, second = shared("first value"), shared("second value")
    assert shared.holds(first) and not shared.holds(second)


def test_a_kept_answer_is_the_only_copy_of_a_visitors_lesson(library: Flask) -> None:
    def lesson_views() -> int:
        return sum(1 for key in cache.library_cache._items if key[0] == "lesson")

    library.test_client().get(LESSON)
    assert lesson_views() == 0  # the whole answer is kept; its lesson view would be a copy
    reader = library.test_client()
    reader.set_cookie("lang", "fr")
    reader.get(LESSON)
    assert lesson_views() == 1  # pages with cookies are made afresh from the kept view


@pytest.mark.parametrize(
    "headers",
    [
        {},  # with a cookie (the test client sends its own jar's, not a Cookie header)
        {"Authorization": "Basic eDp5"},
        {"Range": "bytes=0-10"},
        {"If-None-Match": '"x"'},
        {"If-Modified-Since": "Sat, 05 Dec 2026 10:00:00 GMT"},
        {"Accept-Language": "fr," * 400},  # a key too long to keep
    ],
)
def test_requests_that_may_be_personal_always_reach_flask(
    library: Flask, asked: list[str], headers: dict[str, str]
) -> None:
    visitor = library.test_client()
    if not headers:
        visitor.set_cookie("anything", "1")
    for _ in range(2):
        visitor.get(LESSON, headers=headers)
    assert asked == [LESSON, LESSON]
    assert (
        "X-Learnhub-Shareable"
        not in visitor.get("/api/search/suggest?q=hal", headers=headers).headers
    )


def test_only_marked_answers_are_kept(library: Flask, asked: list[str]) -> None:
    visitor = library.test_client()
    for path in ("/healthz", "/lessons/fractions-en/nothing-here", "/static/css/hub.css"):
        for _ in range(2):
            visitor.get(path)
    assert len(asked) == 6  # unmarked, a 404, a file: each reached the app both times
    visitor.post(LESSON)
    visitor.post(LESSON)
    assert len(asked) == 8


def test_a_kept_answer_goes_when_the_library_changes(library: Flask, asked: list[str]) -> None:
    visitor = library.test_client()
    assert visitor.get(LESSON).status_code == 200
    library.extensions["library"].remove("fractions-en")
    assert visitor.get(LESSON).status_code == 404
    assert asked == [LESSON, LESSON]


def test_a_kept_answer_still_lets_the_hub_see_the_time(
    library: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    clock = library.extensions["clock"]
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: seen.append(1) or real_now())
    visitor = library.test_client()
    for _ in range(3):
        visitor.get(LESSON)
    assert len(seen) == 3


def test_a_real_server_keeps_and_answers_a_visitors_page(live_server) -> None:
    import urllib.request

    def fetch() -> tuple[bytes, dict[str, str]]:
        asking = urllib.request.Request(
            live_server.url + "/lessons/fractions-en/what-is-a-fraction",
            headers={"Accept-Encoding": "gzip"},
        )
        with urllib.request.urlopen(asking, timeout=10) as answer:
            return answer.read(), dict(answer.headers)

    (first, first_headers), (again, headers) = fetch(), fetch()
    assert again == first and gzip.decompress(again).startswith(b"<!doctype html>")
    assert headers["Content-Security-Policy"] and headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Learnhub-Shareable" not in headers and "X-Learnhub-Shareable" not in first_headers


def test_a_visitors_repeated_zim_entry_never_reaches_flask_until_the_file_is_replaced(
    library: Flask, asked: list[str], tmp_path: Path
) -> None:
    lib = library.extensions["library"]
    first_edition = make_zim(tmp_path / "first" / "test.zim")
    assert lib.import_paths([first_edition])[0].error is None
    visitor = library.test_client()
    article, style = "/zim/test_zim_en/articles/first.html", "/zim/test_zim_en/style.css"
    for path in (article, style):
        first, again = (visitor.get(path, headers={"Accept-Encoding": "gzip"}) for _ in range(2))
        assert again.status_code == 200 and again.data == first.data
        assert asked.count(path) == 1
    part = visitor.get(style, headers={"Range": "bytes=0-1"})
    assert part.status_code == 206 and asked.count(style) == 2  # a part is the app's each time
    entries = default_entries()
    entries["articles/first.html"] = Entry("text/html", b"<p>second edition</p>", "First")
    newer = make_zim(tmp_path / "second" / "test.zim", ZimSpec(date="2030-01-01", entries=entries))
    assert lib.import_paths([newer])[0].error is None
    assert visitor.get(article).data.startswith(b"<p>second edition</p>")
    assert asked.count(article) == 2
