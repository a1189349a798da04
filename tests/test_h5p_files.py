"""The files inside an H5P package through a real hub (waitress): a stored video seeks (206
with the right bytes, sent from the package file itself), a compressed one too (decompressed
as it streams), the player's cross-origin preflight is answered without credentials, and
the packages' file lists are kept in a bounded cache."""

from __future__ import annotations

import random
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from content.zip_members import ZipIndex
from hub.core.db import connected
from hub.library import h5p_packages
from hub.library.models import Lesson, PackFile
from hub.web.sendfile import PIECES_WHOLE_MAX
from tests.conftest import LiveServer
from tests.progress_helpers import prepare_hub
from tests.test_h5p import SHARED, rebuilt

pytestmark = pytest.mark.server

STORED = random.Random(7).randbytes(700_000)
DEFLATED = random.Random(8).randbytes(PIECES_WHOLE_MAX + 300_000)  # streams, not read whole


def video_package(path: Path) -> Path:
    """The real TrueFalse package with two videos added: one stored, one deflated."""
    rebuilt(SHARED / "H5P.TrueFalse.h5p", path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("content/videos/stored.mp4", STORED, zipfile.ZIP_STORED)
        archive.writestr("content/videos/deflated.mp4", DEFLATED, zipfile.ZIP_DEFLATED)
    return path


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    root = tmp_path_factory.mktemp("h5p-files")
    data = root / "data"
    prepare_hub(data, packs=[video_package(root / "Clip.h5p")], samples=False)
    with connected():
        lesson = Lesson.find("h5p-clip", "clip")
        assert lesson is not None
        archive = PackFile.find("h5p-clip", lesson.file_path)
        assert archive is not None
        base = f"/h5p/h5p-clip/clip/files/{archive.sha256}/"
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        yield server, server.url + base
    finally:
        server.stop()


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, _lower(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, _lower(err.headers), err.read()


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@pytest.mark.parametrize(("name", "body"), [("stored", STORED), ("deflated", DEFLATED)])
def test_a_video_in_a_package_seeks(hub: tuple[LiveServer, str], name: str, body: bytes) -> None:
    _, base = hub
    url = f"{base}content/videos/{name}.mp4"
    status, headers, whole = fetch(url)
    assert status == 200 and whole == body and headers["accept-ranges"] == "bytes"
    assert headers["content-type"] == "video/mp4" and "immutable" in headers["cache-control"]
    status, headers, part = fetch(url, Range="bytes=500000-500999")
    assert status == 206 and part == body[500_000:501_000]
    assert headers["content-range"] == f"bytes 500000-500999/{len(body)}"
    status, _, tail = fetch(url, Range="bytes=-100")
    assert status == 206 and tail == body[-100:]
    status, _, _ = fetch(url, Range=f"bytes={len(body)}-")
    assert status == 416
    status, _, _ = fetch(url, "GET", **{"If-None-Match": headers["etag"]})
    assert status == 304


def test_small_text_files_still_go_gzipped(hub: tuple[LiveServer, str]) -> None:
    _, base = hub
    status, headers, _ = fetch(base + "content/content.json", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip"


def test_missing_or_forbidden_files_are_not_found(hub: tuple[LiveServer, str]) -> None:
    _, base = hub
    assert fetch(base + "content/videos/nothing.mp4")[0] == 404
    assert fetch(base + "content/../h5p.json")[0] == 404
    wrong = base.replace("/files/", "/files/0").rsplit("/", 2)[0] + "/" + "0" * 64 + "/h5p.json"
    assert fetch(wrong)[0] == 404


def test_the_players_preflight_is_answered_without_credentials(
    hub: tuple[LiveServer, str],
) -> None:
    _, base = hub
    url = base + "H5P.TrueFalse-1.6/library.json"
    status, headers, _ = fetch(
        url,
        "OPTIONS",
        Origin="null",
        **{
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-requested-with",
        },
    )
    assert status == 204 and headers["access-control-allow-origin"] == "*"
    assert "X-Requested-With" in headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in headers
    status, headers, _ = fetch(url, Origin="null")
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in headers


def test_the_cache_of_package_indexes_is_bounded(tmp_path: Path) -> None:
    packages = [rebuilt(SHARED / "H5P.TrueFalse.h5p", tmp_path / f"{n}.h5p") for n in range(3)]
    h5p_packages._indexes.clear()
    first = h5p_packages.package_index("a", packages[0], kept=2)
    assert h5p_packages.package_index("a", packages[0], kept=2) is first
    h5p_packages.package_index("b", packages[1], kept=2)
    h5p_packages.package_index("c", packages[2], kept=2)
    assert list(h5p_packages._indexes) == ["b", "c"]
    assert isinstance(first, ZipIndex) and first.member("h5p.json") is not None
