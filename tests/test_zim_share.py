"""ZIM files copied between hubs like packs: a real hub's share API lists its ZIMs (name,
uuid, size, the MD5 each file ends with) and serves them with Range; another hub copies them
through the one resumable downloader and imports them with the full checks. A hostile
neighbour (lying sizes, wrong bytes, another file than it offered, huge claims, cuts) is
refused with one sentence, and nothing is left half-written."""

from __future__ import annotations

import json
import re
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from content.zim.format import identity
from hub.cli.main import main
from hub.core.db import connected
from hub.library.models import ZimArchive
from hub.library.packs import Library
from hub.neighbours import pack_fetcher
from hub.neighbours.pack_fetcher import FetchOutcome, fetch_packs
from tests.conftest import LiveServer
from tests.progress_helpers import prepare_hub
from tests.zim_helpers import RAY, ZimSpec, flip_byte, make_zim

RAY_NAME = "wikipedia_en_ray_charles"


@pytest.fixture(scope="module")
def sharing_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("zim-share")
    made = make_zim(root / "made" / "small.zim", ZimSpec(name="small_zim_en", date="2024-05-01"))
    prepare_hub(root / "data", packs=[RAY, made], samples=False)
    server = LiveServer(root / "data", env={"LEARNHUB_SHARE_PACKS": "true"})
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def library(app: Flask) -> Library:
    return app.extensions["library"]


def offer_of(path: Path, name: str, **changes: Any) -> dict[str, Any]:
    found = identity(path, name)
    offer = {"id": name, "uuid": found.uuid, "md5": found.md5, "size": found.size}
    return offer | {"title": name, "language": "en", "date": "2024-01-01", "articles": 1} | changes


class FakeZimNeighbour:
    """A hub's share API for ZIMs on 127.0.0.1 whose every answer a test can bend."""

    def __init__(self, offers: list[dict[str, Any]], files: dict[str, bytes]) -> None:
        self.offers = offers
        self.files = files  # uuid -> the bytes it sends
        self.length_for: dict[str, str] = {}  # uuid -> the Content-Length it claims
        self.cut_after: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def file_requests(self) -> list[str | None]:
        return [r for p, r in self.requests if p.startswith("/api/share/zims/")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append((self.path, self.headers.get("Range")))
                if self.path == "/api/share/zims":
                    body = json.dumps({"format": "learnhub-share/1", "zims": fake.offers}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                match = re.fullmatch(r"/api/share/zims/([0-9a-f-]{36})", self.path)
                if not match or match[1] not in fake.files:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._file(match[1])

            def _file(self, the_uuid: str) -> None:
                data, start = fake.files[the_uuid], 0
                wanted = self.headers.get("Range")
                if wanted:
                    start = int(re.fullmatch(r"bytes=(\d+)-", wanted)[1])  # type: ignore[index]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                length = fake.length_for.get(the_uuid, str(len(data) - start))
                self.send_header("Content-Length", length)
                self.end_headers()
                cut = fake.cut_after.pop(the_uuid, None)
                self.wfile.write(data[start : cut if cut is not None else None])
                self.wfile.flush()
                self.close_connection = True

        return Handler


def fetch(library: Library, url: str, name: str = RAY_NAME) -> FetchOutcome:
    (outcome,) = fetch_packs(library, url, [f"zim:{name}"])
    return outcome


def installed() -> dict[str, str]:
    with connected():
        return {z.name: z.uuid for z in ZimArchive.select()}


def leftovers(library: Library) -> list[str]:
    root = pack_fetcher.neighbours_dir(library)
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "copy.lock"
    )


def zim_folder(library: Library) -> list[str]:
    folder = library.zims.folder
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def assert_refused(library: Library, outcome: FetchOutcome, *words: str) -> None:
    assert outcome.copied is None and outcome.error
    assert "\n" not in outcome.error and "Traceback" not in outcome.error
    for word in words:
        assert word in outcome.error, outcome.error
    assert installed() == {}
    assert zim_folder(library) == []
    assert leftovers(library) == []


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        with err:
            return err.code


# --- a real hub ------------------------------------------------------------------------------


@pytest.mark.server
def test_the_share_api_lists_and_serves_zims(sharing_hub: LiveServer) -> None:
    with urllib.request.urlopen(sharing_hub.url + "/api/share/zims", timeout=30) as answer:
        doc = json.load(answer)
    offers = {offer["id"]: offer for offer in doc["zims"]}
    assert set(offers) == {RAY_NAME, "small_zim_en"}
    ray = offers[RAY_NAME]
    found = identity(RAY, "ray")
    assert (ray["uuid"], ray["md5"], ray["size"]) == (found.uuid, found.md5, found.size)
    request = urllib.request.Request(
        f"{sharing_hub.url}/api/share/zims/{found.uuid}", headers={"Range": "bytes=100-"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 206 and answer.read() == RAY.read_bytes()[100:]
    assert status_of(f"{sharing_hub.url}/api/share/zims/{'0' * 36}") == 404


@pytest.mark.server
def test_a_hub_that_does_not_share_lists_no_zims(live_server: LiveServer) -> None:
    assert status_of(live_server.url + "/api/share/zims") == 403


@pytest.mark.server
def test_copies_a_zim_from_a_real_hub(sharing_hub: LiveServer, library: Library) -> None:
    outcome = fetch(library, sharing_hub.url)
    assert outcome.error is None, outcome.error
    copied = outcome.copied
    assert copied is not None
    assert (copied.pack_id, copied.action, copied.version) == (
        f"zim:{RAY_NAME}",
        "installed",
        "2020-03-31",
    )
    assert copied.bytes == RAY.stat().st_size and copied.lessons == 129
    with connected():
        archive = ZimArchive.by_name(RAY_NAME)
    assert archive is not None
    assert library.zims.path_of(archive).read_bytes() == RAY.read_bytes()
    assert library.zims.verify() == []
    assert leftovers(library) == []
    again = fetch(library, sharing_hub.url)
    assert again.copied is not None and (again.copied.action, again.copied.bytes) == (
        "unchanged",
        0,
    )


@pytest.mark.server
def test_the_cli_lists_and_copies_zims(sharing_hub: LiveServer, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(
        main, ["content", "fetch", sharing_hub.url, "--data", str(tmp_path / "d")]
    )
    assert listed.exit_code == 0, listed.output
    assert f"zim:{RAY_NAME}  2020-03-31  en  129 articles" in listed.output
    assert "zim:small_zim_en" in listed.output
    data = tmp_path / "d"
    copied = runner.invoke(
        main, ["content", "fetch", "--data", str(data), sharing_hub.url, "zim:small_zim_en"]
    )
    assert copied.exit_code == 0, copied.output
    assert "installed zim:small_zim_en 2024-05-01" in copied.output
    shown = runner.invoke(main, ["content", "list", "--data", str(data)])
    assert "small_zim_en" in shown.output


# --- a hostile neighbour ---------------------------------------------------------------------


@pytest.fixture
def ray_bytes() -> bytes:
    return RAY.read_bytes()


def serve(offers: list[dict[str, Any]], files: dict[str, bytes]) -> FakeZimNeighbour:
    return FakeZimNeighbour(offers, files)


@pytest.fixture
def fakes() -> Iterator[list[FakeZimNeighbour]]:
    made: list[FakeZimNeighbour] = []
    yield made
    for fake in made:
        fake.close()


def test_a_cut_copy_resumes_where_it_stopped(
    library: Library, fakes: list, ray_bytes: bytes
) -> None:
    offer = offer_of(RAY, RAY_NAME)
    fake = serve([offer], {offer["uuid"]: ray_bytes})
    fakes.append(fake)
    fake.cut_after[offer["uuid"]] = 100_000
    first = fetch(library, fake.url)
    assert first.error and "run the copy again" in first.error
    assert installed() == {} and zim_folder(library) == []
    [part] = leftovers(library)
    assert part.endswith(".part")
    second = fetch(library, fake.url)
    assert second.error is None, second.error
    assert fake.file_requests() == [None, "bytes=100000-"]
    assert second.copied is not None and second.copied.bytes == len(ray_bytes) - 100_000
    assert list(installed()) == [RAY_NAME] and leftovers(library) == []


def test_wrong_bytes_are_refused_by_the_checksum(
    library: Library, fakes: list, ray_bytes: bytes, tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged.zim"
    shutil.copyfile(RAY, damaged)
    flip_byte(damaged, len(ray_bytes) // 2)  # header and trailing MD5 intact: only the bytes lie
    offer = offer_of(RAY, RAY_NAME)
    fake = serve([offer], {offer["uuid"]: damaged.read_bytes()})
    fakes.append(fake)
    assert_refused(library, fetch(library, fake.url), "was refused", "nothing was changed")


def test_another_file_than_offered_is_refused(
    library: Library, fakes: list, tmp_path: Path
) -> None:
    other = make_zim(tmp_path / "other.zim", ZimSpec(name=RAY_NAME))
    offer = offer_of(RAY, RAY_NAME, size=other.stat().st_size)
    fake = serve([offer], {offer["uuid"]: other.read_bytes()})
    fakes.append(fake)
    assert_refused(library, fetch(library, fake.url), "not the ZIM it offered")


def test_more_bytes_than_claimed_are_refused(
    library: Library, fakes: list, ray_bytes: bytes
) -> None:
    offer = offer_of(RAY, RAY_NAME, size=len(ray_bytes) - 1000)
    fake = serve([offer], {offer["uuid"]: ray_bytes})
    fakes.append(fake)
    assert_refused(library, fetch(library, fake.url), "was refused")


def test_a_lying_content_length_is_refused(library: Library, fakes: list, ray_bytes: bytes) -> None:
    offer = offer_of(RAY, RAY_NAME)
    fake = serve([offer], {offer["uuid"]: ray_bytes})
    fake.length_for[offer["uuid"]] = str(10**12)
    fakes.append(fake)
    assert_refused(library, fetch(library, fake.url), "was refused")


def test_a_huge_claim_is_refused_before_a_byte_moves(library: Library, fakes: list) -> None:
    offer = offer_of(RAY, RAY_NAME, size=10**17)
    fake = serve([offer], {})
    fakes.append(fake)
    assert_refused(library, fetch(library, fake.url), "free disk space", "nothing was copied")
    assert fake.file_requests() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"size": -1},
        {"size": "569304"},
        {"uuid": "../../etc/passwd"},
        {"md5": "zz"},
        {"id": "../escape"},
        {"title": "x" * 5000},
        {"articles": 1.5},
    ],
)
def test_an_offer_that_does_not_read_is_left_out(
    library: Library, fakes: list, ray_bytes: bytes, bad: dict[str, Any]
) -> None:
    offer = offer_of(RAY, RAY_NAME, **bad)
    fake = serve([offer, "garbage", None], {})
    fakes.append(fake)
    name = bad.get("id", RAY_NAME)
    assert_refused(library, fetch(library, fake.url, name), "offers no ZIM named")
    assert fake.file_requests() == []


def test_an_older_edition_is_refused_before_downloading(
    library: Library, fakes: list, ray_bytes: bytes, tmp_path: Path
) -> None:
    newer = make_zim(tmp_path / "new.zim", ZimSpec(name="dated_zim", date="2025-01-01"))
    older = make_zim(tmp_path / "old.zim", ZimSpec(name="dated_zim", date="2020-01-01"))
    library.import_paths([newer])
    offer = offer_of(older, "dated_zim", date="2020-01-01")
    fake = serve([offer], {offer["uuid"]: older.read_bytes()})
    fakes.append(fake)
    outcome = fetch(library, fake.url, "dated_zim")
    assert outcome.error and "older than the installed one" in outcome.error
    assert fake.file_requests() == [] and list(installed()) == ["dated_zim"]
