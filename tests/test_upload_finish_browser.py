"""uploads.js finishing uploads whose last piece went wrong, in a real headless Chromium on a
360 px phone against `learnhub serve`: an import whose last piece finds the hub busy waits,
saying so, and finishes by itself once the hub is free, never sending the file again; a draft
upload whose last answer is lost (the connection drops after the hub has it) is found done."""

from __future__ import annotations

import fcntl
import json
import os
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

from tests.browser import fits_phone
from tests.conftest import LiveServer
from tests.test_authoring_browser import PASSWORD, make_pack, signed_in_page
from tests.test_authoring_live import Hub
from tests.test_job_page_browser import server as _server
from tests.test_jobs_live import finished, pack_zip, upload_import

pytestmark = [pytest.mark.browser, pytest.mark.server]
server = _server  # a real hub, one job at a time (tests/test_job_page_browser.py)


def staff(server: LiveServer) -> Hub:
    """A second signed-in operator, on a laptop of their own."""
    jar = CookieJar()
    hub = Hub(server, urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar)
    body = json.dumps({"username": "olive", "password": PASSWORD}).encode()
    with hub.open("/api/session", body, **{"Content-Type": "application/json"}):
        pass
    return hub


def last_pieces(sent: list[Any], size: int) -> list[Any]:
    """The PUTs of a file's last piece among the requests the page sent."""
    tail = f"-{size - 1}/{size}"
    return [r for r in sent if r.method == "PUT" and r.headers["content-range"].endswith(tail)]


def is_last_piece(route: Any, size: int) -> bool:
    return route.request.headers.get("content-range", "").endswith(f"-{size - 1}/{size}")


def test_an_import_busy_at_its_last_piece_finishes_by_itself(
    browser: Any, server: LiveServer, tmp_path: Path
) -> None:
    films = pack_zip(tmp_path / "river-films.zip", "river-films", 1, 6 * 1024 * 1024)
    size = films.stat().st_size
    other = staff(server)
    page = signed_in_page(browser, server, True)
    sent: list[Any] = []
    page.on("request", lambda request: sent.append(request))
    state: dict[str, Any] = {}
    lock = open(server.data_dir / "library.lock", "a")  # noqa: SIM115 (held across handlers)

    def busy_before_the_last_piece(route: Any) -> None:
        if is_last_piece(route, size) and not state:
            # Another operator's import starts and waits on the library: the hub is busy.
            fcntl.flock(lock, fcntl.LOCK_EX)
            small = pack_zip(tmp_path / "small.zip", "small", 1, 100)
            state["blocker"] = upload_import(other, small)["job"]
        route.continue_()

    try:
        page.route("**/import/uploads/*", busy_before_the_last_piece)
        page.set_input_files("#import-file", str(films))
        page.click("text=Upload and import")
        page.wait_for_selector(".upload-progress >> text=All of river-films.zip has arrived")
        assert fits_phone(page) and "/admin/own-packs/" in page.url
        fcntl.flock(lock, fcntl.LOCK_UN)
    finally:
        lock.close()
    page.wait_for_url("**/admin/jobs/*", timeout=60000)
    page.wait_for_selector("#job[data-finished=yes] >> text=Imported river-films 1.")
    assert finished(other, state["blocker"])["state"] == "done"
    assert len(last_pieces(sent, size)) == 1  # the file was not sent again
    page.context.close()


def test_a_last_answer_lost_is_found_done(browser: Any, server: LiveServer, tmp_path: Path) -> None:
    page = signed_in_page(browser, server, True)
    sent: list[Any] = []
    page.on("request", lambda request: sent.append(request))
    make_pack(page, "Lost answers")
    video = tmp_path / "01 - Nets.mp4"
    video.write_bytes(os.urandom(5 * 1024 * 1024))  # two pieces
    size = video.stat().st_size

    def answer_lost(route: Any) -> None:
        if is_last_piece(route, size):
            route.fetch()  # the hub gets the whole piece and finishes the upload...
            route.abort("connectionreset")  # ...and the phone never hears back
            return
        route.continue_()

    page.route("**/uploads/*", answer_lost)
    page.set_input_files("#upload-files", str(video))
    page.click("form[data-upload-start] button[type=submit]")
    page.wait_for_selector("input[name=title][value='Nets']", timeout=30000)
    assert page.locator("[role=alert]").count() == 0
    assert len(last_pieces(sent, size)) == 1
    draft_files = sorted((server.data_dir / "drafts").glob("*/files/01 - Nets.mp4"))
    assert [path.read_bytes() for path in draft_files] == [video.read_bytes()]
    assert fits_phone(page)
    page.context.close()
