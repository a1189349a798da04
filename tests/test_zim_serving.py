"""ZIM files served by a real hub: library items, entries with their MIME type, strong ETags,
304, Range (206/416) from the ZIM file itself for uncompressed media, redirects as 302 like
kiwix-serve, missing entries as 404 pages; and in Chromium, a ZIM's script never runs with the
hub's origin, internal links work inside the frame, and a learner's visits count as viewed."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from content.zim import ZimReader
from hub.core.db import connected
from tests.conftest import LiveServer
from tests.progress_helpers import events_in, learner_ids, prepare_hub
from tests.waiting import eventually
from tests.zim_helpers import CORNER, GOOD, Entry, ZimSpec, default_entries, make_zim

pytestmark = [pytest.mark.server]

VIDEO_SIZE = 3 * 1024 * 1024 + 17
HOSTILE = b"""<!doctype html><html><head><title>Hostile page</title></head><body>
<h1>Hostile page</h1><p><a id="next" href="articles/first.html">First article</a></p>
<script>
var out = {origin: String(window.origin)};
try { out.cookie = "read: " + document.cookie; } catch (e) { out.cookie = "blocked: " + e.name; }
try { out.parent = "read: " + window.parent.document.title; }
catch (e) { out.parent = "blocked: " + e.name; }
try { localStorage.setItem("x", "1"); out.storage = "open"; }
catch (e) { out.storage = "blocked: " + e.name; }
function done() { document.body.setAttribute("data-result", JSON.stringify(out)); }
fetch("/api/progress/me", {credentials: "include"}).then(function (r) { return r.text(); })
  .then(function (t) { out.api = "read: " + t; done(); },
        function (e) { out.api = "blocked: " + e.name; done(); });
</script></body></html>"""


def _spec(tmp: Path) -> ZimSpec:
    video = tmp / "video.bin"
    video.write_bytes(os.urandom(VIDEO_SIZE))
    entries = {
        **default_entries(),
        "hostile.html": Entry("text/html", HOSTILE, "Hostile page"),
        "media/clip.mp4": Entry("video/mp4", video, "Clip", compress=False, front=False),
        "notes.txt": Entry("text/plain", b"plain notes " * 100, "Notes", front=False),
    }
    return ZimSpec(entries=entries, redirects={"old-home.html": "index.html"})


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("zim-serving")
    made = make_zim(root / "made" / "test.zim", _spec(root))
    data = root / "data"
    prepare_hub(data, learners=["Zim Reader"], packs=[*GOOD, made], samples=False)
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def get(hub: LiveServer, path: str, headers: dict[str, str] | None = None) -> Answer:
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(hub.url + path, headers=headers or {})
    try:
        with opener.open(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as err:
        with err:
            return Answer(err.code, err.headers, err.read())


def test_every_zim_is_a_library_item(hub: LiveServer) -> None:
    home = get(hub, "/").body.decode()
    for name in ("wikipedia_en_ray_charles", "corner-cases-en", "test_zim_en"):
        assert f'href="/zims/{name}"' in home
    assert "Wikipedia articles about Ray Charles" in home
    assert 'src="/zims/wikipedia_en_ray_charles/illustration.png"' in home
    icon = get(hub, "/zims/wikipedia_en_ray_charles/illustration.png")
    assert icon.status == 200 and icon.body.startswith(b"\x89PNG")


def test_a_zim_page_shows_its_main_page_in_a_sandboxed_frame(hub: LiveServer) -> None:
    page = get(hub, "/zims/wikipedia_en_ray_charles")
    text = page.body.decode()
    assert page.status == 200
    assert '<iframe class="frame zim-frame" sandbox="allow-scripts allow-popups"' in text
    assert 'src="/zim/wikipedia_en_ray_charles/A/index"' in text
    assert "allow-same-origin" not in text
    assert 'href="/zims/wikipedia_en_ray_charles/random"' in text
    assert "Licence" in text and "Wikipedia" in text
    assert get(hub, "/zims/no-such-zim").status == 404


def test_random_article_goes_to_an_article(hub: LiveServer) -> None:
    answer = get(hub, "/zims/wikipedia_en_ray_charles/random")
    assert answer.status == 302
    target = answer.headers["Location"]
    assert "/zims/wikipedia_en_ray_charles/read/A/" in target
    path = urllib.parse.urlsplit(target).path
    assert get(hub, path).status == 200


def test_entries_carry_their_type_a_strong_etag_and_the_sandbox(hub: LiveServer) -> None:
    page = get(hub, "/zim/wikipedia_en_ray_charles/A/index")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox allow-scripts allow-popups;")
    assert "allow-same-origin" not in policy and "connect-src 'none'" in policy
    etag = page.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert b"/static/js/zim-reporter.js" in page.body
    again = get(hub, "/zim/wikipedia_en_ray_charles/A/index", {"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    css = get(hub, "/zim/test_zim_en/style.css")
    assert css.headers["Content-Type"].startswith("text/css") and css.body == b"h1 { color: #333 }"
    assert "Content-Security-Policy" not in css.headers or "sandbox" not in css.headers.get(
        "Content-Security-Policy", ""
    )


def test_odd_names_are_served(hub: LiveServer) -> None:
    with ZimReader(CORNER) as reader:
        entry = reader.entry("c#.html")
        assert entry is not None
        expected = reader.read(entry)
    answer = get(hub, "/zim/corner-cases-en/c%23.html")
    assert answer.status == 200 and answer.body.startswith(expected)


def test_a_video_seeks_from_the_zim_file(hub: LiveServer) -> None:
    url = "/zim/test_zim_en/media/clip.mp4"
    whole = get(hub, url)
    assert whole.status == 200 and len(whole.body) == VIDEO_SIZE
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Type"] == "video/mp4"
    part = get(hub, url, {"Range": "bytes=1000000-1000099"})
    assert part.status == 206 and part.body == whole.body[1000000:1000100]
    assert part.headers["Content-Range"] == f"bytes 1000000-1000099/{VIDEO_SIZE}"
    tail = get(hub, url, {"Range": "bytes=-10"})
    assert tail.status == 206 and tail.body == whole.body[-10:]
    beyond = get(hub, url, {"Range": f"bytes={VIDEO_SIZE}-"})
    assert beyond.status == 416
    stale = get(hub, url, {"Range": "bytes=0-9", "If-Range": '"not-this-one"'})
    assert stale.status == 200 and len(stale.body) == VIDEO_SIZE
    assert get(hub, url, {"If-None-Match": whole.headers["ETag"]}).status == 304


def test_a_compressed_entry_serves_ranges_too(hub: LiveServer) -> None:
    whole = get(hub, "/zim/test_zim_en/notes.txt", {"Accept-Encoding": "identity"})
    assert whole.status == 200 and whole.body == b"plain notes " * 100
    part = get(hub, "/zim/test_zim_en/notes.txt", {"Range": "bytes=6-10"})
    assert part.status == 206 and part.body == b"notes"


def test_redirects_answer_302_to_the_target(hub: LiveServer) -> None:
    raw = get(hub, "/zim/test_zim_en/old-home.html")
    assert raw.status == 302 and raw.headers["Location"].endswith("/zim/test_zim_en/index.html")
    page = get(hub, "/zims/test_zim_en/read/old-home.html")
    assert page.status == 302
    assert page.headers["Location"].endswith("/zims/test_zim_en/read/index.html")
    # The Belarusian Wikibooks' main page is itself a redirect.
    main = get(hub, "/zims/kiwix.wikibooks_be_all").body.decode()
    assert 'src="/zim/kiwix.wikibooks_be_all/%D0%9F' in main


def test_a_missing_entry_is_a_404_page(hub: LiveServer) -> None:
    for url in ("/zim/test_zim_en/no/such.html", "/zims/test_zim_en/read/no-such.html"):
        answer = get(hub, url)
        assert answer.status == 404 and answer.headers["Content-Type"].startswith("text/html")
        assert b"This article is not in the library." in answer.body
    assert get(hub, "/zim/no-such-zim/index.html").status == 404


def test_a_replaced_file_is_served_at_once(hub: LiveServer, tmp_path: Path) -> None:
    """The CLI replaces a ZIM beside the running server: the next request reads the new file."""
    from hub.cli.common import config_for
    from hub.library.packs import Library

    entries = default_entries()
    entries["index.html"] = Entry("text/html", b"<p>poor, second edition</p>", "Home")
    newer = make_zim(tmp_path / "poor.zim", ZimSpec(name="", date="2030-01-01", entries=entries))
    # No Name: it replaces the ZIM named after the same file name.
    newer = newer.rename(tmp_path / "poor-metadata-en.zim")
    with connected():
        (outcome,) = Library(config_for(hub.data_dir)).import_paths([newer])
    assert outcome.zim is not None and outcome.zim.action == "upgraded", outcome.error
    answer = get(hub, "/zim/poor-metadata-en/index.html")
    assert answer.body.startswith(b"<p>poor, second edition</p>")


# -- in Chromium -------------------------------------------------------------------------------


@pytest.fixture
def learner_page(browser: Any, hub: LiveServer) -> Iterator[Any]:
    context = browser.new_context()
    response = context.request.post(
        hub.url + "/api/session",
        data=json.dumps({"username": "zim-reader", "pin": "1234"}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201, response.text()
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.browser
def test_a_zims_script_never_runs_with_the_hubs_origin(learner_page: Any, hub: LiveServer):
    page = learner_page
    page.goto(hub.url + "/zims/test_zim_en/read/hostile.html")
    frame = page.frame_locator("iframe.zim-frame")
    result = frame.locator("body[data-result]")
    result.wait_for(timeout=10_000)
    seen = json.loads(result.get_attribute("data-result"))
    assert seen["origin"] == "null"  # an opaque origin, not the hub's
    assert seen["cookie"].startswith("blocked")
    assert seen["parent"].startswith("blocked")
    assert seen["storage"].startswith("blocked")
    assert seen["api"].startswith("blocked")
    # The same page opened on its own is still sandboxed by its header.
    alone = page.context.new_page()
    alone.goto(hub.url + "/zim/test_zim_en/hostile.html")
    alone.locator("body[data-result]").wait_for(timeout=10_000)
    seen = json.loads(alone.locator("body").get_attribute("data-result"))
    assert seen["origin"] == "null" and seen["api"].startswith("blocked")


@pytest.mark.browser
def test_internal_links_work_in_the_frame_and_visits_count(learner_page: Any, hub: LiveServer):
    page = learner_page
    page.goto(hub.url + "/zims/test_zim_en")
    frame = page.frame_locator("iframe.zim-frame")
    frame.locator("a", has_text="First article").click()
    frame.locator("h1", has_text="First article").wait_for(timeout=10_000)
    # Not eventually(page.url): reading page.url never lets playwright take the browser's
    # events in, so the address the page replaced would only be seen after the wait.
    page.wait_for_url("**/zims/test_zim_en/read/articles/first.html", timeout=10_000)
    assert page.locator("h1.zim-title").inner_text() == "First"
    learner = learner_ids(hub.data_dir / "learnhub.db")["zim-reader"]

    def viewed() -> set[str]:
        return {
            e["lesson_id"]
            for e in events_in(hub.data_dir / "learnhub.db")
            if e["learner_id"] == learner and e["pack_id"] == "zim:test_zim_en"
        }

    assert eventually(lambda: {"index.html", "articles/first.html"} <= viewed())
    status = page.context.request.get(hub.url + "/api/progress/me").json()
    mine = {(row["pack_id"], row["lesson_id"]) for row in status["progress"]}
    assert ("zim:test_zim_en", "articles/first.html") in mine
