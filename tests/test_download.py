"""The one resumable downloader (hub.core.download), as both of its users meet it: a reply from
central (hubsync) and a pack's file from a neighbour hub. Real HTTP servers on 127.0.0.1 send
the answers; a resumed download must get exactly the part it asked for, or start again."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hub.core.bounded_http import Bounds, Exchange
from hub.core.download import Corrupt, Cut, Target, WrongAnswer, download
from hub.hubsync.central_client import CentralClient
from hub.hubsync.service import SyncError
from hub.neighbours.errors import NeighbourError, NeighbourUnreachable
from hub.neighbours.neighbour_hub import NeighbourHub
from tests.hostile_server import HostileServer

pytestmark = pytest.mark.server

FILE = os.urandom(100_000)
SHA = hashlib.sha256(FILE).hexdigest()
REPLY = "/api/sync/replies/r1"
BLOB = f"/api/share/blobs/{SHA}"
HAVE = 40_000  # what an earlier, cut attempt left in the part


def ranged(content_range: Callable[[int], str], length: Callable[[int], int]) -> Any:
    """Answers a Range request with a 206 whose headers the test chooses (from the start asked
    for), and the bytes from the start the header names; a request without Range gets it all."""

    def answer(handler: Any, hostile: HostileServer) -> None:
        asked = handler.headers.get("Range")
        if not asked:
            return whole(handler)
        start = int(asked.removeprefix("bytes=").removesuffix("-"))
        header = content_range(start)
        first = int(header.split()[1].split("-")[0])
        body = FILE[first : first + length(start)]
        handler.send_response(206)
        handler.send_header("Content-Range", header)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def whole(handler: Any, cut_after: int | None = None) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(FILE)))
    handler.end_headers()
    handler.wfile.write(FILE[:cut_after])
    handler.close_connection = True


def honest() -> Any:
    return ranged(lambda start: f"bytes {start}-{len(FILE) - 1}/{len(FILE)}", lambda s: len(FILE))


# Each names the bytes from 0 (not from HAVE), or a total that is not the file's.
WRONG_RANGES = {
    "starts_elsewhere": ranged(lambda s: f"bytes 0-{len(FILE) - 1}/{len(FILE)}", lambda s: 10**9),
    "other_total": ranged(lambda s: f"bytes {s}-{len(FILE) - 1}/{len(FILE) + 5}", lambda s: 10**9),
    "ends_early": ranged(lambda s: f"bytes {s}-{s + 999}/{len(FILE)}", lambda s: 1000),
    "unreadable": ranged(lambda s: f"bytes {s}-*/whatever", lambda s: 10**9),
}


def left_part(dest: Path, size: int = HAVE, data: bytes | None = None) -> Path:
    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(FILE[:size] if data is None else data)
    return part


# --- sync: a reply from central ----------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(WRONG_RANGES))
def test_a_reply_resumed_with_the_wrong_content_range_is_refused_then_starts_over(
    tmp_path: Path, kind: str
) -> None:
    dest = tmp_path / "inbox" / "reply.lhb"
    part = left_part(dest)
    with HostileServer({REPLY: WRONG_RANGES[kind]}) as central:
        client = CentralClient(central.url)
        with pytest.raises(SyncError, match="wrong part of a file") as refused:
            client.download(REPLY, dest)
        assert "\n" not in str(refused.value)
        assert not dest.exists() and not part.exists()  # nothing spliced, nothing to resume
        central.answers[REPLY] = honest()
        assert client.download(REPLY, dest) == dest
        assert dest.read_bytes() == FILE
        assert central.requests == [REPLY, REPLY]


def test_a_reply_resumes_from_what_is_on_disk(tmp_path: Path) -> None:
    dest = tmp_path / "inbox" / "reply.lhb"
    left_part(dest)
    with HostileServer({REPLY: honest()}) as central:
        client = CentralClient(central.url)
        client.download(REPLY, dest)
    assert dest.read_bytes() == FILE
    assert client.counters.received == len(FILE) - HAVE  # only the rest crossed the link
    assert not dest.with_name("reply.lhb.part").exists()


def test_a_reply_sent_whole_to_a_range_request_restarts_the_part(tmp_path: Path) -> None:
    dest = tmp_path / "inbox" / "reply.lhb"
    left_part(dest, data=b"x" * HAVE)  # not even the right bytes: a 200 replaces them all
    with HostileServer({REPLY: lambda handler, hostile: whole(handler)}) as central:
        CentralClient(central.url).download(REPLY, dest)
    assert dest.read_bytes() == FILE


def test_a_reply_cut_short_keeps_its_part_for_next_time(tmp_path: Path) -> None:
    dest = tmp_path / "inbox" / "reply.lhb"
    cut = {REPLY: lambda handler, hostile: whole(handler, 30_000)}
    with (
        HostileServer(cut) as central,
        pytest.raises(SyncError, match="incomplete; it resumes next time"),
    ):
        CentralClient(central.url).download(REPLY, dest)
    assert dest.with_name("reply.lhb.part").read_bytes() == FILE[:30_000]
    assert not dest.exists()


# --- a neighbour's file ------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(WRONG_RANGES))
def test_a_neighbour_file_resumed_with_the_wrong_content_range_is_refused(
    tmp_path: Path, kind: str
) -> None:
    dest = tmp_path / "downloads" / SHA
    part = left_part(dest)
    with HostileServer({BLOB: WRONG_RANGES[kind]}) as neighbour:
        hub = NeighbourHub(neighbour.url)
        with pytest.raises(NeighbourError, match="wrong part of a file"):
            hub.download("fractions-en", SHA, len(FILE), dest, lambda n: None)
        assert not dest.exists() and not part.exists()
        neighbour.answers[BLOB] = honest()
        assert hub.download("fractions-en", SHA, len(FILE), dest, lambda n: None) == len(FILE)
    assert dest.read_bytes() == FILE


def test_a_neighbour_file_cut_then_resumed_is_verified_whole(tmp_path: Path) -> None:
    dest = tmp_path / "downloads" / SHA
    moved: list[int] = []
    cut = {BLOB: lambda handler, hostile: whole(handler, 60_000)}
    with HostileServer(cut) as neighbour:
        hub = NeighbourHub(neighbour.url)
        with pytest.raises(NeighbourUnreachable, match="run the copy again"):
            hub.download("fractions-en", SHA, len(FILE), dest, moved.append)
        neighbour.answers[BLOB] = honest()
        hub.download("fractions-en", SHA, len(FILE), dest, moved.append)
    assert dest.read_bytes() == FILE and sum(moved) == len(FILE)


def test_a_file_that_does_not_match_its_sha256_is_thrown_away(tmp_path: Path) -> None:
    dest = tmp_path / "downloads" / SHA
    other = bytes(len(FILE))
    answer = {BLOB: lambda handler, hostile: _send(handler, other)}
    with (
        HostileServer(answer) as neighbour,
        pytest.raises(NeighbourError, match="does not match its sha256"),
    ):
        NeighbourHub(neighbour.url).download("p", SHA, len(FILE), dest, lambda n: None)
    assert list(dest.parent.iterdir()) == []


def _send(handler: Any, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


# --- the downloader itself ---------------------------------------------------------------


def opener(url: str) -> Callable[[], Exchange]:
    return lambda: Exchange(urlsplit(url), Bounds.defaults(), f"The server at {url}")


def test_the_downloader_says_what_it_refused_in_its_own_kinds(tmp_path: Path) -> None:
    dest = tmp_path / "file"
    left_part(dest)
    answers = {BLOB: WRONG_RANGES["starts_elsewhere"]}
    with HostileServer(answers) as server:
        with pytest.raises(WrongAnswer):
            download(opener(server.url), BLOB, Target(dest, len(FILE), len(FILE), SHA))
        server.answers[BLOB] = lambda handler, hostile: whole(handler, 10)
        with pytest.raises(Cut) as cut:
            download(opener(server.url), BLOB, Target(dest, len(FILE), len(FILE), SHA))
        assert cut.value.reason is None
        server.answers[BLOB] = lambda handler, hostile: _send(handler, bytes(len(FILE)))
        with pytest.raises(Corrupt):
            download(opener(server.url), BLOB, Target(dest, len(FILE), len(FILE), SHA))
    assert list(tmp_path.iterdir()) == []  # no dest, no part, no temporary file


def test_a_whole_part_is_checked_without_asking_again(tmp_path: Path) -> None:
    dest = tmp_path / "file"
    left_part(dest, len(FILE))
    with HostileServer({}) as server:
        moved = download(opener(server.url), BLOB, Target(dest, len(FILE), len(FILE), SHA))
        assert server.requests == [] and moved == 0
    assert dest.read_bytes() == FILE
