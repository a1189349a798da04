"""Search as an operator and a student meet it: the `learnhub` commands and a real hub
(waitress on 127.0.0.1 with the sample library), in headless Chromium too.

These need search wired into hub/web/app.py and hub/cli/common.py (docs/search.md).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.main import main
from hub.search.index import SearchIndex
from tests.browser import PHONE, shot
from tests.conftest import LiveServer
from tests.content_helpers import write_pack_dir
from tests.test_search import science_en


def lessons_in_index(data: Path) -> int:
    index = SearchIndex(data / "search")
    assert index.open()
    try:
        with index.snapshot() as snap:
            return snap.lessons
    finally:
        index.close()


def test_content_commands_keep_the_index_and_search_rebuild(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    manifest, files = science_en()
    folder = write_pack_dir(tmp_path / "pack", manifest, files)
    result = runner.invoke(main, ["content", "import", str(folder), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert lessons_in_index(data) == 8
    result = runner.invoke(main, ["search", "rebuild", "--data", str(data)])
    assert result.exit_code == 0 and "rebuilt: 8 lessons" in result.output
    result = runner.invoke(main, ["content", "remove", "science-en", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert lessons_in_index(data) == 0
    assert "search" in runner.invoke(main, ["--help"]).output


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("search-live") / "data")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def get_json(server: LiveServer, path: str, **params: str) -> dict:
    url = f"{server.url}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.server
def test_a_real_hub_searches_its_sample_library(hub_server: LiveServer) -> None:
    for query in ("fraction", "kunawa", "eau", "evaporation"):
        assert get_json(hub_server, "/api/search", q=query)["total"] > 0, query
    typo = get_json(hub_server, "/api/search", q="fractoin")
    assert typo["total"] > 0 and typo["suggestion"] == "fraction"
    assert get_json(hub_server, "/api/search/suggest", q="kunawa")["suggestions"]


@pytest.mark.browser
@pytest.mark.server
def test_search_page_on_a_phone(browser, hub_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    failures: list[str] = []
    page.on("console", lambda m: m.type == "error" and failures.append(m.text))
    page.goto(hub_server.url + "/search?q=fraction")
    assert page.locator("ol.hits li").count() > 0
    assert page.locator("ol.hits mark").count() > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "search-360")
    page.fill("#search-q", "kunaw")  # the script fills the datalist as the student types
    page.locator("#search-suggestions option").first.wait_for(state="attached", timeout=5000)
    page.locator("ol.hits li a").first.click()
    page.wait_for_load_state()
    assert "/lessons/" in page.url
    assert not failures, failures  # no CSP violation, no script error
    context.close()


@pytest.mark.browser
@pytest.mark.server
def test_search_page_works_without_javascript(browser, hub_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(hub_server.url + "/search")
    page.fill("#search-q", "eau")
    page.locator("form.search-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("ol.hits li").count() > 0
    page.locator(".facet a").first.click()  # a facet is a plain link
    page.wait_for_load_state()
    assert page.locator('.facet a[aria-current="true"]').count() == 1
    context.close()
