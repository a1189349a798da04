"""HTTP behaviour against a real waitress server on 127.0.0.1 serving the sample library."""

from __future__ import annotations

import gzip
import json
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.waiting import eventually

pytestmark = pytest.mark.server


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET"):
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        response = urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as err:
        response = err
    with response:
        return response.status, response.headers, response.read()


def get_json(server: LiveServer, path: str) -> dict:
    status, _, body = fetch(server.url + path)
    assert status == 200, body
    return json.loads(body)


def lessons_of_kind(server: LiveServer, kind: str) -> list[dict]:
    found = []
    for pack in get_json(server, "/api/packs")["packs"]:
        for lesson in get_json(server, f"/api/packs/{pack['id']}")["lessons"]:
            if lesson["kind"] == kind:
                found.append(lesson)
    return found


def lesson_json(server: LiveServer, kind: str) -> dict:
    lesson = lessons_of_kind(server, kind)[0]
    return get_json(server, f"/api/lessons/{lesson['pack_id']}/{lesson['lesson_id']}")


def test_healthz(live_server: LiveServer) -> None:
    body = get_json(live_server, "/healthz")
    assert body["status"] == "ok"
    assert body["packs"] >= 3
    assert set(body["caches"]) == {
        "library",
        "pages",
        "parsed files",
        "search answers",
        "responses",
    }
    for kept in body["caches"].values():
        assert 0 <= kept["bytes"] <= kept["budget"]


def test_sample_library_covers_every_kind_in_two_languages(live_server: LiveServer) -> None:
    packs = get_json(live_server, "/api/packs")["packs"]
    assert len(packs) >= 3
    assert len({p["language"] for p in packs}) >= 2
    kinds = {
        lesson["kind"]
        for p in packs
        for lesson in get_json(live_server, f"/api/packs/{p['id']}")["lessons"]
    }
    assert kinds == {"article", "video", "audio", "pdf", "image", "exercise", "app"}
    assert all(p["license"] == "CC-BY-4.0" for p in packs)


def test_every_lesson_page_renders_with_licence(live_server: LiveServer) -> None:
    for pack in get_json(live_server, "/api/packs")["packs"]:
        status, _, body = fetch(live_server.url + pack["url"])
        assert status == 200
        for lesson in get_json(live_server, f"/api/packs/{pack['id']}")["lessons"]:
            status, headers, body = fetch(live_server.url + lesson["url"])
            assert status == 200, lesson
            html = body.decode()
            assert "CC-BY-4.0" in html, lesson["url"]
            assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_lesson_api_shape_and_file_urls(live_server: LiveServer) -> None:
    video = lesson_json(live_server, "video")
    assert video["files"]["main"].startswith("/blobs/")
    assert video["files"]["subtitles"]
    assert video["files"]["poster"]
    page = fetch(live_server.url + video["url"])[2].decode()
    assert "<video" in page and "<track" in page and "poster=" in page
    exercise = lesson_json(live_server, "exercise")
    assert exercise["exercise"]["questions"]
    assert all("answer" not in q for q in exercise["exercise"]["questions"])


def test_json_errors_have_one_shape(live_server: LiveServer) -> None:
    status, headers, body = fetch(live_server.url + "/api/lessons/nope-pack/nope")
    assert status == 404
    assert headers["Content-Type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == "lesson_not_found"


def test_missing_page_is_friendly_html(live_server: LiveServer) -> None:
    status, headers, body = fetch(live_server.url + "/packs/no-such-pack")
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    assert b"Back to the library" in body
    assert b"Traceback" not in body


def test_range_requests(live_server: LiveServer) -> None:
    url = live_server.url + lesson_json(live_server, "video")["files"]["main"]
    status, headers, whole = fetch(url)
    assert status == 200
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = headers["ETag"]

    status, headers, part = fetch(url, {"Range": "bytes=100-1099"})
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    assert part == whole[100:1100]

    status, _, tail = fetch(url, {"Range": "bytes=-500"})
    assert status == 206 and tail == whole[-500:]

    status, headers, _ = fetch(url, {"Range": f"bytes={len(whole) + 10}-"})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(whole)}"

    assert fetch(url, {"If-None-Match": etag})[0] == 304
    status, _, body = fetch(url, {"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert status == 200 and body == whole
    status, _, body = fetch(url, {"Range": "bytes=0-9,20-29"})
    assert status == 200 and body == whole


def test_head_gives_length_without_body(live_server: LiveServer) -> None:
    url = live_server.url + lesson_json(live_server, "audio")["files"]["main"]
    status, headers, body = fetch(url, method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) > 1000


def test_text_is_gzipped_when_accepted(live_server: LiveServer) -> None:
    article = lesson_json(live_server, "article")
    for path in ("/", article["url"], article["files"]["main"]):
        status, headers, body = fetch(live_server.url + path, {"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers["Content-Encoding"] == "gzip", path
        assert b"<html" in gzip.decompress(body).lower()
        status, headers, body = fetch(live_server.url + path)
        assert headers.get("Content-Encoding") is None and b"<html" in body.lower()


def test_pack_html_is_sandboxed(live_server: LiveServer) -> None:
    article = lesson_json(live_server, "article")
    _, headers, _ = fetch(live_server.url + article["files"]["main"])
    policy = headers["Content-Security-Policy"]
    assert policy.startswith("sandbox")
    assert "allow-same-origin" not in policy
    # The only script a reading may run is the hub's scroll reporter, named by its full URL.
    assert re.search(r"script-src http://[^ ;]+/static/js/article-reporter\.js;", policy)
    page = fetch(live_server.url + article["url"])[2].decode()
    assert re.search(r'<iframe[^>]+sandbox="[^"]*"', page)
    assert "allow-same-origin" not in page
    app = lesson_json(live_server, "app")
    status, headers, body = fetch(live_server.url + app["files"]["main"])
    assert status == 200 and b"<" in body
    assert "sandbox allow-scripts" in headers["Content-Security-Policy"]
    assert "connect-src 'none'" in headers["Content-Security-Policy"]


def test_static_urls_are_immutable_when_versioned(live_server: LiveServer) -> None:
    page = fetch(live_server.url + "/")[2].decode()
    css = re.search(r'href="(/static/css/hub\.css\?v=[0-9a-f]+)"', page)[1]
    _, headers, _ = fetch(live_server.url + css)
    assert "immutable" in headers["Cache-Control"]
    _, headers, _ = fetch(live_server.url + "/static/css/hub.css")
    assert headers["Cache-Control"] == "no-cache"
    assert fetch(live_server.url + "/static/../hub/web/app.py")[0] == 404


def test_pages_load_nothing_from_outside(live_server: LiveServer) -> None:
    external = re.compile(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", re.I)
    for pack in get_json(live_server, "/api/packs")["packs"]:
        for lesson in get_json(live_server, f"/api/packs/{pack['id']}")["lessons"]:
            detail = get_json(live_server, f"/api/lessons/{pack['id']}/{lesson['lesson_id']}")
            for url in (lesson["url"], detail["files"]["main"]):
                _, headers, body = fetch(live_server.url + url)
                if headers["Content-Type"].startswith("text/html"):
                    assert not external.search(body.decode()), url


def test_page_weight_under_100_kb(live_server: LiveServer) -> None:
    """HTML + CSS + JS of every page (media and the on-demand PDF engine excluded)."""
    asset = re.compile(r'(?:href|src)="(/static/[^"]+\.(?:css|js|mjs)[^"]*)"')
    pages = ["/"]
    for pack in get_json(live_server, "/api/packs")["packs"]:
        pages.append(pack["url"])
        pages += [
            les["url"] for les in get_json(live_server, f"/api/packs/{pack['id']}")["lessons"]
        ]
    for page in pages:
        html = fetch(live_server.url + page)[2]
        total = len(html) + sum(
            len(fetch(live_server.url + url.replace("&amp;", "&"))[2])
            for url in asset.findall(html.decode())
        )
        assert total < 100 * 1024, (page, total)


def test_range_download_does_not_hold_a_worker(tmp_path: Path) -> None:
    """With ONE worker thread, a client stalled mid-way through a big range still leaves the
    hub answering: the transfer runs in waitress's I/O loop, not in the worker."""
    pack = tmp_path / "big-pack"
    pack.mkdir()
    (pack / "big.mp4").write_bytes(b"\0" * (32 * 1024 * 1024))
    (pack / "pack.json").write_text(
        json.dumps(
            {
                "format": "learnhub-pack/1",
                "id": "big-pack",
                "version": "1.0.0",
                "title": "Big",
                "description": "",
                "language": "en",
                "subjects": [],
                "grades": [],
                "license": "CC0-1.0",
                "attribution": "",
                "topics": [],
                "lessons": [{"id": "big", "title": "Big", "kind": "video", "file": "big.mp4"}],
            }
        )
    )
    data = tmp_path / "data"
    from click.testing import CliRunner

    from hub.cli.main import main

    result = CliRunner().invoke(main, ["content", "import", "--data", str(data), str(pack)])
    assert result.exit_code == 0, result.output
    server = LiveServer(data, env={"LEARNHUB_THREADS": "1", "LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        server.wait_until_ready()
        url = get_json(server, "/api/lessons/big-pack/big")["files"]["main"]
        stalled = []
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(f"GET {url} HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-\r\n\r\n".encode())
            stalled.append(sock)  # never read: the server's send buffer fills and blocks
        # The server has begun answering all three (no sleep: asked until it has).
        eventually(
            lambda: all(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) for sock in stalled),
            ignoring=(BlockingIOError,),
            what="for the server to answer the three stalled downloads",
        )
        started = time.monotonic()
        status, _, _ = fetch(server.url + "/healthz")
        assert status == 200
        assert time.monotonic() - started < 5
        for sock in stalled:
            sock.close()
    finally:
        server.stop()
