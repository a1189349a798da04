"""The OPDS catalog the Kiwix apps read (/catalog/v2), from a real hub: every feed parsed by a
real XML parser and checked against what libkiwix's own tests (test/library_server.cpp) expect
for the same fields of the same file (ray-charles-wikipedia-en.zim is libkiwix's zimfile.zim);
kiwix-serve's filters and paging; hostile queries answered 400 or clamped, never 500; a ZIM
whose metadata holds markup and control characters; and the whole .zim file downloaded with
Range, resumed by the hub's own downloader through the real server."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.core.bounded_http import Bounds, Exchange
from hub.core.download import Target, download
from tests.conftest import LiveServer
from tests.progress_helpers import prepare_hub
from tests.zim_helpers import GOOD, PNG_1X1, RAY, ZimSpec, make_zim

pytestmark = [pytest.mark.server]

NS = {
    "a": "http://www.w3.org/2005/Atom",
    "dc": "http://purl.org/dc/terms/",
    "thr": "http://purl.org/syndication/thread/1.0",
    "os": "http://a9.com/-/spec/opensearch/1.1/",
}
RAY_UUID = "6f1d19d0-633f-087b-fb55-7ac324ff9baf"
HOSTILE_TITLE = 'Les <b>&amp; "élèves"</b>'


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("zim-catalog")
    hostile = ZimSpec(
        name="hostile_fr",
        title=HOSTILE_TITLE,
        language="fra",
        description="Bad \x01\x07 chars & <tags> ]]>",
        tags="_category:école;physique;_pictures:no",
    )
    made = make_zim(root / "made" / "hostile.zim", hostile)
    data = root / "data"
    prepare_hub(data, packs=[*GOOD, made], samples=False)
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def xml(self) -> ET.Element:
        assert self.status == 200, self.body[:300]
        return ET.fromstring(self.body)


def get(hub: LiveServer, path: str, headers: dict[str, str] | None = None) -> Answer:
    request = urllib.request.Request(hub.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as err:
        with err:
            return Answer(err.code, err.headers, err.read())


def entries_of(feed: ET.Element) -> list[ET.Element]:
    return feed.findall("a:entry", NS)


def names(feed: ET.Element) -> list[str]:
    return [e.findtext("a:name", namespaces=NS) or "" for e in entries_of(feed)]


def links(element: ET.Element) -> dict[str, ET.Element]:
    return {
        link.get("rel") or link.get("type") or "": link for link in element.findall("a:link", NS)
    }


def test_the_root_lists_what_kiwix_serve_lists(hub: LiveServer) -> None:
    answer = get(hub, "/catalog/v2/root.xml")
    assert answer.headers["Content-Type"] == (
        "application/atom+xml;profile=opds-catalog;kind=navigation;charset=utf-8"
    )
    feed = answer.xml()
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert feed.findtext("a:title", namespaces=NS) == "OPDS Catalog Root"
    top = links(feed)
    assert top["self"].get("href") == "/catalog/v2/root.xml"
    assert top["search"].get("href") == "/catalog/v2/searchdescription.xml"
    assert top["search"].get("type") == "application/opensearchdescription+xml"
    sections = {
        e.findtext("a:title", namespaces=NS): e.find("a:link", NS).get("href")  # type: ignore[union-attr]
        for e in entries_of(feed)
    }
    assert sections == {
        "All entries": "/catalog/v2/entries",
        "All entries (partial)": "/catalog/v2/partial_entries",
        "List of categories": "/catalog/v2/categories",
        "List of languages": "/catalog/v2/languages",
    }
    ids = [e.findtext("a:id", namespaces=NS) for e in entries_of(feed)]
    assert len(set(ids)) == 4  # each section its own stable id
    assert get(hub, "/catalog/v2/root.xml").xml().findtext("a:id", namespaces=NS) == (
        feed.findtext("a:id", namespaces=NS)
    )


def test_an_entry_has_the_fields_libkiwix_expects(hub: LiveServer) -> None:
    feed = get(hub, "/catalog/v2/entries?name=wikipedia_en_ray_charles").xml()
    [entry] = entries_of(feed)
    text = {child.tag.split("}")[1]: (child.text or "") for child in entry if len(child) == 0}
    # The values libkiwix's library_server test expects for this file's book.
    assert text["id"] == f"urn:uuid:{RAY_UUID}"
    assert text["title"] == "Ray Charles"
    assert text["summary"].startswith("Wikipedia articles about Ray Charles")
    assert text["language"] == "eng"
    assert text["name"] == "wikipedia_en_ray_charles"
    assert text["flavour"] == "_mini"  # the file's own (libkiwix's library.xml leaves it out)
    assert text["category"] == "wikipedia"
    assert (
        text["tags"]
        == "wikipedia;_category:wikipedia;_pictures:no;_videos:no;_details:no;_ftindex:yes"
    )
    assert text["issued"] == "2020-03-31T00:00:00Z" and text["updated"] == text["issued"]
    assert text["articleCount"] == "129" and text["mediaCount"] == "45"  # this file's own counts
    assert entry.findtext("a:author/a:name", namespaces=NS) == "Wikipedia"
    assert entry.findtext("a:publisher/a:name", namespaces=NS) == "Kiwix"
    found = links(entry)
    icon = found["http://opds-spec.org/image/thumbnail"]
    assert icon.get("href") == f"/catalog/v2/illustration/{RAY_UUID}/?size=48"
    assert icon.get("type") == "image/png;width=48;height=48;scale=1"
    assert found["text/html"].get("href") == "/zims/wikipedia_en_ray_charles"
    acquire = found["http://opds-spec.org/acquisition/open-access"]
    assert acquire.get("type") == "application/x-zim"
    assert acquire.get("length") == str(RAY.stat().st_size)  # exact bytes (kiwix rounds to KiB)
    href = acquire.get("href") or ""
    assert href.startswith(hub.url + "/zims/wikipedia_en_ray_charles/download/")
    assert href.endswith(".zim")
    whole = get(hub, urllib.parse.urlsplit(href).path)
    assert whole.status == 200 and whole.body == RAY.read_bytes()


def test_all_entries_and_the_range_filters(hub: LiveServer) -> None:
    every = get(hub, "/catalog/v2/entries?count=-1").xml()
    assert len(entries_of(every)) == 6 and every.findtext("a:totalResults", namespaces=NS) == "6"
    plain = get(hub, "/catalog/v2/entries")
    assert plain.headers["Content-Type"].startswith(
        "application/atom+xml;profile=opds-catalog;kind=acquisition"
    )
    feed = plain.xml()
    assert feed.findtext("a:title", namespaces=NS) == "All Entries"
    assert feed.find("a:totalResults", NS) is None  # as kiwix-serve: only for a filtered feed
    assert len(entries_of(feed)) == 6
    page = get(hub, "/catalog/v2/entries?start=1&count=1").xml()
    assert page.findtext("a:title", namespaces=NS) == "Filtered Entries (start=1&count=1)"
    assert links(page)["self"].get("href") == "/catalog/v2/entries?start=1&count=1"
    assert [
        page.findtext(f"a:{k}", namespaces=NS)
        for k in ("totalResults", "startIndex", "itemsPerPage")
    ] == ["6", "1", "1"]
    assert names(page) == [names(every)[1]]
    assert entries_of(get(hub, "/catalog/v2/entries?count=0").xml()) == []
    past = get(hub, "/catalog/v2/entries?start=999999999").xml()
    assert entries_of(past) == [] and past.findtext("a:totalResults", namespaces=NS) == "6"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lang=eng", ["wikipedia_en_ray_charles"]),
        ("lang=eng,bel", ["kiwix.wikibooks_be_all", "wikipedia_en_ray_charles"]),
        ("lang=FRA", ["hostile_fr"]),
        ("category=wikipedia", ["wikipedia_en_ray_charles"]),
        ("category=%C3%A9cole", ["hostile_fr"]),
        ("category=ecole,wikipedia", ["hostile_fr", "wikipedia_en_ray_charles"]),
        ("lang=fra&category=wikipedia", []),
        ("tag=physique", ["hostile_fr"]),
        ("tag=wikipedia;_pictures:no", ["wikipedia_en_ray_charles"]),
        ("q=%22ray%20charles%22", ["wikipedia_en_ray_charles"]),
        ("q=ray%20-wikipedia", []),
        ("q=title:charles", ["wikipedia_en_ray_charles"]),
        ("q=description:charles%20title:ray", ["wikipedia_en_ray_charles"]),
        ("q=Wikibooks", ["kiwix.wikibooks_be_all", "wikibooks-example-en"]),
        ("q=eleves", ["hostile_fr"]),
        ("name=kiwix.wikibooks_be_all", ["kiwix.wikibooks_be_all"]),
        ("maxsize=100000", ["corner-cases-en", "poor-metadata-en", "hostile_fr"]),
    ],
)
def test_the_filters_kiwix_serve_supports(hub: LiveServer, query: str, expected: list[str]) -> None:
    feed = get(hub, f"/catalog/v2/entries?{query}").xml()
    assert sorted(names(feed)) == sorted(expected)
    assert feed.findtext("a:totalResults", namespaces=NS) == str(len(expected))


@pytest.mark.parametrize(
    "query",
    [
        "start=-1",
        "start=abc",
        "start=" + "9" * 40,
        "count=1.5",
        "count=%00",
        "lang=" + "x" * 300,
        "tag=" + ";".join(f"t{n}" for n in range(50)),
        "q=" + "a" * 3000,
        "maxsize=big",
    ],
)
def test_a_query_the_catalog_cannot_answer_is_a_clean_400(hub: LiveServer, query: str) -> None:
    answer = get(hub, f"/catalog/v2/entries?{query}", {"Accept": "application/json"})
    assert answer.status == 400, answer.body[:200]
    assert b"Traceback" not in answer.body


@pytest.mark.parametrize(
    "query",
    [
        "count=99999999999999999999",
        "count=-7",
        "lang=%00%FF%FE",
        "lang=%3Cscript%3E",
        "q=%22unbalanced",
        "q=%E2%80%AE%00%01",
        "q=title:",
        "name=&lang=&tag=;;;",
        "category=%ED%A0%80",
        "unknown=1&start=0",
    ],
)
def test_a_strange_query_is_clamped_or_matches_nothing(hub: LiveServer, query: str) -> None:
    feed = get(hub, f"/catalog/v2/entries?{query}").xml()  # parses: nothing broke the XML
    assert len(entries_of(feed)) <= 6
    assert int(feed.findtext("a:itemsPerPage", namespaces=NS) or "0") <= 6


def test_markup_and_control_characters_in_metadata_stay_text(hub: LiveServer) -> None:
    [entry] = entries_of(get(hub, "/catalog/v2/entries?name=hostile_fr").xml())
    assert entry.findtext("a:title", namespaces=NS) == HOSTILE_TITLE
    assert entry.findtext("a:summary", namespaces=NS) == "Bad  chars & <tags> ]]>"
    assert entry.findtext("a:category", namespaces=NS) == "école"


def test_one_entry_and_the_partial_feed(hub: LiveServer) -> None:
    answer = get(hub, f"/catalog/v2/entry/{RAY_UUID}")
    assert (
        answer.headers["Content-Type"]
        == "application/atom+xml;type=entry;profile=opds-catalog;charset=utf-8"
    )
    entry = answer.xml()
    assert entry.tag == "{http://www.w3.org/2005/Atom}entry"
    assert entry.findtext("a:name", namespaces=NS) == "wikipedia_en_ray_charles"
    assert entry.findtext("dc:issued", namespaces=NS) == "2020-03-31T00:00:00Z"
    assert get(hub, "/catalog/v2/entry/non-existent-entry").status == 404
    partial = get(hub, "/catalog/v2/partial_entries?lang=eng").xml()
    [short] = entries_of(partial)
    assert short.findtext("a:id", namespaces=NS) == f"urn:uuid:{RAY_UUID}"
    alternate = links(short)["alternate"]
    assert alternate.get("href") == f"/catalog/v2/entry/{RAY_UUID}"
    assert alternate.get("type") == "application/atom+xml;type=entry;profile=opds-catalog"


def test_categories_and_languages(hub: LiveServer) -> None:
    categories = get(hub, "/catalog/v2/categories").xml()
    listed = {
        e.findtext("a:title", namespaces=NS): e.find("a:link", NS).get("href")  # type: ignore[union-attr]
        for e in entries_of(categories)
    }
    assert listed == {
        "wikipedia": "/catalog/v2/entries?category=wikipedia",
        "école": "/catalog/v2/entries?category=%C3%A9cole",
    }
    languages = get(hub, "/catalog/v2/languages").xml()
    found = {
        e.findtext("dc:language", namespaces=NS): (
            e.findtext("a:title", namespaces=NS),
            e.findtext("thr:count", namespaces=NS),
            e.find("a:link", NS).get("href"),  # type: ignore[union-attr]
        )
        for e in entries_of(languages)
    }
    assert found["eng"] == ("English", "1", "/catalog/v2/entries?lang=eng")
    assert found["fra"] == ("français", "1", "/catalog/v2/entries?lang=fra")
    assert found["bel"][0] == "беларуская"
    assert found["en"][1] == "3"
    for code, (_, count, href) in found.items():  # each language's link selects its ZIMs
        assert len(entries_of(get(hub, href + "&count=-1").xml())) == int(count), code


def test_search_description_and_illustration(hub: LiveServer) -> None:
    answer = get(hub, "/catalog/v2/searchdescription.xml")
    assert answer.headers["Content-Type"].startswith("application/opensearchdescription+xml")
    url = answer.xml().find("os:Url", NS)
    assert url is not None and url.get("template") == (
        "/catalog/v2/entries?q={searchTerms?}&lang={language?}&name={k:name?}&tag={k:tag?}"
        "&maxsize={k:maxsize?}&count={count?}&start={startIndex?}"
    )
    icon = get(hub, f"/catalog/v2/illustration/{RAY_UUID}/?size=48")
    assert icon.status == 200 and icon.headers["Content-Type"] == "image/png"
    assert icon.body.startswith(b"\x89PNG")
    hostile_uuid = entries_of(get(hub, "/catalog/v2/entries?name=hostile_fr").xml())[0]
    the_uuid = (hostile_uuid.findtext("a:id", namespaces=NS) or "").removeprefix("urn:uuid:")
    assert get(hub, f"/catalog/v2/illustration/{the_uuid}/?size=48").body == PNG_1X1
    assert get(hub, f"/catalog/v2/illustration/{RAY_UUID}/?size=96").status == 404
    assert get(hub, "/catalog/v2/illustration/nope/?size=48").status == 404


def _download_path(hub: LiveServer) -> str:
    [entry] = entries_of(get(hub, "/catalog/v2/entries?name=wikipedia_en_ray_charles").xml())
    href = links(entry)["http://opds-spec.org/acquisition/open-access"].get("href") or ""
    return urllib.parse.urlsplit(href).path


def test_the_download_serves_ranges_and_resumes(hub: LiveServer, tmp_path: Path) -> None:
    path, data = _download_path(hub), RAY.read_bytes()
    whole = get(hub, path)
    assert whole.headers["Content-Length"] == str(len(data))
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Type"] == "application/x-zim"
    assert whole.headers["Content-Disposition"].startswith("attachment; filename=")
    etag = whole.headers["ETag"]
    assert etag == f'"{RAY_UUID}"'
    part = get(hub, path, {"Range": "bytes=1000-1999"})
    assert part.status == 206 and part.body == data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    assert get(hub, path, {"Range": "bytes=1000-", "If-Range": '"other"'}).status == 200
    assert get(hub, path, {"If-None-Match": etag}).status == 304
    assert get(hub, path, {"Range": f"bytes={len(data) + 5}-"}).status == 416
    # A phone that left the Wi-Fi after 200,000 bytes: the rest comes with Range.
    dest = tmp_path / "ray.zim"
    Path(str(dest) + ".part").write_bytes(data[:200_000])
    parts = urllib.parse.urlsplit(hub.url)
    sha = hashlib.sha256(data).hexdigest()
    came = download(
        lambda: Exchange(parts, Bounds.defaults(), "The hub"),
        path,
        Target(dest, max_bytes=len(data), size=len(data), sha256=sha),
    )
    assert came == len(data) - 200_000 and dest.read_bytes() == data


def test_only_the_installed_edition_is_served(hub: LiveServer) -> None:
    path = _download_path(hub)
    folder = path.rsplit("/", 1)[0]
    assert get(hub, folder + "/ray_older.zim").status == 404
    assert get(hub, folder + "/..%2F..%2Fsecret_key").status == 404
    assert get(hub, "/zims/no-such-zim/download/x.zim").status == 404
