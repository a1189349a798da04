"""A learner's, a coach's and an operator's journeys in Chromium, on a 360x740 phone and a
1280x800 laptop, in English, Swahili and Arabic (#14): every page checked for tap targets,
text sizes and axe-core, no request leaving the hub, the lesson flow (done, next, resume),
and the bytes a page costs. Screenshots of the journeys are kept as test artifacts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hub.cli.common import prepare_data_dir
from hub.core.datadir import samples_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.learning.events import Progress
from hub.people.models import Assignment, ClassGroup, Learner, StaffUser
from hub.web.app import create_app
from tests.browser import PHONE, doc_shot
from tests.browser import shot as browser_shot
from tests.conftest import LiveServer
from tests.content_helpers import sample_manifest, write_pack_dir
from tests.epub_helpers import write_epub
from tests.journeys import Traffic, checked_page, more_packs
from tests.progress_helpers import prepare_hub
from tests.test_h5p import SHARED
from tests.zim_helpers import RAY

pytestmark = [pytest.mark.browser, pytest.mark.server]

LAPTOP = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE, "laptop": LAPTOP}
LANGUAGES = ("en", "sw", "ar")
PASSWORD = "journey-password"
FRACTIONS = "/lessons/fractions-en/"
LIBRARY_UP_TO = 100_000  # bytes: the library page with 20 packs, everything it loads
VIDEO_UP_TO = 60_000  # bytes: a video lesson before play is pressed
H5P = SHARED / "H5P.MultiChoice.h5p"
# The journeys' screens that docs/learner.md shows (docs/images/learner-SHOT-SIZE.png).
GUIDE_PICTURES = {
    ("library", "phone"),
    ("library", "laptop"),
    ("pack-progress", "phone"),
    ("lesson-done", "phone"),
    ("quiz", "phone"),
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("journeys")
    config = load_config(root / "data", {"load_samples": False}, environ={})
    app = create_app(prepare_data_dir(config))
    with connected():
        for name in ("Amina Juma", "Baraka Ali", "Chiku Tatu"):
            ClassGroup.named("4B", create=True).add_learner(Learner.add(name, pin="1234"))
        StaffUser.add("Coach Carol", "coach", PASSWORD)
        StaffUser.add("Olu Operator", "operator", PASSWORD)
        packs = [samples_dir(), *more_packs(root / "packs", 17)]
        for outcome in app.extensions["library"].import_paths(packs):
            assert outcome.error is None, outcome.error
    server = LiveServer(root / "data")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def kiwix_h5p_book_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A hub with a Kiwix ZIM, an H5P activity and an EPUB book, for their pages' checks."""
    root = tmp_path_factory.mktemp("journeys-more")
    book = write_epub(root / "book.epub")
    manifest = sample_manifest(id="more-kinds", title="More kinds", topics=[])
    manifest["lessons"] = [
        {"id": "activity", "title": "Choose", "kind": "h5p", "file": "activity.h5p"},
        {"id": "book", "title": "Sungura mjanja", "kind": "epub", "file": "book.epub"},
    ]
    files = {"activity.h5p": H5P.read_bytes(), "book.epub": book.read_bytes()}
    pack = write_pack_dir(root / "more-kinds", manifest, files)
    prepare_hub(root / "data", packs=[pack, RAY], samples=False)
    server = LiveServer(root / "data")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


class Visit:
    """One person's browser: a context of one size and language, its traffic watched."""

    def __init__(self, browser: Any, hub: LiveServer, size: str, language: str) -> None:
        self.hub, self.size, self.language = hub, size, language
        self.context = browser.new_context(
            viewport=SIZES[size], locale=language, bypass_csp=True, service_workers="block"
        )
        self.traffic = Traffic(self.context, hub.url)
        self.page = self.context.new_page()
        self.problems: list[str] = []

    def sign_in(self, body: dict[str, str]) -> None:
        response = self.context.request.post(self.hub.url + "/api/session", data=body)
        assert response.status == 201, response.text()

    def open(self, path: str, shot: str | None = None) -> Any:
        self.traffic.reset()
        response = self.page.goto(self.hub.url + path)
        assert response is not None and response.status == 200, path
        self.page.wait_for_load_state("load")
        self.problems += [f"{path}: {p}" for p in checked_page(self.page)]
        if shot and self.language == "en":
            browser_shot(self.page, f"journey-{shot}-{self.size}")
            if (shot, self.size) in GUIDE_PICTURES:
                doc_shot(self.page, f"learner-{shot}-{self.size}")
        return self.page

    def close(self) -> None:
        self.context.close()
        assert not self.traffic.leaving, self.traffic.leaving
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def visits(browser: Any, hub: LiveServer) -> Iterator[Any]:
    opened: list[Visit] = []

    def visit(size: str, language: str) -> Visit:
        opened.append(Visit(browser, hub, size, language))
        return opened[-1]

    yield visit
    for one in opened:
        one.close()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_a_learners_journey(visits: Any, size: str, language: str) -> None:
    visit = visits(size, language)
    visit.open("/", shot="library")
    visit.sign_in({"username": "amina-juma", "pin": "1234"})
    home = visit.open("/", shot="learner-home")
    assert "Amina" in home.locator("header").inner_text()
    visit.open("/packs/fractions-en", shot="pack")
    for lesson in ("what-is-a-fraction", "halves-and-quarters", "fraction-builder"):
        visit.open(FRACTIONS + lesson, shot=f"lesson-{lesson}")
    visit.open(FRACTIONS + "fractions-worksheet")
    visit.open(FRACTIONS + "fractions-quiz", shot="quiz")
    visit.open("/signout", shot="sign-out")


def test_a_reading_fills_the_screen_and_finishing_offers_the_next(visits: Any) -> None:
    visit = visits("phone", "en")
    visit.sign_in({"username": "baraka-ali", "pin": "1234"})
    page = visit.open(FRACTIONS + "what-is-a-fraction")
    frame = page.locator("iframe.frame")
    inner = page.frame_locator("iframe.frame").locator("body")
    assert inner.inner_text(timeout=5000)
    # Sized to its reading: the page scrolls, not a box inside it.
    page.wait_for_function(
        "() => { const f = document.querySelector('iframe.frame');"
        " return f.getBoundingClientRect().height > window.innerHeight; }"
    )
    assert frame.get_attribute("sandbox") == "allow-scripts allow-popups"
    page.mouse.wheel(0, 100_000)
    page.wait_for_timeout(300)
    page.mouse.wheel(0, 100_000)
    page.wait_for_function("() => document.querySelector('.done-note') || false", timeout=5000)
    done = visit.open(FRACTIONS + "what-is-a-fraction", shot="lesson-done")
    assert "Done ✓" in done.locator("main").inner_text()
    onward = done.locator("a.next-lesson")
    assert onward.count() == 1
    assert onward.get_attribute("href").endswith("/halves-and-quarters")
    # The last lesson of the library's last topic is no dead end either.
    last = visit.open(FRACTIONS + "fractions-quiz")
    assert last.locator(".pager a").count() >= 2


def test_finishing_goes_on_to_the_work_set_and_the_pack_page_fills_up(
    visits: Any, hub: LiveServer
) -> None:
    with connected():
        group = ClassGroup.named("5C", create=True)
        dalia = Learner.add("Dalia Musa", pin="1234")
        group.add_learner(dalia)
        for lesson in ("fractions-quiz", "equivalent-fractions"):  # newest first on her home
            Assignment.create(
                class_group=group, pack_id="fractions-en", lesson_id=lesson, assigned_by="carol"
            )
        Progress.create(
            learner=dalia,
            pack_id="fractions-en",
            lesson_id="fractions-quiz",
            completed=True,
            mastered=True,
            last_activity=1,
            last_hlc=1,
        )
    visit = visits("phone", "en")
    visit.sign_in({"username": "dalia-musa", "pin": "1234"})
    report = {"pack_id": "fractions-en", "lesson_id": "what-is-a-fraction", "type": "completed"}
    assert visit.context.request.post(hub.url + "/api/progress", data=report).status == 201
    done = visit.open(FRACTIONS + "what-is-a-fraction")
    # Not the topic's next lesson (halves-and-quarters): the one her class was set, not done.
    onward = done.locator("a.next-lesson").get_attribute("href")
    assert onward.endswith("/equivalent-fractions"), onward
    pack = visit.open("/packs/fractions-en", shot="pack-progress")
    bars = pack.locator("section.topic progress")
    assert [bars.nth(i).get_attribute("value") for i in range(3)] == ["1", "0", "1"]
    assert "★ Mastered" in pack.locator("section.topic").nth(2).inner_text()
    assert "✓ Done" in pack.locator("section.topic").nth(0).inner_text()
    # A visitor's page has none of it.
    visitor = visits("phone", "en")
    page = visitor.open("/packs/fractions-en")
    assert page.locator("progress").count() == 0 and "★" not in page.content()


def test_continue_resumes_where_the_learner_stopped(visits: Any, hub: LiveServer) -> None:
    visit = visits("phone", "en")
    visit.sign_in({"username": "chiku-tatu", "pin": "1234"})
    report = {"pack_id": "fractions-en", "lesson_id": "halves-and-quarters", "type": "progress"}
    response = visit.context.request.post(
        hub.url + "/api/progress", data={**report, "progress": 0.3, "position": 6.5}
    )
    assert response.status == 201
    home = visit.open("/")
    first = home.locator(".next-up a").first
    assert first.get_attribute("href").endswith("/halves-and-quarters")
    page = visit.open(FRACTIONS + "halves-and-quarters")
    video = page.locator("video")
    assert video.get_attribute("preload") == "none"
    assert visit.traffic.weight() < VIDEO_UP_TO, visit.traffic.weight()
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime >= 6.5")


def _reports_a_position(response: Any) -> bool:
    return (response.request.post_data_json or {}).get("position", 0) > 0


def test_a_reading_reopens_where_the_learner_was(visits: Any) -> None:
    visit = visits("phone", "en")
    visit.sign_in({"username": "chiku-tatu", "pin": "1234"})
    page = visit.open(FRACTIONS + "equivalent-fractions")
    page.wait_for_function("() => document.querySelector('iframe.frame').dataset.sized")
    # Half the reading scrolled past: the page reports that share as its position.
    # The answer, not the request: the reopened page must find the position recorded.
    with page.expect_response(_reports_a_position) as sent:
        page.evaluate(
            "() => { const f = document.querySelector('iframe.frame');"
            " window.scrollTo(0, f.offsetTop + f.offsetHeight / 2); }"
        )
        page.wait_for_function("() => window.scrollY > 0")
        page.evaluate("() => window.dispatchEvent(new Event('pagehide'))")
    assert sent.value.status == 201
    position = sent.value.request.post_data_json["position"]
    assert 0.4 < position < 0.6, position
    again = visit.open(FRACTIONS + "equivalent-fractions")
    again.wait_for_function("() => window.scrollY > 0")
    above = again.evaluate(
        "() => { const f = document.querySelector('iframe.frame').getBoundingClientRect();"
        " return -f.top / f.height; }"
    )
    assert abs(above - position) < 0.05, (above, position)


@pytest.mark.parametrize("language", ("en", "ar"))
@pytest.mark.parametrize("size", SIZES)
def test_kiwix_h5p_and_book_pages_have_the_same_care(
    browser: Any, kiwix_h5p_book_hub: LiveServer, size: str, language: str
) -> None:
    visit = Visit(browser, kiwix_h5p_book_hub, size, language)
    try:
        visit.open("/zims/wikipedia_en_ray_charles/read/A/Ray_Charles", shot="kiwix")
        visit.open("/lessons/more-kinds/activity", shot="h5p")
        visit.open("/lessons/more-kinds/book", shot="book")
    finally:
        visit.close()


# Where on screen the arrow and the title's first letter of a pager link are drawn.
_ARROW_AND_TITLE = """(link) => {
  const text = link.firstChild, at = (i) => {
    const range = document.createRange(); range.setStart(text, i); range.setEnd(text, i + 1);
    return range.getBoundingClientRect().left; };
  const arrow = text.data.search(/[←→]/), letter = text.data.search(/[A-Za-z]/);
  return { arrow: text.data[arrow], arrowX: at(arrow), titleX: at(letter) };
}"""


def test_arrows_point_the_reading_way_in_arabic(visits: Any) -> None:
    visit = visits("laptop", "ar")  # wide enough for both pager buttons on one line
    page = visit.open(FRACTIONS + "halves-and-quarters")
    assert page.evaluate("getComputedStyle(document.querySelector('.crumbs')).direction") == "rtl"
    onward = page.locator(".pager a[rel=next]").evaluate(_ARROW_AND_TITLE)
    back = page.locator(".pager a[rel=prev]").evaluate(_ARROW_AND_TITLE)
    # Arabic reads right to left: "next" points left, and its arrow is drawn after the title.
    assert onward["arrow"] == "←" and onward["arrowX"] < onward["titleX"], onward
    assert back["arrow"] == "→" and back["arrowX"] > back["titleX"], back
    next_box = page.locator(".pager a[rel=next]").bounding_box()
    prev_box = page.locator(".pager a[rel=prev]").bounding_box()
    assert next_box["x"] + next_box["width"] <= prev_box["x"], (next_box, prev_box)


def test_page_weights(visits: Any) -> None:
    visit = visits("phone", "en")
    visit.open("/")
    library = visit.traffic.weight()
    assert visit.page.locator(".packs > li").count() >= 20
    # Every pack has a picture: its own cover, or one drawn from its subject and title.
    assert visit.page.locator(".packs > li > .cover").count() == 20
    assert visit.page.locator(".packs > li > img.cover").count() == 1
    letter = visit.page.locator("li:has(a[href$='/extra-03']) svg.cover text").text_content()
    assert letter == "<"
    pictured = visit.open("/packs/extra-01")
    assert pictured.locator("img.cover").count() == 1 and pictured.locator("img.thumb").count() == 1
    visit.open(FRACTIONS + "halves-and-quarters")
    video = visit.traffic.weight()
    print(f"library page {library} bytes, video lesson {video} bytes")
    assert library < LIBRARY_UP_TO and video < VIDEO_UP_TO, (library, video)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_a_coachs_journey(visits: Any, size: str, language: str) -> None:
    visit = visits(size, language)
    visit.sign_in({"username": "coach-carol", "password": PASSWORD})
    index = visit.open("/coach/", shot="coach")
    index.locator("main a[href*='/coach/classes/']").first.click()
    path = index.url.removeprefix(visit.hub.url)
    grid = visit.open(path, shot="coach-class")
    if size == "laptop":  # the grid gets the laptop's width, not an 832 px column
        width = grid.evaluate("() => document.querySelector('main').clientWidth")
        assert width >= LAPTOP["width"] - 40, width
    visit.open(path + "/assign")
    visit.open(path + "/questions/fractions-en/fractions-quiz")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_an_operators_journey(visits: Any, size: str, language: str) -> None:
    visit = visits(size, language)
    visit.sign_in({"username": "olu-operator", "password": PASSWORD})
    admin = visit.open("/admin/", shot="admin")
    assert admin.locator("header a[href$='/coach/']").count() == 1  # the reports, from the menu
    for path in ("/admin/learners", "/admin/classes", "/admin/users", "/admin/import"):
        visit.open(path)
    visit.open("/admin/sync/", shot="sync")
    visit.open("/coach/")
