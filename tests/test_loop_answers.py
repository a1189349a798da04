"""A visitor's request whose whole answer is kept is answered by the server's I/O loop as soon
as it arrives (hub/web/loop_answers.py): not queued behind pages the workers are still
making. Served here by the real waitress server with one worker thread, held busy."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from waitress import wasyncore

from hub.web.server import BodyLimits, Guard, create_server
from tests.content_helpers import sample_files, sample_manifest, write_pack_dir

LESSON = "/lessons/fractions-en/halves"
OTHER = "/lessons/fractions-en/intro-video"
WAIT = 3.0  # seconds a request may take here before the test calls it stuck


@dataclass
class Served:
    port: int
    hold: threading.Event  # set: the held route may finish
    held: threading.Event  # set once the worker is inside the held route


@pytest.fixture
def served(app: Flask, tmp_path: Path) -> Iterator[Served]:
    outcome = app.extensions["library"].import_paths(
        [write_pack_dir(tmp_path / "en", sample_manifest(), sample_files())]
    )
    assert outcome[0].error is None, outcome[0].error
    hold, held = threading.Event(), threading.Event()

    def busy() -> str:
        held.set()
        hold.wait(30)
        return "done"

    app.add_url_rule("/test/busy", "test_busy", busy)
    guard = Guard(
        connection_limit=100,
        per_address=64,
        header_timeout=10,
        idle_timeout=20,
        send_timeout=60,
        bodies=BodyLimits(1024 * 1024),
    )
    server: Any = create_server(
        app,
        host="127.0.0.1",
        port=0,
        threads=1,
        ident="test",
        guard=guard,
        find=app.wsgi_app.kept_answer,  # type: ignore[attr-defined]
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield Served(server.effective_port, hold, held)
    finally:
        hold.set()
        server.trigger.pull_trigger(lambda: _stop(server))
        thread.join(10)
        assert not thread.is_alive()


def _stop(server: Any) -> None:
    server.task_dispatcher.shutdown()
    for channel in list(server.active_channels.values()):
        channel.handle_close()  # closes the files of answers still being sent, as a client's
    wasyncore.close_all(server._map)


def get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = WAIT
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def hold_the_worker(served: Served) -> threading.Thread:
    """The one worker thread, busy until the test lets it go."""
    thread = threading.Thread(
        target=get, args=(served.port, "/test/busy", None, 30 * WAIT), daemon=True
    )
    thread.start()
    assert served.held.wait(WAIT), "the held route did not start"
    return thread


def test_a_kept_page_is_answered_while_every_worker_is_busy(served: Served) -> None:
    status, first = get(served.port, LESSON)  # made by the worker, and kept
    assert status == 200
    holder = hold_the_worker(served)
    status, again = get(served.port, LESSON)  # would wait for the worker without the loop
    assert (status, again) == (200, first)
    served.hold.set()
    holder.join(WAIT)


def test_a_page_never_kept_waits_for_a_worker(served: Served) -> None:
    holder = hold_the_worker(served)
    with pytest.raises(TimeoutError):
        get(served.port, OTHER)  # not asked before: only a worker can make it
    served.hold.set()
    holder.join(WAIT)
    assert get(served.port, OTHER)[0] == 200


def test_a_request_with_a_cookie_is_never_answered_by_the_loop(served: Served) -> None:
    assert get(served.port, LESSON)[0] == 200
    holder = hold_the_worker(served)
    with pytest.raises(TimeoutError):  # personal: the app decides, in a worker
        get(served.port, LESSON, {"Cookie": "hub_language=fr"})
    served.hold.set()
    holder.join(WAIT)


def test_requests_sent_at_once_are_answered_in_order(served: Served) -> None:
    status, kept = get(served.port, LESSON)
    assert status == 200
    # A page not kept yet, then a kept one, on one connection in one write: the kept one
    # must not overtake the first.
    with socket.create_connection(("127.0.0.1", served.port), timeout=WAIT) as sock:
        sock.sendall(
            f"GET {OTHER} HTTP/1.1\r\nHost: hub\r\n\r\nGET {LESSON} HTTP/1.1\r\nHost: hub\r\n\r\n"
            f"GET {LESSON} HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n".encode()
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert [answer[:3] for answer in answers] == [b"200"] * 3
    assert b"What is a fraction?" in answers[0].split(b"\r\n\r\n", 1)[1]
    assert all(answer.split(b"\r\n\r\n", 1)[1] == kept for answer in answers[1:])


def blob_url(port: int) -> str:
    status, body = get(port, "/api/lessons/fractions-en/intro-video")
    assert status == 200
    return str(json.loads(body)["files"]["main"])


def test_a_blob_is_sent_from_its_file_by_the_loop_while_every_worker_is_busy(
    served: Served,
) -> None:
    url = blob_url(served.port)
    status, first = get(served.port, url)  # by a worker; kept as its headers and path
    assert status == 200 and len(first) > 1000
    holder = hold_the_worker(served)
    assert get(served.port, url) == (200, first)
    assert get(served.port, url) == (200, first)
    served.hold.set()
    holder.join(WAIT)


def test_a_range_of_a_kept_blob_is_still_answered_by_a_worker(served: Served) -> None:
    url = blob_url(served.port)
    status, whole = get(served.port, url)
    assert status == 200
    assert get(served.port, url, {"Range": "bytes=10-19"}) == (206, whole[10:20])
    holder = hold_the_worker(served)
    with pytest.raises(TimeoutError):  # a range is the reader's own: the app answers it
        get(served.port, url, {"Range": "bytes=10-19"})
    served.hold.set()
    holder.join(WAIT)


def test_a_kept_blob_whose_file_went_is_answered_by_the_app(served: Served, app: Flask) -> None:
    url = blob_url(served.port)
    assert get(served.port, url)[0] == 200
    sha = url.rsplit("/", 1)[1].split(".")[0]
    app.extensions["library"].store.path(sha).unlink()  # behind the library's back
    for _ in range(2):  # the second is no longer found kept: the app answers it in a worker
        status, body = get(served.port, url)
        assert status == 404
        assert b"not in the library" in body
    environ = {  # as http.client sends it
        "REQUEST_METHOD": "GET",
        "PATH_INFO": url,
        "HTTP_HOST": f"127.0.0.1:{served.port}",
        "HTTP_ACCEPT_ENCODING": "identity",
    }
    assert app.wsgi_app.kept_answer(environ) is None  # type: ignore[attr-defined]
