"""The content-addressed blob store (content/blobstore.py)."""

from __future__ import annotations

import errno
import hashlib
import io
import os
from pathlib import Path

import pytest

from content import blobstore
from content.blobstore import BlobStore, hash_stream

DATA = b"one half is one of two equal parts"
SHA = hashlib.sha256(DATA).hexdigest()


def staged(tmp_path: Path, data: bytes = DATA) -> Path:
    path = tmp_path / "staging" / hashlib.sha256(data).hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_layout(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    assert store.path(SHA) == tmp_path / "blobs" / SHA[:2] / SHA


@pytest.mark.parametrize("bad", ["", "abc", SHA.upper(), SHA + "0", "../" + SHA[3:], "g" * 64])
def test_path_refuses_what_is_not_a_sha256(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="not a sha256"):
        BlobStore(tmp_path).path(bad)


def test_put_has_delete(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    source = staged(tmp_path)
    assert not store.has(SHA)
    assert store.put(source, SHA) is True
    assert store.has(SHA) and store.path(SHA).read_bytes() == DATA
    assert not source.exists()  # moved, not copied
    store.delete(SHA)
    assert not store.has(SHA)
    store.delete(SHA)  # deleting a missing blob is fine


def test_put_skips_a_blob_already_present(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    assert store.put(staged(tmp_path), SHA)
    before = store.path(SHA).stat().st_ino
    again = staged(tmp_path)
    assert store.put(again, SHA) is False
    assert again.exists()  # left for the staging cleanup
    assert store.path(SHA).stat().st_ino == before


def test_put_fsyncs_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(blobstore, "fsync_dir", synced.append)
    store = BlobStore(tmp_path / "blobs")
    store.put(staged(tmp_path), SHA)
    assert synced == [tmp_path / "blobs", tmp_path / "blobs" / SHA[:2]]


def test_put_across_file_systems_copies_then_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    calls: list[tuple[str, str]] = []

    def replace(src: str | Path, dst: str | Path) -> None:
        calls.append((str(src), str(dst)))
        if len(calls) == 1:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(blobstore.os, "replace", replace)
    store = BlobStore(tmp_path / "blobs")
    assert store.put(staged(tmp_path), SHA)
    assert store.path(SHA).read_bytes() == DATA
    assert Path(calls[1][0]).parent == store.path(SHA).parent  # a temp file beside the target
    assert sorted(p.name for p in store.path(SHA).parent.iterdir()) == [SHA]


def test_put_reraises_other_errors(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    with pytest.raises(FileNotFoundError):
        store.put(tmp_path / "missing", SHA)


def test_hash_file_and_stream(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = os.urandom(3 * 1024 * 1024 + 7)  # more than one chunk
    path.write_bytes(data)
    assert BlobStore(tmp_path).hash_file(path) == hashlib.sha256(data).hexdigest()
    copy = io.BytesIO()
    assert hash_stream(io.BytesIO(data), copy) == (hashlib.sha256(data).hexdigest(), len(data))
    assert copy.getvalue() == data


def test_shas_lists_blobs_and_skips_strays(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    assert list(store.shas()) == []  # no folder yet
    others = [hashlib.sha256(bytes([n])).hexdigest() for n in range(3)]
    for data, sha in [(DATA, SHA), *((bytes([n]), s) for n, s in enumerate(others))]:
        store.put(staged(tmp_path, data), sha)
    prefix = store.path(SHA).parent
    (prefix / ".tmp-123").write_bytes(b"partial")
    (prefix / ("f" * 64)).write_bytes(b"wrong folder")
    (tmp_path / "blobs" / "notes").mkdir()
    (tmp_path / "blobs" / "README").write_text("x")
    assert list(store.shas()) == sorted([SHA, *others])
