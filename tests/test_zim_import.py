"""`learnhub content import/list/remove/verify` with ZIM files: the real openZIM/Kiwix test
files (every damaged one refused with one sentence, changing nothing), split sets, a newer
edition replacing the older, disk space checked first, damage found by verify."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from content.zim import ZimError, ZimReader, copy_checked, find_zims, zim_file
from content.zim.check import check_structure
from hub.cli.main import main
from hub.library import zims as zims_module
from tests.zim_helpers import (
    CORNER,
    GOOD,
    INVALID,
    RAY,
    TESTDATA,
    Entry,
    ZimSpec,
    default_entries,
    flip_byte,
    make_zim,
    split,
)


def run(runner: CliRunner, data: Path, *args: str) -> tuple[int, str, str]:
    command, rest = args[0], args[1:]
    result = runner.invoke(main, ["content", command, "--data", str(data), *rest])
    return result.exit_code, result.stdout, result.stderr


def listed(runner: CliRunner, data: Path) -> dict[str, dict]:
    code, out, err = run(runner, data, "list", "--json")
    assert code == 0, err
    return {row["id"]: row for row in json.loads(out) if row.get("kind") == "zim"}


def snapshot(data: Path) -> tuple[dict[str, int], list[str]]:
    files = {
        str(p.relative_to(data)): p.stat().st_size
        for p in data.rglob("*")
        if p.is_file() and not p.name.startswith("learnhub.db") and p.name != "library.lock"
    }
    with sqlite3.connect(data / "learnhub.db") as conn:
        rows = sorted(map(repr, conn.execute("SELECT * FROM zim_archive")))
    return files, rows


def test_the_test_files_are_there() -> None:
    assert len(GOOD) == 5 and len(INVALID) == 12, TESTDATA


def test_every_real_zim_imports_and_is_listed(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, out, err = run(runner, data, "import", *map(str, GOOD))
    assert code == 0, err
    assert out.count("installed ZIM") == len(GOOD)
    zims = listed(runner, data)
    ray = zims["wikipedia_en_ray_charles"]
    assert ray["title"] == "Ray Charles" and ray["language"] == "en"
    assert ray["articles"] == 129 and ray["size"] == RAY.stat().st_size
    assert ray["date"] == "2020-03-31" and ray["has_fulltext_index"] is True
    # No Name metadata: named after the file; no Title: the name stands in.
    assert zims["poor-metadata-en"]["title"] == "poor-metadata-en"
    assert zims["corner-cases-en"]["title"] == "ZIM corner cases"
    assert zims["kiwix.wikibooks_be_all"]["language"] == "be"
    code, out, _ = run(runner, data, "list")
    assert "wikipedia_en_ray_charles  2020-03-31  en  129 articles  556.0 KB  Ray Charles" in out
    stored = sorted(p.name for p in (data / "zims").iterdir())
    assert len(stored) == len(GOOD) and all(name.endswith(".zim") for name in stored)


@pytest.mark.parametrize("bad", INVALID, ids=lambda p: p.name)
def test_every_damaged_file_is_refused_with_one_sentence(
    runner: CliRunner, tmp_path: Path, bad: Path
) -> None:
    data = tmp_path / "data"
    assert run(runner, data, "import", str(CORNER))[0] == 0
    before = snapshot(data)
    code, out, err = run(runner, data, "import", str(bad))
    assert code == 1 and "Traceback" not in err + out
    refusals = [line for line in err.splitlines() if line.startswith("refused")]
    assert len(refusals) == 1, err
    sentence = refusals[0].removeprefix("refused: ")
    assert bad.name in sentence and sentence.endswith(".") and "\n" not in sentence
    assert snapshot(data) == before


@pytest.mark.parametrize("bad", INVALID, ids=lambda p: p.name)
def test_libzims_own_check_refuses_every_damaged_file_too(bad: Path) -> None:
    """Most are caught by the checksum first; the structure check stands on its own."""
    with pytest.raises(ZimError) as refused:
        check_structure(bad, bad.name)
    message = str(refused.value)
    assert message.startswith(f"{bad.name} is damaged: ") and message.count("\n") == 0


@pytest.mark.parametrize("bad", INVALID, ids=lambda p: p.name)
def test_a_damaged_file_never_leaks_a_libzim_error(tmp_path: Path, bad: Path) -> None:
    with pytest.raises(ZimError):
        copy_checked(zim_file(bad), tmp_path / "copy.zim")
    assert not (tmp_path / "copy.zim").exists()
    try:  # opened unchecked (the hub never does), it still answers only in ZimErrors
        with ZimReader(bad) as reader:
            reader.metadata()
            for entry in (reader.main_entry(), reader.random_entry(), reader.entry("main.html")):
                if entry is not None:
                    reader.read(entry)
                    b"".join(reader.chunks(entry))
    except ZimError as err:
        assert "\n" not in str(err)


def test_importing_twice_changes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(runner, data, "import", str(RAY))[0] == 0
    before = snapshot(data)
    code, out, _ = run(runner, data, "import", str(RAY))
    assert code == 0
    assert "unchanged ZIM wikipedia_en_ray_charles 2020-03-31 (already installed)" in out
    assert snapshot(data) == before


def test_a_folder_like_a_usb_stick_brings_zims_and_packs(runner: CliRunner, tmp_path: Path):
    stick = tmp_path / "stick"
    (stick / "kiwix" / "zims").mkdir(parents=True)
    shutil.copy(RAY, stick / "kiwix" / "zims")
    shutil.copy(INVALID[0], stick)
    (stick / ".hidden").mkdir()
    shutil.copy(CORNER, stick / ".hidden")
    code, out, err = run(runner, tmp_path / "data", "import", str(stick))
    assert code == 1  # the damaged one
    assert "installed ZIM wikipedia_en_ray_charles" in out
    assert INVALID[0].name in err
    assert set(listed(runner, tmp_path / "data")) == {"wikipedia_en_ray_charles"}


def test_a_split_set_is_joined_into_one_file(runner: CliRunner, tmp_path: Path) -> None:
    parts = split(RAY, tmp_path / "stick", 200_000)
    assert [p.suffix for p in parts] == [".zimaa", ".zimab", ".zimac"]
    assert [z.parts for z in find_zims(tmp_path / "stick")] == [tuple(parts)]
    data = tmp_path / "data"
    code, out, err = run(runner, data, "import", str(parts[1]))  # any part names the set
    assert code == 0, err
    assert "installed ZIM wikipedia_en_ray_charles" in out
    (stored,) = (data / "zims").iterdir()
    assert stored.read_bytes() == RAY.read_bytes()


def test_an_incomplete_split_set_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    parts = split(RAY, tmp_path / "stick", 200_000)
    parts[1].unlink()
    code, _, err = run(runner, tmp_path / "data", "import", str(parts[0]))
    assert code == 1 and "is incomplete: part .zimab is missing" in err


def test_a_split_set_joined_short_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    parts = split(RAY, tmp_path / "stick", 200_000)
    parts[-1].unlink()
    code, _, err = run(runner, tmp_path / "data", "import", str(parts[0]))
    assert code == 1 and "a truncated copy, or a split set joined wrongly" in err
    assert not list((tmp_path / "data" / "zims").iterdir())


def test_a_newer_edition_replaces_the_older(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    old = make_zim(tmp_path / "old" / "lib.zim", ZimSpec(date="2023-05-01", title="Old"))
    entries = default_entries()
    entries["index.html"] = Entry("text/html", b"<p>The second edition</p>", "Home")
    new = make_zim(
        tmp_path / "new" / "lib.zim", ZimSpec(date="2024-06-01", title="New", entries=entries)
    )
    assert run(runner, data, "import", str(old))[0] == 0
    (old_file,) = (data / "zims").iterdir()
    code, out, err = run(runner, data, "import", str(new))
    assert code == 0, err
    assert "replaced ZIM test_zim_en 2023-05-01 -> 2024-06-01" in out
    zims = listed(runner, data)
    assert zims["test_zim_en"]["title"] == "New" and zims["test_zim_en"]["date"] == "2024-06-01"
    (new_file,) = (data / "zims").iterdir()
    assert new_file != old_file and not old_file.exists()
    with ZimReader(new_file) as reader:
        main_page = reader.main_entry()
        assert main_page is not None and reader.read(main_page) == b"<p>The second edition</p>"
    # The older one again is refused and changes nothing.
    before = snapshot(data)
    code, _, err = run(runner, data, "import", str(old))
    assert code == 1 and "is older than the installed New of 2024-06-01" in err
    assert snapshot(data) == before


def test_remove(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(runner, data, "import", str(RAY), str(CORNER))[0] == 0
    code, out, err = run(runner, data, "remove", "wikipedia_en_ray_charles")
    assert code == 0, err
    assert "removed ZIM wikipedia_en_ray_charles" in out
    assert set(listed(runner, data)) == {"corner-cases-en"}
    assert [p.name for p in (data / "zims").iterdir()] == [
        f"corner-cases-en_{_uuid(CORNER)[:8]}.zim"
    ]
    code, _, err = run(runner, data, "remove", "wikipedia_en_ray_charles")
    assert code == 1 and "No pack with id 'wikipedia_en_ray_charles' is installed." in err


def test_verify_finds_a_flipped_byte(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(runner, data, "import", str(RAY), str(CORNER))[0] == 0
    code, out, err = run(runner, data, "verify")
    assert code == 0, err
    assert "all 2 ZIM files are intact" in out
    stored = next((data / "zims").glob("wikipedia_en_ray_charles_*.zim"))
    flip_byte(stored, stored.stat().st_size // 2)
    code, out, err = run(runner, data, "verify")
    assert code == 1
    assert "damaged ZIM wikipedia_en_ray_charles: " in err
    assert "its checksum does not match its content" in err
    assert "1 ZIM file(s) are damaged; import them again to repair them." in err
    assert "damaged ZIM corner-cases-en" not in err


def test_verify_finds_a_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(runner, data, "import", str(CORNER))[0] == 0
    next((data / "zims").iterdir()).unlink()
    code, _, err = run(runner, data, "verify")
    assert code == 1 and "is missing" in err


def test_not_enough_disk_space_is_refused_in_words(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    assert run(runner, data, "import", str(CORNER))[0] == 0
    before = snapshot(data)

    class Tiny:
        free = 300 * 1024

    monkeypatch.setattr(zims_module.shutil, "disk_usage", lambda path: Tiny())
    code, _, err = run(runner, data, "import", str(RAY))
    assert code == 1
    assert "needs 64.5 MB of free disk space and the hub has 300.0 KB; nothing was copied." in err
    assert snapshot(data) == before


def test_a_crash_mid_copy_is_swept_at_the_next_start(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(runner, data, "import", str(CORNER))[0] == 0
    leftover = data / "zims" / f"{zims_module.INCOMING_PREFIX}dead.zim"
    leftover.write_bytes(b"half a copy")
    orphan = data / "zims" / "renamed-but-not-recorded_12345678.zim"
    orphan.write_bytes(b"x")
    import os

    os.utime(leftover, (0, 0))
    assert run(runner, data, "import", str(CORNER))[0] == 0
    from hub.cli.common import config_for
    from hub.library.packs import Library

    Library(config_for(data)).sweep()
    assert not leftover.exists() and not orphan.exists()
    assert len(list((data / "zims").iterdir())) == 1


def test_a_name_from_metadata_is_made_safe_for_urls() -> None:
    assert zims_module.url_name("Test ZIM file", "x") == "test_zim_file"
    assert zims_module.url_name("", "My File (2).zim") == "my_file_2_.zim"
    assert zims_module.url_name("../../etc", "x") == "etc"
    assert len(zims_module.url_name("a" * 200, "x")) == zims_module.NAME_LENGTH


def _uuid(path: Path) -> str:
    with ZimReader(path) as reader:
        return reader.metadata().uuid
