"""Search on a real hub (waitress on 127.0.0.1): a class searching at once while another
process imports and rebuilds, and queries written to break an FTS5 expression."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, LiveServer
from tests.content_helpers import write_pack_dir
from tests.test_search import afya_sw, science_en

STUDENTS = 32
# (query, lesson that answers it throughout: the writer upgrades science-en, never removes it)
STEADY = (("breathing", "science-en/running"), ("mikono", "afya-sw/kunawa"))


def learnhub(data: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hub", *args, "--data", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def pack_version(root: Path, make, version: str) -> Path:
    manifest, files = make()
    manifest["version"] = version
    return write_pack_dir(root / f"{manifest['id']}-{version}", manifest, files)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    root = tmp_path_factory.mktemp("search-class")
    data = root / "data"
    learnhub(data, "content", "import", str(pack_version(root, science_en, "1.0.0")))
    learnhub(data, "content", "import", str(pack_version(root, afya_sw, "1.0.0")))
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        yield server, root
    finally:
        server.stop()


class Student:
    """One keep-alive connection, as a phone's browser keeps one."""

    def __init__(self, server: LiveServer) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

    def get(self, path: str, **params: str | bytes) -> tuple[int, str, bytes]:
        self.connection.request("GET", f"{path}?{urllib.parse.urlencode(params)}")
        response = self.connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()

    def close(self) -> None:
        self.connection.close()


@pytest.mark.server
def test_a_class_searches_while_another_process_imports_and_rebuilds(
    hub: tuple[LiveServer, Path],
) -> None:
    server, root = hub
    stop = threading.Event()
    problems: list[str] = []
    answered = [0]

    def student(number: int) -> None:
        me = Student(server)
        try:
            while not stop.is_set():
                query, expected = STEADY[number % len(STEADY)]
                status, _, body = me.get("/api/search", q=query)
                found = [f"{r['pack_id']}/{r['lesson_id']}" for r in json.loads(body)["results"]]
                if status != 200 or found != [expected]:
                    problems.append(f"{query}: {status} {found}")
                status, _, body = me.get("/api/search/suggest", q=query[:4])
                if status != 200 or not json.loads(body)["suggestions"]:
                    problems.append(f"suggest {query[:4]}: {status} {body[:80]!r}")
                answered[0] += 1
        except Exception as err:  # any failure to talk to the hub is what this test is about
            problems.append(repr(err))
        finally:
            me.close()

    threads = [threading.Thread(target=student, args=(n,)) for n in range(STUDENTS)]
    for thread in threads:
        thread.start()
    try:
        for version in ("1.1.0", "1.2.0"):  # each upgrade is one commit of the index
            learnhub(
                root / "data", "content", "import", str(pack_version(root, science_en, version))
            )
        learnhub(root / "data", "search", "rebuild")  # a new file renamed under the searchers
        learnhub(root / "data", "content", "import", str(pack_version(root, science_en, "1.3.0")))
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert not problems, problems[:5]
    assert answered[0] >= STUDENTS


HOSTILE = [
    '"',
    '""',
    '"unbalanced quote',
    'water" OR "1',
    "*",
    "water*",
    "NEAR(",
    "NEAR(water cycle, 2)",
    "AND",
    "OR NOT AND",
    "water AND",
    "NOT water",
    "-",
    "--water",
    "-water",
    ":",
    "title:",
    "title : water",
    "{title body}: water",
    "body:breathing",
    "^",
    "^water",
    "water^2",
    "+",
    "(",
    ")((",
    "'",
    "\\",
    ".,;!?&|",
    "\x00",
    "water\x00cycle",
    "\x00" * 100,
    "x" * 500,
    "mikono " * 71,  # 497 characters: the most words a query may have, and more
    " ".join(["water"] * 10_000),  # far too long: a 400 with a message
    "🚀" * 100,
    "\u202e\u202d",
    "\ud800",
    "\u0301",  # a combining mark alone: a word that folds to nothing
    "\u2474 \u0301* x\u0301",  # "(1)" once folded: FTS5 would read the brackets
]


@pytest.mark.server
def test_hostile_queries_always_get_an_answer_never_a_500(
    hub: tuple[LiveServer, Path],
) -> None:
    server, _ = hub
    me = Student(server)
    try:
        for query in HOSTILE:
            for path in ("/api/search", "/search", "/api/search/suggest"):
                raw = query.encode("utf-8", "surrogatepass")  # a lone surrogate sent as is
                status, kind, body = me.get(path, q=raw)
                where = (path, query[:40], status)
                assert status in (200, 400), where
                if path.startswith("/api/"):
                    assert kind.startswith("application/json"), where
                    answer = json.loads(body)
                    assert ("error" in answer) == (status == 400), where
                    if status == 400:
                        assert answer["error"]["code"] == "bad_query", where
                else:
                    assert kind.startswith("text/html") and b"Traceback" not in body, where
        # and the hub is still searching
        status, _, body = me.get("/api/search", q="breathing")
        assert status == 200 and json.loads(body)["total"] >= 1
    finally:
        me.close()
