"""No file runs script with the hub's origin: a pack's XML, XHTML, SVG and XSL, each carrying a
script that makes a new operator account, fetched by every URL that reaches them (the lesson
file URL, /blobs/<sha256> with any extension, ranges, HEAD), over real HTTP and in Chromium
with an operator signed in; and every response of both servers says `nosniff`."""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.people.models import StaffUser
from hub.web.app import create_app
from tests.central_helpers import CentralServer
from tests.conftest import LiveServer
from tests.content_helpers import lesson, sample_manifest, write_pack_dir

PACK = "hostile-files"
OPERATOR = "Olive Operator"
USERNAME = "olive-operator"
PASSWORD = "operator-password"
INTRUDER = "Mallory Intruder"
# What the exploit did: read the staff page's CSRF token and add an operator. The
# requests are synchronous, so when the page has loaded the attempt is over either way.
EXPLOIT = (
    "var get = new XMLHttpRequest(); get.open('GET', '/admin/users', false); get.send();"
    'var token = /name="csrf_token" value="([^"]+)"/.exec(get.responseText)[1];'
    "var post = new XMLHttpRequest(); post.open('POST', '/admin/users', false);"
    "post.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');"
    "post.send('csrf_token=' + encodeURIComponent(token) + '&name=Mallory+Intruder'"
    " + '&role=operator&password=taken-over-1&password2=taken-over-1');"
)
SCRIPT = f"<script>//<![CDATA[\n{EXPLOIT}\n//]]></script>"
XHTML = f'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>hi</p>{SCRIPT}</body></html>'
HOSTILE = {
    "page.html": b"<!doctype html><h1>Page</h1>",
    "evil.xml": f'<?xml version="1.0"?>{XHTML}'.encode(),
    "evil.xhtml": f'<?xml version="1.0"?><!-- xhtml -->{XHTML}'.encode(),
    "evil.svg": f'<svg xmlns="http://www.w3.org/2000/svg">{SCRIPT}</svg>'.encode(),
    "evil.xsl": (
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
        'xmlns="http://www.w3.org/1999/xhtml"><xsl:template match="/">'
        f"<html><body>{SCRIPT}</body></html></xsl:template></xsl:stylesheet>"
    ).encode(),
    "styled.xml": b'<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="evil.xsl"?><a/>',
}
ASSETS = [name for name in HOSTILE if name != "page.html"]
EXTENSIONS = ("", ".xml", ".html", ".htm", ".svg", ".xhtml", ".xsl", ".txt", ".XML", ".mml")
# Types in which no browser runs script (with nosniff). Anything else must be sandboxed.
INERT = {"text/plain", "application/octet-stream", "application/json", "text/css"}


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def kind(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Answer:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as err:
        with err:
            return Answer(err.code, err.headers, err.read())


def assert_cannot_run_script(answer: Answer, url: str) -> None:
    assert answer.headers.get("X-Content-Type-Options") == "nosniff", url
    if answer.kind in INERT:
        return
    policy = answer.headers.get("Content-Security-Policy") or ""
    assert policy.startswith("sandbox"), f"{url} is {answer.kind} without the sandbox"
    assert "allow-same-origin" not in policy, url


def blob_urls(name: str) -> list[str]:
    sha = hashlib.sha256(HOSTILE[name]).hexdigest()
    return [f"/blobs/{sha}{extension}" for extension in EXTENSIONS]


@pytest.fixture(scope="module")
def hostile_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A hub holding the hostile pack and one operator, served by `learnhub serve`."""
    root = tmp_path_factory.mktemp("hostile")
    manifest = sample_manifest(
        id=PACK,
        topics=[{"id": "all", "title": "All", "lessons": ["page"]}],
        lessons=[lesson("page", file="page.html", assets=ASSETS)],
    )
    pack = write_pack_dir(root / "pack", manifest, HOSTILE)
    app = create_app(
        prepare_data_dir(load_config(root / "data", {"load_samples": False}, environ={}))
    )
    with connected():
        StaffUser.add(OPERATOR, "operator", PASSWORD)
        [outcome] = app.extensions["library"].import_paths([pack])
        assert outcome.error is None, outcome.error
    server = LiveServer(root / "data")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("name", ASSETS)
def test_every_url_of_a_hostile_file_is_sandboxed_or_inert(
    hostile_hub: LiveServer, name: str
) -> None:
    recorded = fetch(f"{hostile_hub.url}/files/{PACK}/{name}")
    assert recorded.status == 200 and recorded.body == HOSTILE[name]
    for path in [f"/files/{PACK}/{name}", *blob_urls(name)]:
        url = hostile_hub.url + path
        for method, headers in [("GET", {}), ("HEAD", {}), ("GET", {"Range": "bytes=0-20"})]:
            answer = fetch(url, method, headers)
            assert answer.status in (200, 206), (url, answer.status)
            # The type recorded at import, whatever extension the URL carries.
            assert answer.kind == recorded.kind, (url, answer.kind)
            assert_cannot_run_script(answer, url)


def test_the_blob_type_is_the_one_recorded_at_import(hostile_hub: LiveServer) -> None:
    kinds = {fetch(hostile_hub.url + url).kind for url in blob_urls("evil.svg")}
    assert kinds == {"image/svg+xml"}
    kinds = {fetch(hostile_hub.url + url).kind for url in blob_urls("evil.xml")}
    assert kinds == {"application/xml"}


def test_odd_blob_names_are_not_found(hostile_hub: LiveServer) -> None:
    sha = hashlib.sha256(HOSTILE["evil.svg"]).hexdigest()
    for name in [f"{sha}%0A", f"{sha}.svg%00", f"{sha}.", f"{sha[:63]}", f"{sha}.toolongext"]:
        answer = fetch(f"{hostile_hub.url}/blobs/{name}")
        assert answer.status == 404, name
        assert answer.headers.get("X-Content-Type-Options") == "nosniff"


def _sign_in(context: Any, url: str) -> None:
    answer = context.request.post(
        url + "/api/session", data={"username": USERNAME, "password": PASSWORD}
    )
    assert answer.status == 201, answer.text()


def browser_urls() -> list[str]:
    files = [f"/files/{PACK}/{name}" for name in ASSETS]
    swapped = [
        blob_urls("evil.svg")[1],  # an SVG asked for as .xml
        blob_urls("evil.xhtml")[1],  # XHTML recorded as a download, asked for as .xml
        blob_urls("evil.xml")[2],  # XML asked for as .html
        blob_urls("evil.xml")[4],  # XML asked for as .svg
        blob_urls("evil.svg")[4],  # an SVG by its own extension
    ]
    return files + swapped


@pytest.mark.parametrize("path", browser_urls())
def test_a_signed_in_operator_opening_a_hostile_file_gets_no_new_operator(
    hostile_hub: LiveServer, browser: Any, path: str
) -> None:
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context()
    try:
        _sign_in(context, hostile_hub.url)
        page = context.new_page()
        try:
            page.goto(hostile_hub.url + path, wait_until="load", timeout=15000)
        except PlaywrightError as err:  # served as a download: nothing ran
            assert "Download is starting" in str(err), err
        staff = context.request.get(hostile_hub.url + "/admin/users")
        assert staff.status == 200
        assert OPERATOR in staff.text()
        assert INTRUDER not in staff.text(), f"{path} ran its script as the operator"
    finally:
        context.close()
        _remove_intruders(hostile_hub.data_dir / "learnhub.db")


def _remove_intruders(db_path: Path) -> None:
    """One URL that lets the script run must not make the next URL's test fail too."""
    with closing(sqlite3.connect(db_path, timeout=10)) as conn, conn:
        conn.execute("DELETE FROM staff_user WHERE display_name = ?", (INTRUDER,))


def _nosniff_everywhere(base: str, paths: list[tuple[str, str]]) -> None:
    for method, path in paths:
        answer = fetch(base + path, method, {"Content-Type": "application/json"})
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", (path, answer.status)


HUB_PATHS = [
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/favicon.ico"),
    ("HEAD", "/favicon.ico"),
    ("GET", "/static/favicon.svg"),
    ("GET", "/static/no-such-file.css"),
    ("GET", "/static/x%00"),
    ("GET", "/no-such-page"),
    ("GET", "/api/no-such-call"),
    ("DELETE", "/healthz"),
    ("POST", "/api/session"),
    ("GET", f"/files/{PACK}/page.html"),
    ("GET", f"/files/{PACK}/no-such-file"),
    ("GET", "/admin/"),
]


def test_every_hub_response_says_nosniff(hostile_hub: LiveServer) -> None:
    _nosniff_everywhere(hostile_hub.url, HUB_PATHS)


def test_every_central_response_says_nosniff(tmp_path: Path) -> None:
    server = CentralServer(tmp_path / "central", None)
    try:
        server.wait_until_ready()
        _nosniff_everywhere(
            server.url,
            [
                ("GET", "/healthz"),
                ("GET", "/"),
                ("GET", "/static/x%00"),
                ("GET", "/no-such-page"),
                ("GET", "/api/sync/identity"),
                ("POST", "/api/sync/join"),
                ("GET", "/api/sync/replies/nothing"),
                ("DELETE", "/healthz"),
            ],
        )
    finally:
        server.stop()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: hub\r\nContent-Length: many\r\n\r\n",  # malformed
        b"POST /api/session HTTP/1.1\r\nHost: hub\r\nContent-Length: 900000000\r\n\r\n",  # 413
    ],
    ids=["malformed", "too_large"],
)
def test_the_servers_own_errors_say_nosniff(hostile_hub: LiveServer, request_bytes: bytes) -> None:
    """waitress answers these itself, without the app's after-request headers."""
    host, port = hostile_hub.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request_bytes)
        answer = b""
        while b"\r\n\r\n" not in answer:
            piece = sock.recv(4096)
            if not piece:
                break
            answer += piece
    head = answer.split(b"\r\n\r\n")[0].decode("latin-1").lower()
    assert head.startswith("http/1.1 4"), head
    assert "x-content-type-options: nosniff" in head
