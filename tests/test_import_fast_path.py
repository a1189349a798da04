"""What made importing a folder disk-bound keeps its guarantees (#16 bench): pack.json is read
once, free space is checked before any copy, every staged file is flushed, and the rows
written with prepared statements are the rows the pack says."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from content import durable, importer, manifest
from content.blobstore import BlobStore
from content.errors import PackError, PackProblems
from content.source import open_source
from hub.cli.common import open_hub
from hub.cli.main import main
from hub.library.models import Lesson, PackFile, Topic, TopicLesson
from tests.content_helpers import write_pack_dir

DiskUsage = type(shutil.disk_usage("/"))  # (total, used, free)


def run(runner: CliRunner, data: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(main, ["content", args[0], "--data", str(data), *args[1:]])
    return result.exit_code, result.stdout, result.stderr


def test_pack_json_is_parsed_once_per_import(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    real = manifest.parse_manifest

    def counted(data: bytes, origin: str) -> Any:
        parsed.append(origin)
        return real(data, origin)

    monkeypatch.setattr(importer, "parse_manifest", counted)
    pack = write_pack_dir(tmp_path / "pack")
    code, out, _ = run(runner, tmp_path / "data", "import", str(pack))
    assert code == 0 and out.startswith("installed fractions-en"), out
    assert len(parsed) == 1
    code, out, _ = run(runner, tmp_path / "data", "import", str(pack))
    assert code == 0 and out.startswith("unchanged fractions-en"), out
    assert len(parsed) == 2


def test_a_pack_the_disk_cannot_hold_is_refused_before_any_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = write_pack_dir(tmp_path / "pack")
    staging, store = tmp_path / "staging", BlobStore(tmp_path / "blobs")
    with open_source(pack) as source:
        size = sum(source.size(path) for path in importer.check_pack(source).manifest.paths())
        free = [size + importer.FREE_SPACE_MARGIN]  # just enough: it stages
        monkeypatch.setattr(shutil, "disk_usage", lambda _: DiskUsage(free[0], 0, free[0]))
        importer.stage_pack(source, store, staging).discard()
        free[0] -= 1  # a byte short: refused
        with pytest.raises(PackError) as caught:
            importer.stage_pack(source, store, staging)
    assert "needs" in str(caught.value) and "nothing was copied" in str(caught.value)
    assert list(staging.iterdir()) == [] and list(store.shas()) == []


def test_every_staged_file_is_flushed_before_staging_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[Path] = []
    real = durable._fsync_file

    def counted(path: Path) -> None:
        real(path)
        flushed.append(path)

    monkeypatch.setattr(durable, "_fsync_file", counted)
    pack = write_pack_dir(tmp_path / "pack")
    with open_source(pack) as source:
        staged = importer.stage_pack(source, BlobStore(tmp_path / "blobs"), tmp_path / "staging")
    with staged:
        blobs = {staged.folder / file.sha256 for file in staged.files.values()}
        assert blobs <= set(flushed)


def test_a_file_that_cannot_be_flushed_fails_the_wait(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.write_bytes(b"x")
    with durable.Flusher() as flusher:
        flusher.add(kept)
        flusher.wait()
        flusher.add(tmp_path / "gone")
        with pytest.raises(FileNotFoundError):
            flusher.wait()


def test_rows_written_in_one_statement_are_the_packs(tmp_path: Path, runner: CliRunner) -> None:
    folder = tmp_path / "Class 4" / "01 - Water"
    folder.mkdir(parents=True)
    for number in range(1, 4):
        (folder / f"0{number} - Rain {number}.pdf").write_bytes(os.urandom(100 + number))
    code, out, _ = run(runner, tmp_path / "data", "import", str(tmp_path / "Class 4"))
    assert code == 0 and out.startswith("installed folder-class-4"), out
    with open_hub(tmp_path / "data"):
        lessons = list(Lesson.select().order_by(Lesson.position))
        assert [lesson.title for lesson in lessons] == ["Rain 1", "Rain 2", "Rain 3"]
        assert all(isinstance(lesson.meta, dict) and lesson.keywords == [] for lesson in lessons)
        files = {row.path: row.size for row in PackFile.select()}
        assert files == {f"01 - Water/0{n} - Rain {n}.pdf": 100 + n for n in range(1, 4)}
        (topic,) = Topic.select()
        links = TopicLesson.select().where(TopicLesson.topic == topic)
        ordered = [link.lesson.title for link in links.order_by(TopicLesson.position)]
        assert ordered == ["Rain 1", "Rain 2", "Rain 3"]


def test_content_the_store_holds_is_not_flushed_again_unless_it_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade stages every file, but writes to the disk only what the store lacks; a blob
    gone from the store before publishing is flushed then, before it is stored."""
    pack, store = write_pack_dir(tmp_path / "pack"), BlobStore(tmp_path / "blobs")
    with open_source(pack) as source:
        first = importer.stage_pack(source, store, tmp_path / "staging")
    with first:
        first.publish()
    flushed: list[Path] = []
    real = durable._fsync_file

    def counted(path: Path) -> None:
        real(path)
        flushed.append(path)

    monkeypatch.setattr(durable, "_fsync_file", counted)
    with open_source(pack) as source:
        again = importer.stage_pack(source, store, tmp_path / "staging")
    with again:
        shas = {file.sha256 for file in again.files.values()}
        assert again.unflushed == shas and flushed == []
        gone = sorted(shas)[0]
        store.delete(gone)
        assert again.publish() == [gone]
        assert flushed == [again.folder / gone] and store.has(gone)
        assert store.hash_file(store.path(gone)) == gone


def test_a_folder_is_checked_while_its_files_are_copied_and_refused_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = write_pack_dir(tmp_path / "pack")
    staging, store = tmp_path / "staging", BlobStore(tmp_path / "blobs")
    copying = threading.Event()

    def checked_late(source: Any, manifest: Any = None) -> Any:
        assert copying.wait(10), "no file was copied while the pack was checked"
        raise PackProblems(["pack: a lesson's quiz is broken."])

    monkeypatch.setattr(importer, "check_pack", checked_late)
    with open_source(pack) as source, pytest.raises(PackProblems) as caught:
        importer.stage_pack(source, store, staging, progress=lambda done, total: copying.set())
    assert caught.value.problems == ["pack: a lesson's quiz is broken."]
    assert list(staging.iterdir()) == [] and list(store.shas()) == []


def test_a_copy_no_longer_wanted_stops_at_its_next_chunk() -> None:
    told: list[tuple[int, int]] = []
    counter = importer._Counter(lambda done, total: told.append((done, total)), 10)
    counter.add(4)
    counter.grow(5)
    counter.add(6)
    counter.stop()
    with pytest.raises(importer._Stopped):
        counter.add(1)
    assert told == [(4, 10), (10, 15)]
