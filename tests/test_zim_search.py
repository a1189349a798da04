"""One search over lessons and ZIM articles, through a real hub: ZIM hits in the same ranked
list with kind "zim" and the hub's address of the article, a facet by source, the language
filter for both, title search for ZIMs without a full-text index, suggestions from both, a
ZIM import or removal seen by the next search, and hostile queries that never answer 500."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.search import merge
from tests.conftest import LiveServer
from tests.progress_helpers import prepare_hub
from tests.waiting import eventually
from tests.zim_helpers import GOOD, RAY, Entry, ZimSpec, make_zim

pytestmark = [pytest.mark.server]

RAY_KEY = "zim:wikipedia_en_ray_charles"


def _titled_only() -> ZimSpec:
    """A ZIM without a full-text index (make_zim writes none): searched by its titles."""
    page = b"<!doctype html><html><head><title>%s</title></head><body><p>%s</p></body></html>"
    entries = {
        "index.html": Entry("text/html", page % (b"Home", b"Home"), "Home"),
        "baobab.html": Entry("text/html", page % (b"Baobab", b"A tree of Africa."), "Baobab tree"),
    }
    return ZimSpec(name="trees_sw", title="Miti", language="swa", entries=entries)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("zim-search")
    titled = make_zim(root / "made" / "trees.zim", _titled_only())
    data = root / "data"
    prepare_hub(data, packs=[*GOOD, titled], samples=True)
    # The first ZIM hit of a page is quoted (off by default: it costs a cluster's reading).
    server = LiveServer(data, {"LEARNHUB_SEARCH_ZIM_SNIPPETS": "1"})
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def _get(server: LiveServer, path: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(server.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _search(server: LiveServer, reader: str = "en", **params: Any) -> dict[str, Any]:
    query = urllib.parse.urlencode(params, doseq=True)
    status, body = _get(server, "/api/search?" + query, **{"Accept-Language": reader})
    assert status == 200, body
    return json.loads(body)


def _sources(answer: dict[str, Any]) -> dict[str, int]:
    return {v["value"]: v["count"] for v in answer["facets"]["source"]}


def test_zim_articles_come_in_the_same_list_and_open_on_the_hub(hub: LiveServer) -> None:
    answer = _search(hub, q="ray charles")
    zims = [hit for hit in answer["results"] if hit["kind"] == "zim"]
    assert zims, answer
    first = zims[0]
    assert first["pack_id"] == RAY_KEY and first["zim"] == "wikipedia_en_ray_charles"
    assert first["url"].startswith("/zims/wikipedia_en_ray_charles/read/")
    assert first["title"] and "<mark>" in first["snippet"]
    assert [hit["snippet"] for hit in zims[1:]] == [""] * (len(zims) - 1)  # one quoted
    status, page = _get(hub, first["url"])
    assert status == 200 and first["title"].encode() in page
    assert _sources(answer)[RAY_KEY] == answer["total"]


def test_lessons_and_zim_articles_interleave_by_rank(hub: LiveServer) -> None:
    # "number" is in lessons of the sample library and in the Ray Charles articles.
    answer = _search(hub, q="number")
    kinds = [hit["kind"] == "zim" for hit in answer["results"]]
    sources = _sources(answer)
    assert sources.get(merge.LESSONS) and sources.get(RAY_KEY), sources
    assert kinds[:2] in ([False, True], [True, False]), kinds  # each source's best first
    assert answer["total"] == sum(sources.values())


def test_the_source_filter_keeps_one_source_and_still_counts_the_others(hub: LiveServer) -> None:
    only_zim = _search(hub, q="number", source=RAY_KEY)
    assert only_zim["results"] and all(h["kind"] == "zim" for h in only_zim["results"])
    counted = {v["value"]: v for v in only_zim["facets"]["source"]}
    assert counted[RAY_KEY]["selected"] and counted[merge.LESSONS]["count"] > 0
    only_lessons = _search(hub, q="number", source="lessons")
    assert only_lessons["results"] and all(h["kind"] != "zim" for h in only_lessons["results"])


def test_the_language_filter_works_for_both(hub: LiveServer) -> None:
    # "piano" is in the Ray Charles articles and in the Belarusian Wikibooks.
    both = _search(hub, reader="be, en", q="piano")["results"]
    assert {h["language"] for h in both} == {"en", "be"}
    belarusian = _search(hub, q="piano", lang="be")
    assert belarusian["results"] and {h["language"] for h in belarusian["results"]} == {"be"}
    english = _search(hub, q="number", lang="en")
    assert {h["language"] for h in english["results"]} == {"en"}
    assert {h["kind"] == "zim" for h in english["results"]} == {True, False}
    languages = {v["value"]: v for v in belarusian["facets"]["language"]}
    assert languages["be"]["selected"] and languages["en"]["count"] > 0  # still offered


def test_a_zim_in_the_reader_language_comes_first(hub: LiveServer) -> None:
    # Fewer matches (3 against 13), but in the reader's language: first, then interleaved.
    belarusian = _search(hub, reader="be", q="piano")["results"]
    assert [h["language"] for h in belarusian[:2]] == ["be", "en"]
    # For an English reader, the Belarusian articles weigh 1/1.5: after the English ones.
    english = _search(hub, reader="en", q="piano")["results"]
    assert [h["language"] for h in english] == ["en"] * len(english)


def test_a_zim_without_a_full_text_index_is_searched_by_title(hub: LiveServer) -> None:
    answer = _search(hub, q="baobab")
    assert [h["title"] for h in answer["results"]] == ["Baobab tree"]
    assert answer["results"][0]["url"] == "/zims/trees_sw/read/baobab.html"


def test_pages_of_the_merged_list_do_not_repeat_hits(hub: LiveServer) -> None:
    first, second = _search(hub, q="charles"), _search(hub, q="charles", page=2)
    urls = [h["url"] for h in first["results"] + second["results"]]
    assert len(urls) == 20 and len(set(urls)) == 20


def test_suggestions_come_from_lessons_and_zims(hub: LiveServer) -> None:
    status, body = _get(hub, "/api/search/suggest?q=ra")
    found = json.loads(body)["suggestions"]
    assert status == 200
    assert any(s.get("kind") == "zim" and s["url"].startswith("/zims/") for s in found), found
    status, body = _get(hub, "/api/search/suggest?q=fra")
    assert any(s["url"].startswith("/lessons/") for s in json.loads(body)["suggestions"])


def test_the_results_page_lists_zim_articles_and_the_source_facet(hub: LiveServer) -> None:
    status, page = _get(hub, "/search?q=number", Accept="text/html")
    assert status == 200
    assert b"/zims/wikipedia_en_ray_charles/read/" in page
    assert b"source=zim%3Awikipedia_en_ray_charles" in page


HOSTILE = [
    "",
    " ",
    "\x00\x01\x1b[31m\x7f",
    "ray AND OR NOT charles",
    'title:ray "charles NEAR/3 piano" +soul -blues (ray* OR ~charles',
    "ray XOR charles ADJ/2 piano AND NOT",
    "*",
    '"""',
    "\u202eray\u200f\u200b charles\ufeff",
    "e\u0301\u0301\u0301\u0301 \U0001f600\U0001f4a9 \u0000",
    "ܐܒܓ 漢字 ñ İ ß ﬁ",
    "a" * 499,
    "ray " * 124,
    "x" * 10_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_answer_500(hub: LiveServer, text: str) -> None:
    query = urllib.parse.quote(text)
    for path in (f"/api/search?q={query}", f"/search?q={query}", f"/api/search/suggest?q={query}"):
        status, body = _get(hub, path)
        assert status in (200, 400), (path[:80], status, body[:200])
        if path.startswith("/api/"):
            json.loads(body)


def test_undecodable_bytes_never_answer_500(hub: LiveServer) -> None:
    for raw in ("%ED%A0%80", "%FF%FE", "%C0%AF", "ray%00charles"):
        for path in (f"/api/search?q={raw}", f"/search?q={raw}", f"/api/search/suggest?q={raw}"):
            status, _ = _get(hub, path)
            assert status in (200, 400), (path, status)


def test_a_zim_import_and_removal_reach_the_next_search(tmp_path: Path) -> None:
    data = tmp_path / "data"
    prepare_hub(data, samples=False)
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        assert _search(server, q="ray charles")["total"] == 0
        # Another process's change is seen within a couple of seconds (docs/search.md).
        _cli(data, "content", "import", str(RAY))
        eventually(lambda: _search(server, q="ray charles")["total"] > 0, timeout=5)
        _cli(data, "content", "remove", "wikipedia_en_ray_charles")
        eventually(lambda: _search(server, q="ray charles")["total"] == 0, timeout=5)
    finally:
        server.stop()


def _cli(data: Path, *args: str) -> None:
    """The CLI in its own process, as an operator runs it beside the server."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "learnhub"), *args, "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
