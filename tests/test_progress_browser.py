"""Lesson pages report progress themselves, in a real headless Chromium, as a signed-in learner
on a phone: video played, reading scrolled, PDF pages seen, picture viewed; and a pack's own
script inside a reading still never runs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.core.db import connected
from hub.people.models import Assignment, ClassGroup, Learner
from tests.browser import PHONE, shot
from tests.conftest import LiveServer
from tests.content_helpers import sample_manifest, write_pack_dir
from tests.progress_helpers import events_in, learner_ids, prepare_hub
from tests.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.server]

FRACTIONS = "fractions-en"
HOSTILE = "hostile-pack"
LEARNERS = {
    "video": "Amina Juma",
    "skipper": "Baraka Ali",
    "fast": "Chiku Tatu",
    "reading": "Dalia Nne",
    "pdf": "Eli Tano",
    "picture": "Faraji Sita",
    "hostile": "Gift Saba",
    "nojs": "Hawa Nane",
    "weight": "Imani Tisa",
}
PAGE_BUDGET = 100 * 1024  # HTML + CSS + JS of a lesson page, before gzip

# Every way a page might try to run its own script; each one, if it ran, would tell the hub's
# page so. None may: the reading's CSP allows the hub's reporter and nothing else.
TELL = "top.postMessage({hostile: '%s'}, '*')"
HOSTILE_PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>A tall page</title>
<script>{TELL % "inline"}</script>
<script src="own.js"></script>
<script src="/static/js/article-reporter.js/../../../files/{HOSTILE}/tall/own.js"></script>
</head><body>
<h1>A tall page</h1>
<p><a id="js-link" href="javascript:{TELL % "javascript-url"}">A link</a></p>
<div style="height: 4000px; background: linear-gradient(#fff, #cde)">Read slowly.</div>
<img src="own.svg" alt="" onload="{TELL % "onload"}">
<svg><script>{TELL % "svg"}</script></svg>
<iframe src="data:text/html,<script>{TELL % "data-frame"}</script>"></iframe>
<iframe srcdoc="<script>{TELL % "srcdoc"}</script>"></iframe>
<object data="data:text/html,<script>{TELL % "object"}</script>"></object>
<p>The end.</p>
</body></html>
""".encode()


def hostile_pack(root: Path) -> Path:
    manifest = sample_manifest(id=HOSTILE, title="Hostile pack")
    manifest["topics"] = []
    manifest["lessons"] = [
        {
            "id": "tall-page",
            "title": "A tall page",
            "kind": "article",
            "file": "tall/index.html",
            "assets": ["tall/own.js", "tall/own.svg"],
        }
    ]
    files = {
        "tall/index.html": HOSTILE_PAGE,
        "tall/own.js": (TELL % "external").encode(),
        "tall/own.svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    }
    return write_pack_dir(root, manifest, files)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real hub with the sample library, the hostile pack and one learner per test."""
    root = tmp_path_factory.mktemp("progress-browser")
    data = root / "data"
    prepare_hub(data, learners=LEARNERS.values(), packs=[hostile_pack(root / "hostile")])
    with connected():
        group = ClassGroup.named("4B", create=True)
        group.add_learner(Learner.by_username("imani-tisa"))
        for what in ({"topic_id": "understanding"}, {"lesson_id": "fractions-quiz"}):
            Assignment.create(class_group=group, pack_id=FRACTIONS, assigned_by="coach", **what)
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def signed_in(browser: Any, hub: LiveServer) -> Callable[..., Any]:
    """signed_in("video") -> a phone-sized page signed in as that test's learner."""
    contexts = []

    def open_page(who: str, javascript: bool = True) -> Any:
        context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
        contexts.append(context)
        username = re.sub(r"[^a-z0-9]+", "-", LEARNERS[who].lower())
        response = context.request.post(
            hub.url + "/api/session",
            data=json.dumps({"username": username, "pin": "1234"}),
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


def lesson_url(hub: LiveServer, lesson_id: str, pack_id: str = FRACTIONS) -> str:
    return f"{hub.url}/lessons/{pack_id}/{lesson_id}"


def leave(page: Any, hub: LiveServer) -> None:
    """Go elsewhere, as a learner does: the page reports on `pagehide` (fetch keepalive)."""
    page.goto(hub.url + "/healthz")


def reports(hub: LiveServer, lesson_id: str, who: str) -> list[dict]:
    """The progress/completed events of one learner on one lesson, oldest first."""
    username = re.sub(r"[^a-z0-9]+", "-", LEARNERS[who].lower())
    ids = learner_ids(hub.data_dir / "learnhub.db")
    return [
        e
        for e in events_in(hub.data_dir / "learnhub.db")
        if e["lesson_id"] == lesson_id
        and e["learner_id"] == ids[username]
        and e["type"] in ("progress", "completed")
    ]


def my_progress(page: Any, hub: LiveServer, lesson_id: str) -> dict:
    body = page.context.request.get(hub.url + "/api/progress/me").json()
    return next(row for row in body["progress"] if row["lesson_id"] == lesson_id)


def play(page: Any, rate: float = 1.0, start: float = 0.0) -> None:
    started = page.evaluate(
        """async ([rate, start]) => {
            const media = document.querySelector('video, audio');
            media.muted = true;
            // preload="none": nothing, not even the length, is known before play is pressed.
            await media.play();
            media.playbackRate = rate;
            if (start > 0) media.currentTime = media.duration - start;
            return !media.paused;
        }""",
        [rate, start],
    )
    assert started, "the sample video did not play"


def ended(page: Any) -> bool:
    # Not page.wait_for_function: it evaluates a string, which the hub's CSP forbids.
    return page.evaluate("() => document.querySelector('video').ended")


# --- video and audio -------------------------------------------------------------------------


def test_a_video_played_a_few_seconds_reports_position_and_fraction(
    signed_in: Callable[..., Any], hub: LiveServer
) -> None:
    page = signed_in("video")
    page.goto(lesson_url(hub, "halves-and-quarters"))
    play(page)
    page.wait_for_timeout(4000)
    position = page.evaluate("document.querySelector('video').currentTime")
    leave(page, hub)
    sent = eventually(lambda: reports(hub, "halves-and-quarters", "video"))
    assert sent, "no progress report after leaving the video"
    last = sent[-1]
    assert last["type"] == "progress"
    fields = last["fields"]
    assert 2.5 <= fields["position"] <= position + 0.5
    assert 0.03 < fields["progress"] < 0.2  # ~4 s of a 78 s video
    assert 2 <= fields["time_spent"] <= 30
    row = my_progress(page, hub, "halves-and-quarters")
    assert row["status"] == "in_progress" and not row["completed"]
    assert row["progress"] == pytest.approx(fields["progress"], abs=1e-4)
    assert not page.errors, page.errors


def test_skipping_to_the_end_does_not_complete_a_video(
    signed_in: Callable[..., Any], hub: LiveServer
) -> None:
    page = signed_in("skipper")
    page.goto(lesson_url(hub, "halves-and-quarters"))
    play(page, rate=2, start=3)  # seek to 3 s before the end, watch that
    assert eventually(lambda: ended(page), timeout=15)
    leave(page, hub)
    sent = eventually(lambda: reports(hub, "halves-and-quarters", "skipper"))
    assert sent and all(e["type"] == "progress" for e in sent)
    assert max(e["fields"]["progress"] for e in sent) < 0.1
    assert not my_progress(page, hub, "halves-and-quarters")["completed"]


def test_a_video_watched_to_the_end_is_completed(
    signed_in: Callable[..., Any], hub: LiveServer
) -> None:
    page = signed_in("fast")
    page.goto(lesson_url(hub, "halves-and-quarters"))
    play(page, rate=16)  # all of it, quickly
    assert eventually(lambda: ended(page), timeout=30)
    sent = eventually(
        lambda: [e for e in reports(hub, "halves-and-quarters", "fast") if e["type"] == "completed"]
    )
    assert sent, "no completed report"
    assert sent[0]["fields"]["progress"] >= 0.9
    row = my_progress(page, hub, "halves-and-quarters")
    assert row["completed"] and row["status"] == "completed"


# --- a reading -------------------------------------------------------------------------------


def scroll_reading(page: Any, pixels: int) -> None:
    frame = page.locator("iframe.frame")
    frame.scroll_into_view_if_needed()
    box = frame.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + min(box["height"] / 2, 200))
    page.mouse.wheel(0, pixels)
    page.wait_for_timeout(1200)  # the reporter sends at most every 500 ms


def test_scrolling_a_reading_reports_how_far_it_was_read(
    signed_in: Callable[..., Any], hub: LiveServer
) -> None:
    page = signed_in("reading")
    page.goto(lesson_url(hub, "what-is-a-fraction"))
    page.frame_locator("iframe.frame").locator("h1").wait_for()
    page.wait_for_timeout(1000)
    leave(page, hub)
    first = eventually(lambda: reports(hub, "what-is-a-fraction", "reading"))
    assert first, "no report for a reading looked at without scrolling"
    unscrolled = first[-1]["fields"]["progress"]
    assert 0 < unscrolled < 0.9  # the top screen of a long reading

    page.goto(lesson_url(hub, "what-is-a-fraction"))
    page.frame_locator("iframe.frame").locator("h1").wait_for()
    scroll_reading(page, 20000)
    leave(page, hub)
    done = eventually(
        lambda: [
            e for e in reports(hub, "what-is-a-fraction", "reading") if e["type"] == "completed"
        ]
    )
    assert done, "scrolling to the end did not complete the reading"
    row = my_progress(page, hub, "what-is-a-fraction")
    assert row["progress"] > unscrolled and row["completed"]
    assert not page.errors, page.errors


# --- a PDF and a picture -----------------------------------------------------------------------


def test_pages_seen_in_the_pdf_reader_are_recorded(
    signed_in: Callable[..., Any], hub: LiveServer
) -> None:
    page = signed_in("pdf")
    page.goto(lesson_url(hub, "fractions-worksheet"))
    page.locator(".pdf-open").click()  # "Read it here"
    page.locator(".pdf-viewer canvas").first.wait_for(timeout=20000)
    page.wait_for_timeout(500)
    leave(page, hub)
    sent = eventually(lambda: reports(hub, "fractions-worksheet", "pdf"))
    assert sent, "no report from the PDF reader"
    fields = sent[-1]["fields"]
    assert fields["position"] >= 1  # the page number last seen
    assert 0 < fields["progress"] <= 1
    seen_one = fields["progress"]

    page.goto(lesson_url(hub, "fractions-worksheet"))
    page.locator(".pdf-open").click()
    page.locator(".pdf-viewer canvas").first.wait_for(timeout=20000)
    pages = page.locator(".pdf-page").count()
    for _ in range(pages - 1):
        page.get_by_role("button", name="Next page").click()
        page.wait_for_timeout(400)
    leave(page, hub)
    assert eventually(lambda: my_progress(page, hub, "fractions-worksheet")["completed"])
    last = reports(hub, "fractions-worksheet", "pdf")[-1]["fields"]
    assert last["position"] == pages and seen_one <= last["progress"]
    assert not page.errors, page.errors


def test_a_picture_counts_as_seen(signed_in: Callable[..., Any], hub: LiveServer) -> None:
    page = signed_in("picture")
    page.goto(lesson_url(hub, "fraction-wall"))
    sent = eventually(lambda: reports(hub, "fraction-wall", "picture"))
    assert sent and sent[0]["type"] == "completed"
    assert my_progress(page, hub, "fraction-wall")["status"] == "completed"


# --- nothing else runs -----------------------------------------------------------------------

LISTEN = """
window.__heard = [];
addEventListener('message', (e) => {
  const d = e.data || {};
  window.__heard.push(d.hostile ? 'hostile:' + d.hostile : String(d.type));
});
"""


def test_a_packs_own_scripts_never_run_but_the_reporter_does(
    signed_in: Callable[..., Any], hub: LiveServer
) -> None:
    page = signed_in("hostile")
    page.add_init_script(LISTEN)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(lesson_url(hub, "tall-page", HOSTILE))
    reading = page.frame_locator("iframe.frame")
    reading.locator("h1").wait_for()
    reading.locator("#js-link").click()
    scroll_reading(page, 1500)  # about half of the page
    heard = page.evaluate("window.__heard")
    assert "learnhub:scroll" in heard  # the hub's reporter ran inside the reading
    assert not [h for h in heard if h.startswith("hostile:")], heard
    assert any("Content Security Policy" in line for line in console), console
    frame = next(f for f in page.frames if "/files/" in f.url)
    assert frame.evaluate("() => window.origin") == "null"  # still an opaque origin
    leave(page, hub)
    sent = eventually(lambda: reports(hub, "tall-page", "hostile"))
    assert sent
    # Only the real scrolling counted: the page's own "fraction 1" message never ran.
    assert all(e["type"] == "progress" for e in sent)
    assert 0.2 < sent[-1]["fields"]["progress"] < 0.9


def test_the_reading_alone_on_its_page_runs_nothing_of_the_pack(
    signed_in: Callable[..., Any], hub: LiveServer
) -> None:
    page = signed_in("hostile")
    page.add_init_script(LISTEN)
    page.goto(f"{hub.url}/files/{HOSTILE}/tall/index.html")  # "Open the reading on its own page"
    page.locator("h1").wait_for()
    page.locator("#js-link").click()
    page.wait_for_timeout(800)
    heard = page.evaluate("window.__heard")
    assert not [h for h in heard if h.startswith("hostile:")], heard
    assert page.evaluate("() => window.origin") == "null"


# --- without JavaScript, and page weight -------------------------------------------------------


def test_without_javascript_the_view_still_counts(
    signed_in: Callable[..., Any], hub: LiveServer
) -> None:
    page = signed_in("nojs", javascript=False)
    page.goto(lesson_url(hub, "halves-and-quarters"))
    row = my_progress(page, hub, "halves-and-quarters")
    assert row["status"] == "in_progress" and row["progress"] == 0
    assert reports(hub, "halves-and-quarters", "nojs") == []


def test_a_learners_lesson_pages_stay_under_100_kb(
    signed_in: Callable[..., Any], hub: LiveServer
) -> None:
    page = signed_in("weight")
    request = page.context.request
    lessons = [
        (pack["id"], lesson["lesson_id"])
        for pack in request.get(hub.url + "/api/packs").json()["packs"]
        for lesson in request.get(f"{hub.url}/api/packs/{pack['id']}").json()["lessons"]
    ]
    heaviest = 0
    for pack_id, lesson_id in lessons:
        html = request.get(lesson_url(hub, lesson_id, pack_id)).body()
        assert b"data-track" in html and b"progress.js" in html
        linked = re.findall(rb'(?:href|src)="(/static/(?:css|js)/[^"]+)"', html)
        size = len(html) + sum(len(request.get(hub.url + url.decode()).body()) for url in linked)
        heaviest = max(heaviest, size)
        assert size < PAGE_BUDGET, (pack_id, lesson_id, size)
    assert heaviest > 10_000  # the pages really were measured
    page.goto(hub.url + "/")
    assert page.get_by_role("heading", name="Assigned to your class").is_visible()
    assert page.get_by_role("heading", name="Continue where you left off").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "learner-home-360")
