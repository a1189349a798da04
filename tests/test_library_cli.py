"""`learnhub content ...`: import, upgrade, remove, verify; all or nothing, one-line errors."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.common import prepare_data_dir
from hub.cli.main import main
from hub.library import packs as library_module
from tests.conftest import SAMPLES
from tests.content_helpers import (
    sample_files,
    sample_manifest,
    symlink_entry,
    write_pack_dir,
    write_pack_zip,
    write_zip,
)


def run(runner: CliRunner, data: Path, *args: str) -> tuple[int, str, str]:
    command, rest = args[0], args[1:]
    result = runner.invoke(main, ["content", command, "--data", str(data), *rest])
    return result.exit_code, result.stdout, result.stderr


def snapshot(data: Path) -> tuple[dict[str, int], dict[str, list]]:
    """Every file of the data dir (but SQLite's own) with its size, and every library row."""
    files = {
        str(p.relative_to(data)): p.stat().st_size
        for p in data.rglob("*")
        if p.is_file() and not p.name.startswith("learnhub.db") and p.name != "library.lock"
    }
    with sqlite3.connect(data / "learnhub.db") as conn:
        rows = {
            table: sorted(map(repr, conn.execute(f"SELECT * FROM {table}")))
            for table in ("pack", "topic", "lesson", "topic_lesson", "pack_file")
        }
    return files, rows


def installed(runner: CliRunner, data: Path) -> dict[str, dict]:
    code, out, _ = run(runner, data, "list", "--json")
    assert code == 0
    return {row["id"]: row for row in json.loads(out)}


def test_import_folder_zip_and_list(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_pack_dir(tmp_path / "folder")
    other = sample_manifest(id="other-pack", title="Other")
    write_pack_zip(tmp_path / "other.zip", other, sample_files())
    code, out, err = run(
        runner, data, "import", str(tmp_path / "folder"), str(tmp_path / "other.zip")
    )
    assert code == 0, err
    assert "installed fractions-en 1.0.0" in out and "installed other-pack 1.0.0" in out
    packs = installed(runner, data)
    assert set(packs) == {"fractions-en", "other-pack"}
    assert packs["fractions-en"]["lessons"] == len(sample_manifest()["lessons"])
    code, out, _ = run(runner, data, "list")
    assert "fractions-en" in out and "Other" in out


def test_shared_files_are_stored_once(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_pack_dir(tmp_path / "a")
    write_pack_dir(tmp_path / "b", sample_manifest(id="second-pack"), sample_files())
    assert run(runner, data, "import", str(tmp_path / "a"), str(tmp_path / "b"))[0] == 0
    blobs = [p for p in (data / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == len(set(sample_files().values()))


def test_usb_folder_with_many_packs_reports_each(runner: CliRunner, tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    write_pack_dir(stick / "learnhub-packs" / "good")
    write_pack_zip(stick / "also-good.zip", sample_manifest(id="zipped-pack"), sample_files())
    write_zip(stick / "evil.zip", [("../../escape.txt", b"x"), ("pack.json", b"{}")])
    (stick / "notes.txt").write_text("not a pack")
    code, out, err = run(runner, tmp_path / "data", "import", str(stick))
    assert code == 1
    assert "installed fractions-en" in out and "installed zipped-pack" in out
    assert "refused" in err and "evil.zip" in err
    assert err.strip().splitlines()[-1].startswith("Error: 1 of 3 pack(s) were refused")
    assert set(installed(runner, tmp_path / "data")) == {"fractions-en", "zipped-pack"}
    assert not (tmp_path / "escape.txt").exists()


HOSTILE = {
    "traversal": lambda p: write_zip(p, [("pack.json", b"{}"), ("../evil.txt", b"x")]),
    "absolute": lambda p: write_zip(p, [("pack.json", b"{}"), ("/etc/evil", b"x")]),
    "symlink": lambda p: write_zip(p, [symlink_entry("a/index.html")]),
    "not a zip": lambda p: p.write_bytes(b"this is a text file with a zip name"),
    "empty zip": lambda p: write_zip(p, []),
    "bomb": lambda p: write_pack_zip(
        p, None, {**sample_files(), "a/filler.bin": b"\0" * (8 * 1024 * 1024)}
    ),
    "bad json": lambda p: write_zip(p, [("pack.json", b'{"format": ')]),
    "missing file": lambda p: write_pack_zip(
        p, None, {k: v for k, v in sample_files().items() if not k.endswith(".json")}
    ),
    "unknown kind": lambda p: write_pack_zip(p, _with_lesson(kind="hologram"), sample_files()),
    "duplicate id": lambda p: write_pack_zip(p, _duplicate_lesson(), sample_files()),
}


def _with_lesson(**changes: str) -> dict:
    manifest = sample_manifest()
    manifest["lessons"][0].update(changes)
    return manifest


def _duplicate_lesson() -> dict:
    manifest = sample_manifest()
    manifest["lessons"].append(dict(manifest["lessons"][0]))
    return manifest


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_pack_is_refused_and_changes_nothing(
    runner: CliRunner, tmp_path: Path, case: str
) -> None:
    data = tmp_path / "data"
    write_pack_dir(tmp_path / "good", sample_manifest(id="good-pack"), sample_files())
    assert run(runner, data, "import", str(tmp_path / "good"))[0] == 0
    before = snapshot(data)
    bad = tmp_path / "bad.zip"
    HOSTILE[case](bad)
    code, _, err = run(runner, data, "import", str(bad))
    assert code == 1
    refusal = [line for line in err.splitlines() if line.startswith("refused")]
    assert len(refusal) == 1 and "Traceback" not in err
    assert snapshot(data) == before
    assert not any((data / "staging").iterdir())


def test_hostile_folder_with_symlink(runner: CliRunner, tmp_path: Path) -> None:
    pack = write_pack_dir(tmp_path / "p")
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    html = next(p for p in pack.rglob("*.html"))
    html.unlink()
    html.symlink_to(secret)
    code, _, err = run(runner, tmp_path / "data", "import", str(pack))
    assert code == 1 and "symbolic link" in err.lower()


def test_higher_version_replaces_and_keeps_lesson_identity(
    runner: CliRunner, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    write_pack_dir(tmp_path / "v1")
    assert run(runner, data, "import", str(tmp_path / "v1"))[0] == 0
    v2 = sample_manifest(version="1.10.0", title="Fractions, second edition")
    files = sample_files()
    article = v2["lessons"][0]["file"]
    files[article] = b"<html><body>New text</body></html>"
    write_pack_dir(tmp_path / "v2", v2, files)
    code, out, _ = run(runner, data, "import", str(tmp_path / "v2"))
    assert code == 0 and "upgraded fractions-en 1.0.0 -> 1.10.0" in out
    with sqlite3.connect(data / "learnhub.db") as conn:
        lesson_ids = {r[0] for r in conn.execute("SELECT lesson_id FROM lesson")}
        shas = {r[0] for r in conn.execute("SELECT sha256 FROM pack_file")}
    assert lesson_ids == {lesson["id"] for lesson in v2["lessons"]}
    on_disk = {p.name for p in (data / "blobs").rglob("*") if p.is_file()}
    assert on_disk == shas  # the old article's blob went with the old version

    code, out, _ = run(runner, data, "import", str(tmp_path / "v2"))
    assert code == 0 and "unchanged" in out
    code, _, err = run(runner, data, "import", str(tmp_path / "v1"))
    assert code == 1 and "older than the installed version 1.10.0" in err


def test_database_failure_unpublishes_new_blobs(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    write_pack_dir(tmp_path / "good", sample_manifest(id="good-pack"), sample_files())
    assert run(runner, data, "import", str(tmp_path / "good"))[0] == 0
    before = snapshot(data)
    other_files = {**sample_files(), "extra/new.html": b"<p>new</p>"}
    other = sample_manifest()
    other["lessons"][0]["assets"] = ["extra/new.html"]
    write_pack_dir(tmp_path / "p", other, other_files)
    real_write = library_module._write_lessons

    def fail_half_way(manifest):
        real_write(manifest)
        raise library_module.PackError("The disk is full.")

    monkeypatch.setattr(library_module, "_write_lessons", fail_half_way)
    code, _, err = run(runner, data, "import", str(tmp_path / "p"))
    assert code == 1 and "The disk is full." in err
    assert snapshot(data) == before


def test_remove_deletes_only_unshared_blobs(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_pack_dir(tmp_path / "a")
    files = {**sample_files(), "only-b.html": b"<p>b</p>"}
    manifest = sample_manifest(id="pack-b")
    manifest["lessons"][0]["assets"] = ["only-b.html"]
    write_pack_dir(tmp_path / "b", manifest, files)
    assert run(runner, data, "import", str(tmp_path / "a"), str(tmp_path / "b"))[0] == 0
    count = len([p for p in (data / "blobs").rglob("*") if p.is_file()])
    code, out, _ = run(runner, data, "remove", "pack-b")
    assert code == 0 and "1 files" in out
    assert len([p for p in (data / "blobs").rglob("*") if p.is_file()]) == count - 1
    assert set(installed(runner, data)) == {"fractions-en"}
    code, _, err = run(runner, data, "remove", "pack-b")
    assert code == 1 and err.strip() == "Error: No pack with id 'pack-b' is installed."


def test_verify_names_damaged_files_and_lessons(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_pack_dir(tmp_path / "p")
    assert run(runner, data, "import", str(tmp_path / "p"))[0] == 0
    code, out, _ = run(runner, data, "verify")
    assert code == 0 and "intact" in out
    manifest = sample_manifest()
    article = manifest["lessons"][0]
    with sqlite3.connect(data / "learnhub.db") as conn:
        sha = conn.execute(
            "SELECT sha256 FROM pack_file WHERE path = ?", (article["file"],)
        ).fetchone()[0]
    blob = data / "blobs" / sha[:2] / sha
    blob.write_bytes(b"bit rot")
    code, _, err = run(runner, data, "verify")
    assert code == 1
    assert f"fractions-en/{article['file']} (changed); lessons: {article['id']}" in err
    blob.unlink()
    code, _, err = run(runner, data, "verify")
    assert code == 1 and "(missing)" in err


def test_crash_leftovers_are_swept(tmp_path: Path) -> None:
    from hub.core.settings import load_config
    from hub.web.app import create_app

    config = load_config(tmp_path / "data", {"load_samples": False}, environ={})
    create_app(prepare_data_dir(config))
    orphan = config.blobs_dir / "ab" / ("ab" + "0" * 62)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    stale = config.staging_dir / "import-crashed"
    stale.mkdir(parents=True)
    (stale / "part").write_bytes(b"x")
    fresh = config.blobs_dir / "cd" / ("cd" + "1" * 62)
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(b"another import is publishing this right now")
    old = time.time() - 2 * library_module.SWEEP_GRACE_SECONDS
    for path in (orphan, stale):
        os.utime(path, (old, old))
    (config.data_dir / library_module.UNTIDY_MARKER).write_bytes(b"")  # the crash left it
    create_app(prepare_data_dir(config))
    assert not orphan.exists() and not stale.exists()
    assert fresh.exists()
    assert not (config.data_dir / library_module.UNTIDY_MARKER).exists()


def test_a_clean_start_does_not_list_the_blob_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing 20,000 blobs took seconds of every start; only a crash mid-import needs it."""
    from content.blobstore import BlobStore
    from hub.core.settings import load_config
    from hub.web.app import create_app

    config = load_config(tmp_path / "data", {"load_samples": False}, environ={})
    app = create_app(prepare_data_dir(config))
    app.extensions["library"].import_paths([SAMPLES / "fractions-en"])
    assert not (config.data_dir / library_module.UNTIDY_MARKER).exists()

    def listed(self: BlobStore) -> None:
        raise AssertionError("the blob store was listed at start")

    monkeypatch.setattr(BlobStore, "shas", listed)
    create_app(prepare_data_dir(config))


def test_not_a_pack_at_all(runner: CliRunner, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    code, _, err = run(runner, tmp_path / "data", "import", str(text))
    assert code == 1 and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(runner, tmp_path / "data", "import", str(empty))
    assert code == 1 and "has no pack.json and no files that can be lessons" in err
