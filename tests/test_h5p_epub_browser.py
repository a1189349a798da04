"""H5P activities and EPUB books in a real headless Chromium on a 360 px phone, through a real
hub: every shared H5P package plays in its opaque-origin sandbox, right answers to TrueFalse and
MultiChoice record completion and a score that the coach's report shows; hand-written EPUBs open
and turn pages (right to left for an RTL book), and a hostile book's scripts never run."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from hub.core.db import connected
from hub.people.models import StaffUser
from tests.browser import PHONE, fits_phone, shot
from tests.conftest import LiveServer
from tests.content_helpers import write_pack_dir
from tests.epub_helpers import write_epub
from tests.progress_helpers import add_coach, add_learner, events_in, learner_ids, prepare_hub
from tests.test_h5p import SHARED, VALID
from tests.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.server]

LEARNERS = {"truefalse": "Amina Juma", "multichoice": "Baraka Ali", "reader": "Chiku Tatu"}
CLASS = "4B"
OPERATOR_PASSWORD = "operator-password"


def book_pack(root: Path) -> Path:
    books = {
        "plain.epub": write_epub(root / "plain.epub"),
        "rtl.epub": write_epub(root / "rtl.epub", "كتاب", "ar", "ركض الأرنب بسرعة.", rtl=True),
        "hostile.epub": write_epub(root / "hostile.epub", "Hostile", "en", "Words.", hostile=True),
    }
    manifest = {
        "format": "learnhub-pack/1",
        "id": "books",
        "version": "1",
        "title": "Books",
        "language": "sw",
        "lessons": [
            {"id": name.split(".")[0], "title": name, "kind": "epub", "file": name}
            for name in books
        ],
    }
    files = {name: path.read_bytes() for name, path in books.items()}
    return write_pack_dir(root / "books", manifest, files)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[LiveServer]:
    """A real hub; every shared H5P package reaches it as an operator sends one: uploaded on
    the admin page, over HTTP, each becoming a pack of one lesson."""
    root = tmp_path_factory.mktemp("h5p-epub")
    data = root / "data"
    prepare_hub(data, packs=[book_pack(root)], samples=False)
    with connected():
        for name in LEARNERS.values():
            add_learner(name, class_name=CLASS)
        add_coach()
        StaffUser.add("Otto Operator", "operator", OPERATOR_PASSWORD)
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        upload(server, browser, VALID)
        yield server
    finally:
        server.stop()


def finished(context: Any, job: str) -> bool:
    return bool(context.request.get(job).json()["finished"])


def upload(hub: LiveServer, browser: Any, packages: list[Path]) -> None:
    context = browser.new_context()
    body = {"username": "otto-operator", "password": OPERATOR_PASSWORD}
    response = context.request.post(hub.url + "/api/session", data=body)
    assert response.status == 201, response.text()
    for path in packages:
        page = context.request.get(hub.url + "/admin/own-packs/").text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        sent = {"name": path.name, "mimeType": "application/zip", "buffer": path.read_bytes()}
        answer = context.request.post(
            hub.url + "/admin/own-packs/import",
            multipart={"csrf_token": token, "file": sent},
            max_redirects=0,
        )
        assert answer.status == 303, answer.text()
        # Imports run one at a time as jobs (with one waiting): each is let finish first.
        job = hub.url + answer.headers["location"].replace("/admin/jobs/", "/api/jobs/")
        eventually(partial(finished, context, job), timeout=120)
    wanted = {f"h5p-{slug(path)}" for path in packages}

    def installed() -> bool:
        packs = context.request.get(hub.url + "/api/packs").json()["packs"]
        return wanted <= {pack["id"] for pack in packs}

    assert eventually(installed, timeout=120)
    context.close()


@pytest.fixture
def signed_in(browser: Any, hub: LiveServer) -> Iterator[Callable[[str], Any]]:
    contexts = []

    def open_page(who: str) -> Any:
        context = browser.new_context(viewport=PHONE)
        contexts.append(context)
        body = {"username": username(who), "pin": "1234"}
        response = context.request.post(
            hub.url + "/api/session",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        assert response.status == 201, response.text()
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()


def username(who: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", LEARNERS[who].lower())


def slug(path: Path) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.stem.lower())


def h5p_lesson(hub: LiveServer, path: Path) -> str:
    return f"{hub.url}/lessons/h5p-{slug(path)}/{slug(path)}"


def player(page: Any) -> Any:
    frame = page.frame_locator("iframe.h5p-frame")
    frame.locator("#h5p-container[data-ready='1']").wait_for(timeout=30_000)
    return frame


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_every_shared_h5p_activity_renders_in_its_sandbox(
    browser: Any, hub: LiveServer, path: Path
) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    failed: list[str] = []
    # Every file the activity asks for loads: scripts, styles, fonts, pictures, JSON, and the
    # sounds SoundJS fetches with a preflighted XMLHttpRequest (views/h5p.py PREFLIGHT).
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    sounds: list[int] = []
    page.on(
        "requestfinished",
        lambda r: r.url.endswith(".ogg") and sounds.append(r.response().status),
    )
    page.goto(h5p_lesson(hub, path))
    frame = player(page)
    content = frame.locator(".h5p-content")
    content.wait_for(timeout=30_000)
    assert content.bounding_box()["height"] > 80, "the activity drew nothing"
    # the frame is an opaque origin: it cannot see the hub's document or cookies
    opaque = page.frames[1].evaluate(
        "() => { try { return parent.document && 'reached'; } catch (e) { return 'refused'; } }"
    )
    assert opaque == "refused"
    assert fits_phone(page)
    shot(page, f"h5p-{path.stem}")
    assert not failed, failed
    if path.stem == "H5P.InteractiveVideo":
        assert sounds and set(sounds) == {200}, "the feedback sounds were not fetched"
    context.close()


def results(hub: LiveServer, who: str, lesson_id: str) -> list[dict]:
    learner = learner_ids(hub.data_dir / "learnhub.db")[username(who)]
    return [
        event
        for event in events_in(hub.data_dir / "learnhub.db")
        if event["learner_id"] == learner
        and event["lesson_id"] == lesson_id
        and event["type"] == "attempt"
    ]


def coach_sees(hub: LiveServer, browser: Any, who: str, title: str) -> tuple[str, str]:
    """The learner's row for the lesson on the coach's learner page, and the learner's cell
    in the class grid of the activity's pack."""
    context = browser.new_context(viewport=PHONE)
    response = context.request.post(
        hub.url + "/api/session",
        data=json.dumps({"username": "coach-carter", "password": "coach-password"}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201, response.text()
    learner = learner_ids(hub.data_dir / "learnhub.db")[username(who)]
    page = context.new_page()
    page.goto(f"{hub.url}/coach/learners/{learner}")
    row = page.locator("tr", has_text=title).first.inner_text()
    page.goto(f"{hub.url}/coach/")
    page.get_by_role("link", name=CLASS).first.click()
    page.locator("select#pack").select_option(label=f"All of {title}")
    page.get_by_role("button", name="Show").click()
    cell = page.locator("table.grid tbody tr", has_text=LEARNERS[who]).locator("td").first
    text = cell.inner_text()
    shot(page, f"coach-grid-{who}")
    context.close()
    return row, text


def test_right_answer_to_true_false_records_completion_and_score(
    signed_in: Callable[[str], Any], hub: LiveServer, browser: Any
) -> None:
    page = signed_in("truefalse")
    page.goto(h5p_lesson(hub, SHARED / "H5P.TrueFalse.h5p"))
    frame = player(page)
    frame.get_by_role("radio", name="Yes").click()
    frame.get_by_role("button", name="Check").click()
    recorded = eventually(lambda: results(hub, "truefalse", "h5p-truefalse"), timeout=20)
    assert recorded and recorded[-1]["fields"]["score"] == 1.0
    assert recorded[-1]["fields"]["mastered"] is True
    body = page.context.request.get(hub.url + "/api/progress/me").json()
    row = next(r for r in body["progress"] if r["lesson_id"] == "h5p-truefalse")
    assert row["completed"] and row["mastered"] and row["best_score"] == 1.0
    row, cell = coach_sees(hub, browser, "truefalse", "True/False Question")
    assert "100" in row and cell.endswith("Completed 100%"), cell
    assert not page.errors, page.errors


def test_right_answer_to_multichoice_records_completion_and_score(
    signed_in: Callable[[str], Any], hub: LiveServer, browser: Any
) -> None:
    page = signed_in("multichoice")
    page.goto(h5p_lesson(hub, SHARED / "H5P.MultiChoice.h5p"))
    frame = player(page)
    frame.get_by_text("Very dark purple").click()
    frame.get_by_role("button", name="Check").click()
    recorded = eventually(lambda: results(hub, "multichoice", "h5p-multichoice"), timeout=20)
    assert recorded and recorded[-1]["fields"]["score"] == 1.0
    shot(page, "h5p-multichoice-answered")
    row, cell = coach_sees(hub, browser, "multichoice", "Multiple Choice")
    assert "100" in row and cell.endswith("Completed 100%"), cell


def test_the_sandboxed_frame_cannot_post_results_itself(hub: LiveServer, browser: Any) -> None:
    """The hub refuses a result sent from the opaque origin (Origin: null)."""
    context = browser.new_context()
    response = context.request.post(
        hub.url + "/api/lessons/h5p-h5p-truefalse/h5p-truefalse/h5p-result",
        data=json.dumps({"score": 1, "max": 1}),
        headers={"Content-Type": "application/json", "Origin": "null"},
    )
    assert response.status in (401, 403)
    context.close()


def reader(page: Any) -> Any:
    frame = page.frame_locator("iframe.book-frame")
    frame.locator("#book[data-ready='1']").wait_for(timeout=30_000)
    return frame


def test_an_epub_opens_turns_pages_and_resumes(
    signed_in: Callable[[str], Any], hub: LiveServer
) -> None:
    page = signed_in("reader")
    page.goto(f"{hub.url}/lessons/books/plain")
    frame = reader(page)
    book = frame.locator("#book")
    first = book.get_attribute("data-cfi")
    frame.locator(".book-next").click()
    frame.locator(".book-next").click()
    eventually(lambda: book.get_attribute("data-cfi") != first)
    fraction = float(book.get_attribute("data-fraction"))
    assert 0 < fraction < 1
    frame.locator(".book-larger").click()
    shot(page, "epub-plain")
    assert fits_phone(page)
    place = book.get_attribute("data-cfi")
    page.reload()
    frame = reader(page)
    resumed = frame.locator("#book").get_attribute("data-cfi")
    # the same chapter, past its start: the page holding the saved place (the larger text moved
    # where that page begins)
    assert resumed != first and resumed.split("!")[0] == place.split("!")[0]
    assert not page.errors, page.errors
    page.goto(hub.url + "/healthz")  # leaving reports the share read (progress.js)
    learner = learner_ids(hub.data_dir / "learnhub.db")[username("reader")]

    def shares() -> list[float]:
        return [
            e["fields"]["progress"]
            for e in events_in(hub.data_dir / "learnhub.db")
            if e["learner_id"] == learner and e["lesson_id"] == "plain" and e["type"] == "progress"
        ]

    assert eventually(shares), "no progress report for the book"
    assert 0 < max(shares()) < 1


def test_a_right_to_left_book_turns_right_to_left(
    signed_in: Callable[[str], Any], hub: LiveServer
) -> None:
    page = signed_in("reader")
    page.goto(f"{hub.url}/lessons/books/rtl")
    frame = reader(page)
    book = frame.locator("#book")
    assert book.get_attribute("data-direction") == "rtl"
    first = book.get_attribute("data-cfi")
    frame.locator(".book-next").click()
    eventually(lambda: book.get_attribute("data-cfi") != first)
    shot(page, "epub-rtl")


def test_a_hostile_books_script_and_handlers_never_run(
    signed_in: Callable[[str], Any], hub: LiveServer
) -> None:
    page = signed_in("reader")
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))
    page.goto(f"{hub.url}/lessons/books/hostile")
    frame = reader(page)
    frame.locator(".book-next").click()
    page.wait_for_timeout(1500)
    chapter = next(f for f in page.frames if f.url == "about:srcdoc")
    assert chapter.evaluate is not None
    for where in page.frames:
        if where.url.startswith(hub.url):
            assert where.evaluate("() => window.PWNED === undefined")
    assert any("sandboxed" in text and "allow-scripts" in text for text in blocked)


def test_the_place_in_a_book_is_kept_on_the_hub_for_another_device(
    signed_in: Callable[[str], Any], hub: LiveServer
) -> None:
    """A signed-in learner's place goes to the hub with the share read; a second browser (a
    fresh context: nothing in its storage) opens the book at that place."""
    phone = signed_in("reader")
    phone.goto(f"{hub.url}/lessons/books/rtl")
    frame = reader(phone)
    book = frame.locator("#book")
    first = book.get_attribute("data-cfi")
    frame.locator(".book-next").click()
    eventually(lambda: book.get_attribute("data-cfi") != first)
    place = book.get_attribute("data-cfi")
    phone.goto(hub.url + "/healthz")  # leaving reports the place (progress.js)
    learner = learner_ids(hub.data_dir / "learnhub.db")[username("reader")]

    def kept() -> list[str]:
        return [
            e["fields"]["place"]
            for e in events_in(hub.data_dir / "learnhub.db")
            if e["learner_id"] == learner and e["lesson_id"] == "rtl" and "place" in e["fields"]
        ]

    assert eventually(kept) and kept()[-1] == place
    laptop = signed_in("reader")
    laptop.goto(f"{hub.url}/lessons/books/rtl")
    resumed = reader(laptop).locator("#book").get_attribute("data-cfi")
    assert resumed == place != first
    assert not laptop.errors, laptop.errors


@pytest.mark.parametrize(
    "position",
    ["javascript:alert(1)", 'epubcfi(/6/2!"><script>)', "epubcfi(" + "/4" * 300 + ")", ""],
)
def test_a_place_that_is_no_place_in_a_book_is_refused(
    signed_in: Callable[[str], Any], hub: LiveServer, position: str
) -> None:
    page = signed_in("reader")
    body = {"pack_id": "books", "lesson_id": "plain", "progress": 0.1, "position": position}
    response = page.context.request.post(
        hub.url + "/api/progress",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400 and "position" in response.json()["error"]["message"]
