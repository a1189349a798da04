"""Staging, publishing and unpublishing packs (content/importer.py)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from content import importer
from content.blobstore import BlobStore
from content.errors import PackError
from content.exercise import Exercise
from content.importer import StagedFile, StagedPack, media_type, stage_pack
from content.source import DEFAULT_LIMITS, Limits, open_source
from tests.content_helpers import (
    EXERCISE,
    lesson,
    sample_files,
    sample_manifest,
    symlink_entry,
    write_pack_dir,
    write_pack_zip,
    zip_bytes,
)


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    return tmp_path / "staging"


def stage(
    path: Path, store: BlobStore, staging: Path, limits: Limits = DEFAULT_LIMITS
) -> StagedPack:
    with open_source(path) as source:
        return stage_pack(source, store, staging, limits)


def refused(path: Path, store: BlobStore, staging: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """The one-line message staging fails with; and nothing may be left behind."""
    with pytest.raises(PackError) as caught:
        stage(path, store, staging, limits)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message, message
    assert not staging.exists() or list(staging.iterdir()) == []
    assert list(store.shas()) == []
    return message


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# -- a good pack -------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["folder", "zip"])
def test_stage_sample_pack(tmp_path: Path, store: BlobStore, staging: Path, form: str) -> None:
    path = (
        write_pack_dir(tmp_path / "p") if form == "folder" else write_pack_zip(tmp_path / "p.zip")
    )
    staged = stage(path, store, staging)
    files = sample_files()
    assert staged.manifest.id == "fractions-en"
    assert set(staged.files) == set(files) == staged.manifest.paths()
    for name, data in files.items():
        assert staged.files[name] == StagedFile(name, sha(data), len(data), media_type(name))
        assert (staged.folder / sha(data)).read_bytes() == data
    assert staged.files["v/intro.mp4"].media_type == "video/mp4"
    assert staged.files["v/intro.en.vtt"].media_type == "text/vtt"
    assert set(staged.exercises) == {"check-1"}
    exercise = staged.exercises["check-1"]
    assert isinstance(exercise, Exercise) and len(exercise.questions) == len(EXERCISE["questions"])
    assert staged.folder.parent == staging
    assert list(store.shas()) == []  # nothing published yet
    staged.discard()
    assert list(staging.iterdir()) == []


def test_publish_moves_blobs_into_the_store(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    staged = stage(write_pack_zip(tmp_path / "p.zip"), store, staging)
    added = staged.publish()
    expected = {sha(data) for data in sample_files().values()}
    assert set(added) == expected and len(added) == len(expected)
    for name, data in sample_files().items():
        assert store.path(sha(data)).read_bytes() == data
        assert store.hash_file(store.path(sha(data))) == staged.files[name].sha256
    staged.discard()
    assert list(staging.iterdir()) == []
    assert set(store.shas()) == expected


def test_publish_skips_blobs_already_present(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    first = stage(write_pack_zip(tmp_path / "a.zip"), store, staging)
    first.publish()
    first.discard()
    files = {**sample_files(), "halves/index.html": b"<h1>Halves, second edition</h1>"}
    second = stage(
        write_pack_dir(tmp_path / "b", sample_manifest(version="2"), files), store, staging
    )
    assert second.publish() == [sha(files["halves/index.html"])]
    second.unpublish()  # e.g. the database transaction failed
    assert not store.has(sha(files["halves/index.html"]))
    assert set(store.shas()) == {sha(data) for data in sample_files().values()}  # first pack intact
    second.discard()


def test_unpublish_deletes_only_what_publish_added(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    shared = sample_files()["halves/pie.svg"]
    before = staging.parent / "pre"
    before.mkdir()
    (before / "x").write_bytes(shared)
    store.put(before / "x", sha(shared))
    staged = stage(write_pack_zip(tmp_path / "p.zip"), store, staging)
    added = staged.publish()
    assert sha(shared) not in added
    staged.unpublish()
    assert list(store.shas()) == [sha(shared)]
    staged.unpublish()  # twice is harmless
    assert list(store.shas()) == [sha(shared)]
    staged.discard()


def test_publish_failure_removes_what_it_added(
    tmp_path: Path, store: BlobStore, staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = stage(write_pack_zip(tmp_path / "p.zip"), store, staging)
    real_put, calls = BlobStore.put, []

    def failing_put(self: BlobStore, source: Path, sha256: str, *, sync: bool = True) -> bool:
        calls.append(sha256)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_put(self, source, sha256, sync=sync)

    monkeypatch.setattr(BlobStore, "put", failing_put)
    with pytest.raises(PackError) as caught:
        staged.publish()
    assert (
        str(caught.value)
        == 'could not store the files of pack "fractions-en": No space left on device.'
    )
    assert list(store.shas()) == []
    staged.discard()


def test_same_content_twice_in_a_pack_is_staged_once(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    manifest = sample_manifest(
        lessons=[lesson("a", "article", "a.html", assets=["b.css", "c.css"])], topics=[]
    )
    files = {"a.html": b"<p>", "b.css": b"p{}", "c.css": b"p{}"}
    with stage(write_pack_dir(tmp_path / "p", manifest, files), store, staging) as staged:
        assert staged.files["b.css"].sha256 == staged.files["c.css"].sha256
        assert len(list(staged.folder.iterdir())) == 2
        assert len(staged.publish()) == 2
    assert not staging.exists() or list(staging.iterdir()) == []


def test_wrapped_zip_stages(tmp_path: Path, store: BlobStore, staging: Path) -> None:
    with stage(write_pack_zip(tmp_path / "p.zip", folder="fractions"), store, staging) as staged:
        assert staged.manifest.id == "fractions-en"


def test_pack_files_not_referenced_are_not_staged(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    files = {**sample_files(), "notes/draft.txt": b"not for students", ".DS_Store": b"x"}
    with stage(write_pack_dir(tmp_path / "p", sample_manifest(), files), store, staging) as staged:
        assert "notes/draft.txt" not in staged.files and ".DS_Store" not in staged.files
        assert len(list(staged.folder.iterdir())) == len(set(sample_files().values()))


# -- refused packs leave nothing behind ---------------------------------------------------------


def test_no_pack_json(tmp_path: Path, store: BlobStore, staging: Path) -> None:
    root = tmp_path / "q"
    root.mkdir()
    (root / "a.html").write_bytes(b"x")
    assert refused(root, store, staging) == (
        f"{root} is not a content pack: there is no pack.json at its root."
    )


def test_invalid_manifest_names_the_pack_file_and_field(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    manifest = sample_manifest()
    manifest["lessons"][2]["kind"] = "hologram"
    path = write_pack_zip(tmp_path / "p.zip", manifest, sample_files())
    message = refused(path, store, staging)
    assert message.startswith(f"{path}/pack.json: lessons[2].kind: expected one of article, video,")
    assert message.endswith('got "hologram"')


def test_bad_json_names_the_line(tmp_path: Path, store: BlobStore, staging: Path) -> None:
    root = write_pack_dir(tmp_path / "p")
    (root / "pack.json").write_text('{\n  "id": "x",\n  oops\n}')
    assert refused(root, store, staging) == (
        f"{root}/pack.json is not valid JSON: "
        'a field name without double quotes on line 3 (write "oops").'
    )


def test_pack_json_too_large(
    tmp_path: Path, store: BlobStore, staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_MANIFEST_BYTES", 100)
    root = write_pack_dir(tmp_path / "p")
    assert refused(root, store, staging) == f"{root}/pack.json is larger than 100 bytes."


def test_missing_file_names_file_and_lesson(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    files = sample_files()
    del files["v/intro.en.vtt"]
    root = write_pack_dir(tmp_path / "p", sample_manifest(), files)
    assert refused(root, store, staging) == (
        f'{root}: the file "v/intro.en.vtt" of lesson "intro-video" is not in the pack.'
    )


def test_a_missing_cover_is_named(tmp_path: Path, store: BlobStore, staging: Path) -> None:
    root = write_pack_dir(tmp_path / "p", sample_manifest(thumbnail="cover.png"), sample_files())
    assert refused(root, store, staging) == f'{root}: the cover "cover.png" is not in the pack.'


def test_missing_file_with_other_capitals_gets_a_hint(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    files = sample_files()
    files["V/Intro.mp4"] = files.pop("v/intro.mp4")
    path = write_pack_zip(tmp_path / "p.zip", sample_manifest(), files)
    assert refused(path, store, staging) == (
        f'{path}: the file "v/intro.mp4" of lesson "intro-video" is not in the pack '
        '(there is "V/Intro.mp4": names are case-sensitive).'
    )


def test_bad_exercise_file(tmp_path: Path, store: BlobStore, staging: Path) -> None:
    bad: dict[str, Any] = json.loads(json.dumps(EXERCISE))
    bad["questions"][0]["answer"] = 7  # out of range of the choices
    files = {**sample_files(), "check-1.json": json.dumps(bad).encode()}
    path = write_pack_zip(tmp_path / "p.zip", sample_manifest(), files)
    message = refused(path, store, staging)
    assert message.startswith(f"{path}/check-1.json: ")
    assert "questions[0]" in message


def test_exercise_that_is_not_json(tmp_path: Path, store: BlobStore, staging: Path) -> None:
    files = {**sample_files(), "check-1.json": b"{not json"}
    root = write_pack_dir(tmp_path / "p", sample_manifest(), files)
    assert refused(root, store, staging).startswith(f"{root}/check-1.json: ")


def test_exercise_too_large(
    tmp_path: Path, store: BlobStore, staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_EXERCISE_BYTES", 10)
    root = write_pack_dir(tmp_path / "p")
    assert refused(root, store, staging) == f"{root}/check-1.json is larger than 10 bytes."


def test_app_without_index_html(tmp_path: Path, store: BlobStore, staging: Path) -> None:
    files = {**sample_files(), "apps/pie.zip": zip_bytes([("start.html", b"<p>")])}
    root = write_pack_dir(tmp_path / "p", sample_manifest(), files)
    assert refused(root, store, staging) == (
        f'{root}/apps/pie.zip, the app of lesson "pie-game", has no index.html at its root.'
    )


def test_app_with_index_html_only_in_a_folder(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    files = {**sample_files(), "apps/pie.zip": zip_bytes([("pie/index.html", b"<p>")])}
    root = write_pack_dir(tmp_path / "p", sample_manifest(), files)
    assert refused(root, store, staging).endswith("has no index.html at its root.")


def test_app_that_is_not_a_zip(tmp_path: Path, store: BlobStore, staging: Path) -> None:
    files = {**sample_files(), "apps/pie.zip": b"<html>I am not a zip</html>"}
    root = write_pack_dir(tmp_path / "p", sample_manifest(), files)
    assert (
        refused(root, store, staging) == f"{root}/apps/pie.zip is neither a folder nor a zip file."
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            ("../../index.html", b"x"),
            'holds an entry whose name climbs out of the pack with ..: "../../index.html".',
        ),
        (symlink_entry("index.html"), 'holds a symbolic link at "index.html"; packs may not.'),
    ],
)
def test_hostile_app_zip(
    tmp_path: Path, store: BlobStore, staging: Path, entry: Any, expected: str
) -> None:
    files = {**sample_files(), "apps/pie.zip": zip_bytes([entry])}
    path = write_pack_zip(tmp_path / "p.zip", sample_manifest(), files)
    assert refused(path, store, staging) == f"{path}/apps/pie.zip {expected}"


def test_app_zip_bomb_uses_the_given_limits(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    app = zip_bytes([("index.html", b"<p>"), ("big.bin", bytes(2 * 1024**2))])
    files = {**sample_files(), "apps/pie.zip": app}
    root = write_pack_dir(tmp_path / "p", sample_manifest(), files)
    assert "looks like a zip bomb" in refused(root, store, staging)
    with stage(root, store, staging, Limits(max_ratio=100_000)) as staged:
        assert "apps/pie.zip" in staged.files


def test_hostile_pack_zip_is_refused_before_staging(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    path = write_pack_zip(
        tmp_path / "p.zip", sample_manifest(), {**sample_files(), "../evil.txt": b"x"}
    )
    with pytest.raises(PackError, match="climbs out of the pack"):
        stage(path, store, staging)
    assert not staging.exists()


def test_read_error_while_copying_leaves_nothing(
    tmp_path: Path, store: BlobStore, staging: Path
) -> None:
    root = write_pack_dir(tmp_path / "p")
    with open_source(root) as source:
        with open(root / "v" / "intro.mp4", "ab") as grow:
            grow.write(b"more")  # changed after listing: caught while copying
        with pytest.raises(PackError, match="holds more bytes than its declared"):
            stage_pack(source, store, staging)
    assert list(staging.iterdir()) == []


def test_write_error_while_copying_is_one_sentence(
    tmp_path: Path, store: BlobStore, staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(importer.os, "fsync", full_disk)
    root = write_pack_dir(tmp_path / "p")
    message = refused(root, store, staging)
    assert message == f"could not stage the files from {root}: No space left on device."


def test_staging_root_that_cannot_be_created(tmp_path: Path, store: BlobStore) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    root = write_pack_dir(tmp_path / "p")
    message = refused(root, store, blocker / "staging")
    assert message.startswith(f"cannot create a staging folder in {blocker / 'staging'}: ")


def test_failure_after_copying_removes_the_staged_files(
    tmp_path: Path, store: BlobStore, staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied: list[str] = []
    real = importer._stage_file

    def count(*args: Any) -> Any:
        staged = real(*args)
        copied.append(staged.path)
        return staged

    monkeypatch.setattr(importer, "_stage_file", count)
    files = {**sample_files(), "apps/pie.zip": zip_bytes([("x.html", b"x")])}
    root = write_pack_dir(tmp_path / "p", sample_manifest(), files)
    refused(root, store, staging)
    assert len(copied) == len(files)  # everything was copied, then all removed
    assert all_files(staging) == []


# -- media types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/index.html", "text/html"),
        ("A.HTM", "text/html"),
        ("v/intro.en.vtt", "text/vtt"),
        ("v.mp4", "video/mp4"),
        ("v.m4v", "video/mp4"),
        ("v.webm", "video/webm"),
        ("v.ogv", "video/ogg"),
        ("a.mp3", "audio/mpeg"),
        ("a.ogg", "audio/ogg"),
        ("a.opus", "audio/ogg"),
        ("a.m4a", "audio/mp4"),
        ("a.wav", "audio/wav"),
        ("d.pdf", "application/pdf"),
        ("i.svg", "image/svg+xml"),
        ("i.jpeg", "image/jpeg"),
        ("i.webp", "image/webp"),
        ("s.css", "text/css"),
        ("s.js", "text/javascript"),
        ("e.json", "application/json"),
        ("app.zip", "application/zip"),
        ("f.woff2", "font/woff2"),
        ("README", "application/octet-stream"),
        ("x.exe", "application/octet-stream"),
    ],
)
def test_media_type(path: str, expected: str) -> None:
    assert media_type(path) == expected


def test_media_types_cover_every_kind_extension() -> None:
    from content.manifest import KIND_EXTENSIONS, SUBTITLE_EXTENSIONS

    for extensions in [*KIND_EXTENSIONS.values(), SUBTITLE_EXTENSIONS]:
        for extension in extensions:
            assert media_type("x" + extension) != "application/octet-stream", extension


def test_staged_pack_is_a_context_manager(tmp_path: Path, store: BlobStore, staging: Path) -> None:
    with stage(write_pack_dir(tmp_path / "p"), store, staging) as staged:
        folder = staged.folder
        assert folder.is_dir()
    assert not folder.exists()
    assert os.listdir(staging) == []
