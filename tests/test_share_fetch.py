"""Copying packs from a neighbour hub: from a real hub, and from a hostile fake one that lies
about hashes, sizes, paths and ids, cuts the connection, or does not share at all. Whatever it
does, a refused pack changes nothing, and a cut copy resumes where it stopped."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from hub.cli.common import prepare_data_dir
from hub.cli.main import main
from hub.core.db import connected
from hub.core.settings import load_config
from hub.library.models import Lesson, Pack
from hub.library.packs import Library
from hub.neighbours import pack_fetcher as neighbour_copy
from hub.neighbours.errors import NeighbourError
from hub.neighbours.neighbour_hub import NeighbourHub, neighbour_url
from hub.neighbours.pack_fetcher import FetchOutcome, PackFetcher, fetch_packs
from hub.web.app import create_app
from tests.conftest import LiveServer
from tests.content_helpers import PACK_ID, sample_files, sample_manifest, write_pack_dir

BIG = "v/intro.mp4"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack_files() -> dict[str, bytes]:
    files = sample_files()
    files[BIG] = os.urandom(300_000)  # big enough to cut in the middle
    return files


class FakeNeighbour:
    """A hub's share API on 127.0.0.1 whose every answer a test can bend."""

    def __init__(self, manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        self.doc: dict[str, Any] = {
            "format": "learnhub-share/1",
            "id": manifest["id"],
            "version": manifest["version"],
            "title": manifest["title"],
            "size": sum(map(len, files.values())),
            "manifest": manifest,
            "files": [{"path": p, "sha256": sha(d), "size": len(d)} for p, d in files.items()],
        }
        self.blobs = {sha(d): d for d in files.values()}
        self.pack_id = manifest["id"]
        self.sharing = True
        self.body_for: dict[str, bytes] = {}  # sha -> other bytes to send
        self.length_for: dict[str, str | None] = {}  # sha -> Content-Length to claim (None: none)
        self.cut_after: dict[str, int] = {}  # sha -> bytes sent before the first cut
        self.ignore_range = False
        self.raw_doc: bytes | None = None  # sent instead of the pack's export document
        self.requests: list[tuple[str, str | None]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def blob_requests(self) -> list[tuple[str, str | None]]:
        return [(p.rsplit("/", 1)[1], r) for p, r in self.requests if "/blobs/" in p]

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
                if not fake.sharing:
                    error = {"code": "sharing_off", "message": "This hub does not share."}
                    return self._json(403, {"error": error})
                if self.path == "/api/share/packs":
                    offer = {k: fake.doc[k] for k in ("id", "version", "title", "size")}
                    offer |= {"description": "", "language": "en", "lessons": 4}
                    return self._json(200, {"format": "learnhub-share/1", "packs": [offer]})
                if self.path == f"/api/share/packs/{fake.pack_id}":
                    return self._json(200, fake.doc, fake.raw_doc)
                match = re.fullmatch(r"/api/share/blobs/([0-9a-f]{64})", self.path)
                if match and match[1] in fake.blobs:
                    return self._blob(match[1])
                return self._json(404, {"error": {"code": "not_found", "message": "No."}})

            def _json(self, status: int, doc: Any, raw: bytes | None = None) -> None:
                body = raw if raw is not None else json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _blob(self, digest: str) -> None:
                data = fake.body_for.get(digest, fake.blobs[digest])
                start = 0
                wanted = self.headers.get("Range")
                if wanted and not fake.ignore_range:
                    start = int(re.fullmatch(r"bytes=(\d+)-", wanted)[1])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                length = fake.length_for.get(digest, str(len(data) - start))
                if length is not None:
                    self.send_header("Content-Length", length)
                self.end_headers()
                cut = fake.cut_after.pop(digest, None)
                self.wfile.write(data[start : cut if cut is not None else None])
                self.wfile.flush()
                self.close_connection = True

        return Handler


@pytest.fixture
def files() -> dict[str, bytes]:
    return pack_files()


@pytest.fixture
def fake(files) -> Iterator[FakeNeighbour]:
    neighbour = FakeNeighbour(sample_manifest(), files)
    yield neighbour
    neighbour.close()


@pytest.fixture
def library(app: Flask) -> Library:
    return app.extensions["library"]


def fetch(library: Library, url: str, *pack_ids: str) -> FetchOutcome:
    (outcome,) = fetch_packs(library, url, list(pack_ids or [PACK_ID]))
    return outcome


def installed() -> dict[str, str]:
    with connected():
        return {p.id: p.version for p in Pack.select()}


def store_shas(library: Library) -> set[str]:
    return set(library.store.shas())


def leftovers(library: Library) -> list[str]:
    """What the copy machinery left in the data dir (downloads and pack views)."""
    root = neighbour_copy.neighbours_dir(library)
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "copy.lock"
    )


def assert_refused(library: Library, outcome: FetchOutcome, *words: str) -> None:
    assert outcome.copied is None and outcome.error
    assert "\n" not in outcome.error and "Traceback" not in outcome.error
    for word in words:
        assert word in outcome.error, outcome.error
    assert installed() == {}
    assert store_shas(library) == set()
    assert leftovers(library) == []


# --- a good neighbour ------------------------------------------------------------------------


@pytest.mark.server
def test_copies_a_pack_from_a_real_hub(tmp_path: Path, library: Library) -> None:
    server = LiveServer(
        tmp_path / "neighbour",
        env={"LEARNHUB_SHARE_PACKS": "true", "LEARNHUB_ADVERTISE": "false"},
    )
    try:
        server.wait_until_ready()
        outcome = fetch(library, server.url, "fractions-en")
        assert outcome.error is None, outcome.error
        copied = outcome.copied
        assert (copied.action, copied.pack_id) == ("installed", "fractions-en")
        assert copied.files > 0 and copied.bytes > 0
        with connected():
            assert len(Lesson.in_pack("fractions-en")) == copied.lessons > 0
        assert library.verify() == []
        assert leftovers(library) == []
        again = fetch(library, server.url, "fractions-en")
        assert again.copied.action == "unchanged" and again.copied.files == 0
    finally:
        server.stop()


@pytest.mark.server
def test_a_real_hub_that_does_not_share_says_so(live_server: LiveServer, library: Library):
    outcome = fetch(library, live_server.url, "fractions-en")
    assert_refused(library, outcome, "does not share its packs", live_server.url)


def test_only_the_blobs_this_hub_lacks_travel(
    tmp_path: Path, library: Library, fake: FakeNeighbour, files
) -> None:
    older = dict(files)
    older["halves/index.html"] = b"<!doctype html><h1>Halves (first edition)</h1>"
    local = write_pack_dir(tmp_path / "old", sample_manifest(version="0.9.0"), older)
    library.import_pack(local)
    outcome = fetch(library, fake.url)
    assert outcome.error is None, outcome.error
    assert (outcome.copied.action, outcome.copied.previous_version) == ("upgraded", "0.9.0")
    assert fake.blob_requests() == [(sha(files["halves/index.html"]), None)]
    assert (outcome.copied.files, outcome.copied.bytes) == (1, len(files["halves/index.html"]))
    assert installed() == {PACK_ID: "1.0.0"}
    assert library.verify() == []


def test_cut_mid_blob_then_resumes_where_it_stopped(
    library: Library, fake: FakeNeighbour, files
) -> None:
    big = sha(files[BIG])
    fake.cut_after[big] = 100_000
    first = fetch(library, fake.url)
    assert first.error and "run the copy again" in first.error
    assert installed() == {}
    part = neighbour_copy.neighbours_dir(library) / "downloads" / f"{big}.part"
    assert part.stat().st_size == 100_000  # kept for the next run

    second = fetch(library, fake.url)
    assert second.error is None, second.error
    assert second.copied.action == "installed"
    big_requests = [r for s, r in fake.blob_requests() if s == big]
    assert big_requests == [None, "bytes=100000-"]
    finished_first = {s for s, _ in fake.blob_requests()[: big_requests_at(fake, big)]}
    expected = sum(len(d) for d in files.values() if sha(d) not in finished_first) - 100_000
    assert second.copied.bytes == expected
    assert library.verify() == []
    assert leftovers(library) == []


def big_requests_at(fake: FakeNeighbour, big: str) -> int:
    """How many blobs the first run finished before it was cut in the big one."""
    return [s for s, _ in fake.blob_requests()].index(big)


def test_resume_against_a_server_that_ignores_range(
    library: Library, fake: FakeNeighbour, files
) -> None:
    big = sha(files[BIG])
    fake.cut_after[big] = 50_000
    fake.ignore_range = True
    assert fetch(library, fake.url).error
    outcome = fetch(library, fake.url)  # a 200 instead of a 206: start the file again
    assert outcome.error is None, outcome.error
    assert library.verify() == []


def test_cli_fetch_lists_and_copies(tmp_path: Path, fake: FakeNeighbour) -> None:
    runner = CliRunner()
    data = str(tmp_path / "cli-hub")
    listing = runner.invoke(main, ["content", "fetch", "--data", data, fake.url])
    assert listing.exit_code == 0, listing.output
    assert PACK_ID in listing.output and "Fractions" in listing.output
    copied = runner.invoke(main, ["content", "fetch", "--data", data, fake.url, PACK_ID])
    assert copied.exit_code == 0, copied.output
    assert re.search(rf"installed {PACK_ID} 1\.0\.0 \(4 lessons, 7 files", copied.output)
    fake.sharing = False
    refused = runner.invoke(main, ["content", "fetch", "--data", data, fake.url, PACK_ID])
    assert refused.exit_code == 1
    assert "does not share its packs" in refused.output
    assert "Traceback" not in refused.output


def test_cli_fetch_from_nowhere_is_one_sentence(tmp_path: Path) -> None:
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        main, ["content", "fetch", "--data", str(tmp_path / "d"), url, PACK_ID]
    )
    assert result.exit_code == 1
    assert f"Could not reach the hub at {url}" in result.output
    assert "Traceback" not in result.output


# --- a hostile neighbour ----------------------------------------------------------------------


def test_wrong_hash_is_refused(library: Library, fake: FakeNeighbour, files) -> None:
    target = sha(files["check-1.json"])
    fake.body_for[target] = b"X" * len(files["check-1.json"])  # same size, other content
    assert_refused(library, fetch(library, fake.url), "does not match its sha256")


def test_more_bytes_than_announced_in_the_header_is_refused(
    library: Library, fake: FakeNeighbour, files
) -> None:
    target = sha(files[BIG])
    fake.length_for[target] = str(len(files[BIG]) + 1000)
    fake.body_for[target] = files[BIG] + bytes(1000)
    assert_refused(library, fetch(library, fake.url), "announced", "refused")


def test_more_bytes_than_claimed_without_a_length_is_refused(
    library: Library, fake: FakeNeighbour, files
) -> None:
    target = sha(files[BIG])
    fake.length_for[target] = None  # the body just goes on until the connection closes
    fake.body_for[target] = files[BIG] + bytes(5000)
    assert_refused(library, fetch(library, fake.url), "sent more bytes than the")


@pytest.mark.parametrize(
    ("bend", "words"),
    [
        (lambda d: d["files"][0].update(size=3 * 1024**3), ["the limit is"]),
        (lambda d: d["files"].extend(d["files"][:1] * 25), ["more than 20 files"]),
        (lambda d: d["files"][0].update(path="../../evil.txt"), ["climbs out of the pack"]),
        (lambda d: d["files"][0].update(path="/etc/passwd"), ["absolute path"]),
        (lambda d: d["files"][0].update(path="pack.json"), ["manifest"]),
        (lambda d: d["files"][0].update(sha256="../" * 21 + "a"), ["sha256"]),
        (lambda d: d["files"][0].update(size=-1), ["size in bytes"]),
        (lambda d: d["files"][0].update(size="12"), ["size in bytes"]),
        (lambda d: d["files"].pop(), ["is not in its file list"]),
        (lambda d: d["files"].append(_extra()), ["is not used by its pack.json"]),
        (lambda d: d["manifest"]["lessons"][0].update(file="../../x.html"), ['"../../x.html"']),
        (lambda d: d.update(id="other-pack"), ["answered with pack", "other-pack"]),
        (lambda d: d["manifest"].update(id="other-pack"), ["answered with pack"]),
        (lambda d: d.update(format="something/9"), ["learnhub-share/1"]),
        (lambda d: d.pop("manifest"), ["has no pack.json"]),
        (lambda d: d.update(files="all of them"), ["has no file list"]),
    ],
)
def test_hostile_claims_are_refused_before_any_download(
    tmp_path: Path, fake: FakeNeighbour, bend: Callable[[dict], Any], words: list[str]
) -> None:
    config = load_config(tmp_path / "small", {"load_samples": False, "max_pack_files": 20}, {})
    library = create_app(prepare_data_dir(config)).extensions["library"]
    bend(fake.doc)
    assert_refused(library, fetch(library, fake.url), *words)
    assert fake.blob_requests() == []
    assert not (tmp_path / "evil.txt").exists()


def _extra() -> dict[str, Any]:
    return {"path": "extra.bin", "sha256": sha(b"extra"), "size": 5}


def test_claimed_total_over_the_pack_limit_is_refused(tmp_path: Path, fake: FakeNeighbour):
    config = load_config(tmp_path / "small", {"load_samples": False, "max_pack_bytes": 1000}, {})
    library = create_app(prepare_data_dir(config)).extensions["library"]
    assert_refused(library, fetch(library, fake.url), "the limit is 1000 bytes")
    assert fake.blob_requests() == []


def test_a_pack_the_importer_refuses_names_the_neighbour(
    library: Library, files: dict[str, bytes]
) -> None:
    broken = dict(files)
    broken["check-1.json"] = b'{"mastery": {"correct": 1, "of": 1}, "questions": "none"}'
    neighbour = FakeNeighbour(sample_manifest(), broken)
    try:
        outcome = fetch(library, neighbour.url)
    finally:
        neighbour.close()
    assert_refused(library, outcome, f"from the hub at {neighbour.url}", "check-1.json")
    assert "view-" not in outcome.error


@pytest.mark.parametrize(
    "raw", [b"[" * 200_000 + b"]" * 200_000, b"<html>not json</html>", b'{"format": 1', b"\xff"]
)
def test_export_that_is_not_json_is_refused(library: Library, fake: FakeNeighbour, raw) -> None:
    fake.raw_doc = raw
    assert_refused(library, fetch(library, fake.url), "did not answer with JSON")


def test_export_larger_than_plausible_is_refused(library: Library, fake: FakeNeighbour) -> None:
    fake.raw_doc = b" " * (8 * 1024**2 + 20_000 * 512 + 1) + b"{}"
    assert_refused(library, fetch(library, fake.url), "sent more than")


def test_a_blob_that_vanishes_is_refused(library: Library, fake: FakeNeighbour, files) -> None:
    del fake.blobs[sha(files["check-1.json"])]
    assert_refused(library, fetch(library, fake.url), "no longer has a file of this pack")


def test_sharing_off_is_refused_with_a_clear_sentence(library: Library, fake: FakeNeighbour):
    fake.sharing = False
    assert_refused(library, fetch(library, fake.url), "does not share its packs")


def test_an_unknown_pack_is_named(library: Library, fake: FakeNeighbour) -> None:
    assert_refused(library, fetch(library, fake.url, "no-such-pack"), 'no pack "no-such-pack"')


def test_older_than_installed_changes_nothing(
    tmp_path: Path, library: Library, fake: FakeNeighbour, files
) -> None:
    library.import_pack(write_pack_dir(tmp_path / "new", sample_manifest(version="2.0.0"), files))
    outcome = fetch(library, fake.url)
    assert outcome.error and "older than the installed version 2.0.0" in outcome.error
    assert fake.blob_requests() == []


def test_not_enough_disk_space_is_refused_before_downloading(
    library: Library, fake: FakeNeighbour, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Tiny:
        free = 1024

    monkeypatch.setattr(neighbour_copy.shutil, "disk_usage", lambda path: Tiny())
    assert_refused(library, fetch(library, fake.url), "free disk space")
    assert fake.blob_requests() == []


def test_one_copy_at_a_time(library: Library, fake: FakeNeighbour) -> None:
    busy = PackFetcher(library, NeighbourHub(fake.url))
    with busy.session(), pytest.raises(NeighbourError, match="Another copy"):
        fetch_packs(library, fake.url, [PACK_ID])


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("10.0.0.5:8080", "http://10.0.0.5:8080"),
        (" http://10.0.0.5:8080/admin/x?y=1 ", "http://10.0.0.5:8080"),
        ("hub.lan", "http://hub.lan"),
    ],
)
def test_neighbour_addresses(given: str, expected: str) -> None:
    assert neighbour_url(given) == expected


@pytest.mark.parametrize("given", ["file:///etc/passwd", "ftp://x", "http://", "x:port"])
def test_bad_neighbour_addresses(given: str) -> None:
    with pytest.raises(NeighbourError):
        neighbour_url(given)
