"""A zipped Kolibri export unpacked into staging (content/kolibri/export_zip.py): found at the
zip's top, under KOLIBRI_DATA or under one wrapping folder; a pack zip left alone; and a
damaged, oversized or disk-filling zip refused in one sentence with nothing left behind."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from content.errors import PackError
from content.kolibri import find_channels
from content.kolibri.export_zip import export_prefix, unpack_export
from content.source import Limits
from tests.kolibri_helpers import CHANNEL, EXPORT
from tests.test_kolibri_upload import damage_last_entry, zip_export

# its databases and storage files; content/manifest.json (Kolibri's list for importcontent)
# is not read
EXPORT_FILES = sum(
    1 for path in (EXPORT / "KOLIBRI_DATA" / "content").rglob("*/*") if path.is_file()
)


def staged(staging: Path) -> list[Path]:
    return list(staging.iterdir()) if staging.exists() else []


@pytest.mark.parametrize("wrap", ["", "Desktop/"])
@pytest.mark.parametrize("inner", ["KOLIBRI_DATA/", ""])
def test_an_export_is_found_and_unpacked_whole(tmp_path: Path, wrap: str, inner: str) -> None:
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w") as out:
        for path in sorted((EXPORT / "KOLIBRI_DATA").rglob("*")):
            if path.is_file():
                relative = path.relative_to(EXPORT / "KOLIBRI_DATA").as_posix()
                out.write(path, f"{wrap}{inner}{relative}")
        out.writestr("__MACOSX/._export", b"resource fork")
        out.writestr(f"{wrap}{inner}notes.txt", b"not part of the export")
    seen: list[tuple[int, int]] = []
    folder = unpack_export(zipped, tmp_path / "staging", progress=lambda *at: seen.append(at))
    assert folder is not None and folder.parent == tmp_path / "staging"
    assert find_channels(folder) == [
        folder / "KOLIBRI_DATA" / "content" / "databases" / f"{CHANNEL}.sqlite3"
    ]
    unpacked = [path for path in folder.rglob("*") if path.is_file()]
    assert len(unpacked) == EXPORT_FILES  # the export's files only
    total = sum(path.stat().st_size for path in unpacked)
    assert seen[-1] == (total, total) and len(seen) >= EXPORT_FILES


def test_where_the_export_sits_in_a_zip() -> None:
    database = f"content/databases/{CHANNEL}.sqlite3"
    assert export_prefix([f"KOLIBRI_DATA/{database}"]) == "KOLIBRI_DATA/"
    assert export_prefix([f"stick/{database}", "__MACOSX/x"]) == "stick/"
    assert export_prefix([f"a/{database}", f"b/{database}"]) is None  # two folders: which?
    assert export_prefix([f"a/b/{database}"]) is None  # deeper than one wrapping folder
    assert export_prefix(["content/databases/channel.sqlite3"]) is None  # not a channel id


def test_a_pack_zip_is_left_to_the_pack_import(tmp_path: Path) -> None:
    zipped = tmp_path / "pack.zip"
    with zipfile.ZipFile(zipped, "w") as out:
        out.writestr("my-pack/pack.json", b"{}")
        out.write(
            EXPORT / "KOLIBRI_DATA" / "content" / "databases" / f"{CHANNEL}.sqlite3", "my-pack/db"
        )
    assert unpack_export(zipped, tmp_path / "staging") is None
    assert staged(tmp_path / "staging") == []


def test_a_zip_damaged_late_is_refused_and_what_was_written_is_deleted(tmp_path: Path) -> None:
    zipped = damage_last_entry(zip_export(tmp_path / "export.zip"))
    seen: list[tuple[int, int]] = []
    with pytest.raises(PackError, match=r'^export\.zip: "KOLIBRI_DATA/content/storage/') as refused:
        unpack_export(zipped, tmp_path / "staging", progress=lambda *at: seen.append(at))
    assert "\n" not in str(refused.value)
    assert seen and seen[-1][0] > 0  # files were written before the damage was found
    assert staged(tmp_path / "staging") == []


def test_an_export_larger_than_the_limits_is_refused_before_writing(tmp_path: Path) -> None:
    zipped = zip_export(tmp_path / "export.zip")
    with pytest.raises(PackError, match=r"export\.zip unpacks to .*; the limit is 1\.0 MB\."):
        unpack_export(zipped, tmp_path / "staging", Limits(max_total_bytes=1024**2))
    with pytest.raises(PackError, match=r"has more than 10 files\."):
        unpack_export(zipped, tmp_path / "staging", Limits(max_files=10))
    assert staged(tmp_path / "staging") == []


def test_no_room_on_the_disk_is_said_before_writing(tmp_path: Path, monkeypatch) -> None:
    zipped = zip_export(tmp_path / "export.zip")
    # A real full disk cannot be made here; the free space the disk reports is replaced.
    usage = shutil.disk_usage(tmp_path)._replace(free=10 * 1024**2)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage)
    with pytest.raises(PackError) as refused:
        unpack_export(zipped, tmp_path / "staging")
    assert str(refused.value).startswith("export.zip needs ")
    assert str(refused.value).endswith(
        " of free disk space to be unpacked and imported, and the hub has 10.0 MB; "
        "nothing was unpacked."
    )
    assert staged(tmp_path / "staging") == []
