"""Files are written whole or not at all: a crash or a full disk mid-write leaves the old file
(or none) and no temporary file; a key file cut short by an older version is made anew."""

from __future__ import annotations

import errno
import os
import re
import urllib.request
from pathlib import Path

import pytest

from content import durable
from hub.core.datadir import secret_file
from sync.identity import KEY_FILE, load_or_create
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parent.parent


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


def test_an_error_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), durable.atomic_write(target) as out:
        out.write(b"half of the new")
        raise RuntimeError("power cut")
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_a_full_disk_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        durable.write_text(target, "new")
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_a_new_file_gets_its_mode_and_whole_content(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    durable.write_bytes(target, b"x" * 100, mode=0o600)
    assert target.read_bytes() == b"x" * 100
    assert target.stat().st_mode & 0o777 == 0o600


def test_exclusive_never_replaces_a_file_that_appeared(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_text("first")
    with pytest.raises(FileExistsError):
        durable.write_bytes(target, b"second", exclusive=True)
    assert target.read_text() == "first"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("cut", ["", "\n", "3f9a"])
def test_an_empty_or_short_secret_key_is_made_anew(tmp_path: Path, cut: str) -> None:
    path = tmp_path / "secret_key"
    path.write_text(cut)
    secret = secret_file(path)
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert path.read_text() == secret
    assert secret_file(path) == secret  # and kept from then on


def test_an_empty_hub_key_is_made_anew_and_kept(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_bytes(b"")
    keys = load_or_create(tmp_path)
    assert len((tmp_path / KEY_FILE).read_bytes()) == 32
    assert load_or_create(tmp_path).hub_id == keys.hub_id


def test_the_hub_starts_and_serves_setup_after_an_empty_secret_key(tmp_path: Path) -> None:
    """An older version could leave an empty key after a power cut; /admin/setup then
    answered 500 on every start."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_bytes(b"")
    server = LiveServer(data, env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        server.wait_until_ready()
        with urllib.request.urlopen(server.url + "/admin/setup", timeout=10) as response:
            assert response.status == 200
            assert "set-cookie" in {name.lower() for name in response.headers}
    finally:
        server.stop()
    assert len((data / "secret_key").read_text().strip()) == 64


# Where a file is still written by hand it is not a file read back as a whole later: an
# append-only journal, or a download's resumable part (checked by hash before it is used).
BY_HAND = {
    "content/durable.py": "the helper itself",
    "content/blobstore.py": "moves a hashed, fsynced file into the store by rename",
    "content/importer.py": "staging files, hashed before they enter the store",
    "content/zim/check.py": "a ZIM copied and checked whole (gigabytes) before it is renamed",
    "hub/library/draft_uploads.py": "an upload's resumable part, each piece flushed, then renamed",
    "hub/library/zims.py": "a checked ZIM renamed into the library, its folder flushed",
    "sync/central/zims.py": "a checked ZIM renamed into central's folder, its folder flushed",
    "sync/central/shared_packs.py": "a shared pack's file from a bundle, flushed, then renamed",
    "hub/core/clock.py": "the corrections journal is append-only",
    "hub/core/download.py": "a resumable download's part, checked whole before it is renamed",
    "hub/search/index.py": "a new search index that SQLite builds, then renamed into place",
    "sync/central/uploads.py": "an upload's resumable part, hashed before use",
}


def test_every_other_write_goes_through_the_helper() -> None:
    by_hand = re.compile(r"os\.fsync\(|os\.replace\(|\.tmp\"|\.tmp'")
    found = set()
    for package in ("hub", "content", "sync"):
        for path in (ROOT / package).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if by_hand.search(path.read_text(encoding="utf-8")):
                found.add(name)
    assert found <= set(BY_HAND), sorted(found - set(BY_HAND))
