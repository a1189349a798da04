"""Uploads refused or cut at their last piece, through the real server (`learnhub serve` on
127.0.0.1, one job at a time, packs of at most two files): the hub keeps what it holds, says
where the upload stands, and the client finishes it without sending a byte again; a refusal
that waiting cannot cure drops the upload whole, in one sentence, and the file is sent again
cleanly. Hostile pieces (wrong offsets, beyond the declared size, another file's, another
draft's upload) are refused in words and change nothing."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_authoring_live import PIECE, Hub, new_draft, operator_hub, put_piece, raw_request
from tests.test_jobs_live import finished, pack_zip, upload_import
from tests.waiting import eventually

pytestmark = [pytest.mark.server]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data = tmp_path_factory.mktemp("finish") / "data"
    env = {"LEARNHUB_JOBS_WAITING": "0", "LEARNHUB_MAX_PACK_FILES": "2"}
    with operator_hub(data, env) as hub:
        yield hub


def begin(hub: Hub, url: str, name: str, size: int) -> str:
    with hub.form(url, name=name, size=str(size)) as answer:
        return f"{url}/{json.loads(answer.read())['upload_id']}"


def where(hub: Hub, url: str) -> dict[str, Any]:
    with hub.open(url, Accept="application/json") as answer:
        return json.loads(answer.read())


def finish(hub: Hub, url: str) -> dict[str, Any]:
    """Ask the hub to finish an upload it holds whole (no body: nothing is sent again)."""
    headers = {"Accept": "application/json", "X-CSRF-Token": hub.token()}
    with hub.open(url, b"", "POST", **headers) as answer:
        return json.loads(answer.read())


def refused(call: Any) -> tuple[int, dict[str, str], str]:
    """The status, headers and one-line message of a refused request."""
    with pytest.raises(urllib.error.HTTPError) as caught:
        call()
    message = json.loads(caught.value.read())["error"]["message"]
    assert "\n" not in message and "Traceback" not in message
    return caught.value.code, dict(caught.value.headers), message


def cut_piece(hub: Hub, url: str, body: bytes, start: int, size: int, sent: int) -> None:
    """A piece whose connection drops after `sent` of its bytes (all: the answer is lost)."""
    head = (
        f"PUT {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {hub.cookie()}\r\n"
        f"Content-Range: bytes {start}-{start + len(body) - 1}/{size}\r\n"
        f"X-CSRF-Token: {hub.token()}\r\nContent-Length: {len(body)}\r\n"
        "Content-Type: application/octet-stream\r\n"
    )
    raw_request(hub, head, body[:sent])


def parts(hub: Hub) -> list[Path]:
    data = hub.server.data_dir / "drafts"
    return [*(data / "uploads").glob("*"), *(data / "imports").glob("*/*")]


def test_an_import_refused_at_its_last_piece_finishes_without_sending_again(
    hub: Hub, tmp_path: Path
) -> None:
    big = pack_zip(tmp_path / "films.zip", "films", 1, 6 * 1024 * 1024)
    content = big.read_bytes()
    size = len(content)
    url = begin(hub, "/admin/own-packs/import/uploads", big.name, size)
    put_piece(hub, url, content[:PIECE], 0, size)
    # The Wi-Fi drops in the middle of the second piece: the hub keeps only the first.
    cut_piece(hub, url, content[PIECE:], PIECE, size, 1000)
    eventually(lambda: where(hub, url)["received"] == PIECE, 10)
    with open(hub.server.data_dir / "library.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another import holds the library: the hub is busy
        other = upload_import(hub, pack_zip(tmp_path / "small.zip", "small", 1, 100))["job"]
        code, headers, message = refused(lambda: put_piece(hub, url, content[PIECE:], PIECE, size))
        assert code == 503 and headers["Retry-After"] == "30"
        assert message.startswith("All of films.zip has arrived, but the hub is busy")
        # Where it stands: every byte is there. Sending the last piece again is not needed
        # (409, the hub says it has all); asking to finish is still refused while busy.
        stands = where(hub, url)
        assert stands["received"] == size and stands["done"] is False
        code, headers, _ = refused(lambda: put_piece(hub, url, content[PIECE:], PIECE, size))
        assert code == 409 and headers["X-Received"] == str(size)
        assert refused(lambda: finish(hub, url))[0] == 503
        fcntl.flock(lock, fcntl.LOCK_UN)
    finished(hub, other)
    answer = finish(hub, url)
    assert answer["done"] is True and answer["received"] == size and answer["job"]
    # Asked again (its answer lost): the same job, not a second import.
    assert finish(hub, url) == answer and where(hub, url) == answer
    ended = finished(hub, answer["job"])
    assert ended["outcome"] == ["Imported films 1."], ended
    assert not parts(hub)


def test_a_last_piece_whose_answer_is_lost_is_found_done(hub: Hub) -> None:
    draft_id = new_draft(hub, "Lost answer")
    video = os.urandom(PIECE + 777)
    url = begin(hub, f"/admin/own-packs/{draft_id}/uploads", "Boats.mp4", len(video))
    put_piece(hub, url, video[:PIECE], 0, len(video))
    # The whole last piece goes out, then the connection drops before the answer comes back.
    cut_piece(hub, url, video[PIECE:], PIECE, len(video), len(video) - PIECE)
    done = eventually(lambda: where(hub, url)["done"] and where(hub, url), 10)
    assert done == {"received": len(video), "size": len(video), "done": True}
    # The client that resends the last piece, or asks to finish, is told the same.
    assert put_piece(hub, url, video[PIECE:], PIECE, len(video)) == done
    assert finish(hub, url) == done
    kept = hub.server.data_dir / "drafts" / str(draft_id) / "files" / "Boats.mp4"
    assert hashlib.sha256(kept.read_bytes()).digest() == hashlib.sha256(video).digest()
    assert not parts(hub)


def test_a_full_draft_refuses_the_last_piece_and_the_file_is_sent_again_cleanly(
    hub: Hub,
) -> None:
    draft_id = new_draft(hub, "Two files at most")
    start_url = f"/admin/own-packs/{draft_id}/uploads"
    first, second, third = b"a" * 3000, b"b" * 4000, b"c" * 5000
    # Three uploads started while the draft is empty; the pack may hold two files.
    urls = [
        begin(hub, start_url, name, len(body))
        for name, body in (("one.png", first), ("two.png", second), ("three.png", third))
    ]
    assert put_piece(hub, urls[0], first, 0, len(first))["done"] is True
    assert put_piece(hub, urls[1], second, 0, len(second))["done"] is True
    code, _, message = refused(lambda: put_piece(hub, urls[2], third, 0, len(third)))
    assert code == 413
    assert message == (
        "A pack may hold at most 2 files; three.png was not added. Remove a file, then send "
        "it again."
    )
    # Nothing half-written is left: the upload is gone, and starting again starts afresh.
    assert refused(lambda: where(hub, urls[2]))[0] == 404
    assert not parts(hub)
    with hub.form(f"/admin/own-packs/{draft_id}/files/remove", file="one.png"):
        pass
    again = begin(hub, start_url, "three.png", len(third))
    assert again != urls[2] and where(hub, again)["received"] == 0
    assert put_piece(hub, again, third, 0, len(third))["done"] is True
    files = hub.server.data_dir / "drafts" / str(draft_id) / "files"
    assert sorted(p.name for p in files.iterdir()) == ["three.png", "two.png"]
    assert (files / "three.png").read_bytes() == third


def test_hostile_pieces_are_refused_in_words_and_change_nothing(hub: Hub) -> None:
    draft_id = new_draft(hub, "Hostile")
    other_draft = new_draft(hub, "Another")
    body = os.urandom(10000)
    start_url = f"/admin/own-packs/{draft_id}/uploads"
    url = begin(hub, start_url, "film.mp4", len(body))
    other = begin(hub, start_url, "other.mp4", 500)
    assert put_piece(hub, url, body[:4000], 0, len(body))["received"] == 4000
    cases = [
        # A piece that skips ahead, or goes back over what the hub holds.
        (lambda: put_piece(hub, url, body[6000:8000], 6000, len(body)), 409, "byte 4000"),
        (lambda: put_piece(hub, url, body[1000:5000], 1000, len(body)), 409, "byte 4000"),
        # Beyond the declared size: ending past it, or naming a larger file.
        (lambda: put_piece(hub, url, body[4000:] + b"xx", 4000, len(body)), 400, "not possible"),
        (lambda: put_piece(hub, url, body[4000:], 4000, len(body) + 2), 400, "has 10002 bytes"),
        # Another file's piece: its size is not this upload's.
        (lambda: put_piece(hub, url, b"o" * 500, 4000, 500), 400, "not possible"),
        (lambda: put_piece(hub, url, b"o" * 100, 4000, 4100), 400, "has 4100 bytes"),
        # Asked to finish before every byte is there: where it stands, to resume from.
        (lambda: finish(hub, url), 409, "has 4000 of 10000 bytes"),
    ]
    for call, status, words in cases:
        code, headers, message = refused(call)
        assert code == status and words in message, (code, message)
        if code == 409:
            assert headers["X-Received"] == "4000"
    # An upload reached through another draft, or as an import, is unknown there.
    elsewhere = url.replace(f"/own-packs/{draft_id}/", f"/own-packs/{other_draft}/")
    as_import = "/admin/own-packs/import/uploads/" + url.rsplit("/", 1)[1]
    for wrong in (elsewhere, as_import):
        code, _, message = refused(
            lambda wrong=wrong: put_piece(hub, wrong, body[4000:], 4000, 10000)
        )
        assert code == 404 and message == "No such upload; start it again."
    assert where(hub, url)["received"] == 4000 and where(hub, other)["received"] == 0
    assert put_piece(hub, url, body[4000:], 4000, len(body))["done"] is True
    kept = hub.server.data_dir / "drafts" / str(draft_id) / "files" / "film.mp4"
    assert kept.read_bytes() == body
