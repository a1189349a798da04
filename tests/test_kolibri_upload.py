"""A Kolibri export zipped on a laptop and uploaded on the own-packs page of a real hub
(`learnhub serve`, signed in as an operator): the job unpacks it into staging, imports the
channel and cleans up; then in Chromium on a 360 px phone its video plays with subtitles and
seeks and its exercise is answered. Hostile zips (a database that is no channel, a zip-slip
name, a zip bomb, a truncated or damaged zip, a zip of something else) are refused in one
sentence, with nothing installed and nothing left in staging."""

from __future__ import annotations

import json
import os
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.kolibri_helpers import CHANNEL, EXPORT, PACK, VIDEO_WITH_TWO_TRACKS
from tests.test_authoring_live import Hub
from tests.test_jobs_live import finished, upload_import
from tests.test_jobs_live import hub as _hub
from tests.test_kolibri_browser import exercise_is_answered, video_plays_with_subtitles_and_seeks

pytestmark = [pytest.mark.server]
hub = _hub  # a real hub with an operator signed in (tests/test_jobs_live.py)
DATABASE = f"KOLIBRI_DATA/content/databases/{CHANNEL}.sqlite3"


def zip_export(target: Path, wrap: str = "") -> Path:
    """The shared export's KOLIBRI_DATA zipped as a laptop would, under `wrap` if given."""
    root = EXPORT / "KOLIBRI_DATA"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for folder, _, files in os.walk(root):
            for name in sorted(files):
                path = Path(folder) / name
                out.write(path, f"{wrap}KOLIBRI_DATA/{path.relative_to(root).as_posix()}")
    return target


def packs(hub: Hub) -> list[str]:
    with hub.open("/api/packs") as answer:
        return sorted(pack["id"] for pack in json.loads(answer.read())["packs"])


def left_behind(hub: Hub) -> list[Path]:
    data = hub.server.data_dir
    return [*(data / "staging").glob("*"), *(data / "drafts" / "imports").glob("*/*")]


@pytest.fixture(scope="module")
def uploaded(hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    export = zip_export(tmp_path_factory.mktemp("laptop") / "water-channel.zip", "my-export/")
    return finished(hub, upload_import(hub, export)["job"])


def test_an_uploaded_export_becomes_the_channel_pack(hub: Hub, uploaded: dict[str, Any]) -> None:
    assert uploaded["state"] == "done", uploaded
    assert len(uploaded["outcome"]) == 1 and uploaded["outcome"][0].startswith(f"Imported {PACK} ")
    assert PACK in packs(hub)
    with hub.open(f"/api/lessons/{PACK}/{VIDEO_WITH_TWO_TRACKS}") as answer:
        assert json.loads(answer.read())["kind"] == "video"
    assert left_behind(hub) == []


@pytest.mark.browser
def test_its_video_plays_with_subtitles_and_seeks(browser, hub: Hub, uploaded: dict) -> None:
    video_plays_with_subtitles_and_seeks(browser, hub.server.url)


@pytest.mark.browser
def test_its_exercise_is_answered(browser, hub: Hub, uploaded: dict) -> None:
    exercise_is_answered(browser, hub.server.url)


def _not_a_channel(path: Path) -> None:
    notes = path.parent / "notes.sqlite3"
    with sqlite3.connect(notes) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
    db.close()
    with zipfile.ZipFile(path, "w") as out:
        out.write(notes, f"KOLIBRI_DATA/content/databases/{'0' * 32}.sqlite3")
        out.writestr("KOLIBRI_DATA/content/storage/", b"")


def _zip_slip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as out:
        out.write(EXPORT / DATABASE, DATABASE)
        out.writestr("KOLIBRI_DATA/content/storage/../../../../../escaped.txt", b"outside")


def _bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.write(EXPORT / DATABASE, DATABASE)
        out.writestr(
            "KOLIBRI_DATA/content/storage/0/0/00000000000000000000000000000000.mp4",
            bytes(8 * 1024**2),
        )


def _truncated(path: Path) -> None:
    whole = zip_export(path).read_bytes()
    path.write_bytes(whole[: len(whole) * 2 // 3])


def _damaged(path: Path) -> None:
    damage_last_entry(zip_export(path))


def damage_last_entry(path: Path) -> Path:
    """Bytes changed inside the entry unpacked last (in name order), so the others are
    written before the damage is found."""
    with zipfile.ZipFile(path) as archive:
        last = max(archive.infolist(), key=lambda info: info.filename)
    with open(path, "r+b") as out:
        out.seek(last.header_offset)
        header = out.read(30)
        names = int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
        out.seek(last.header_offset + 30 + names + last.compress_size // 2)
        out.write(b"\xff" * 16)
    return path


def _something_else(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("holiday/photo.txt", b"not a pack, not an export")


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "not-a-channel": (
        _not_a_channel,
        f"not-a-channel.zip/KOLIBRI_DATA/content/databases/{'0' * 32}.sqlite3 is not a Kolibri "
        "channel database (it has no channel or node tables).",
    ),
    "zip-slip": (_zip_slip, "holds an entry whose name climbs out of the pack with .."),
    "bomb": (_bomb, "it looks like a zip bomb."),
    "truncated": (_truncated, "truncated.zip is neither a folder nor a zip file."),
    "damaged": (_damaged, 'damaged.zip: "KOLIBRI_DATA/content/storage/'),
    "something-else": (
        _something_else,
        "something-else.zip is neither a content pack (it has no pack.json) nor a Kolibri export",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_zip_is_refused_in_one_sentence_leaving_nothing(
    hub: Hub, uploaded: dict, tmp_path: Path, case: str
) -> None:
    make, sentence = HOSTILE[case]
    before = packs(hub)
    path = tmp_path / f"{case}.zip"
    make(path)
    ended = finished(hub, upload_import(hub, path)["job"])
    assert ended["state"] == "refused"
    headline, *problems = ended["outcome"]
    assert headline == f"{case}.zip was not imported; nothing changed."
    assert len(problems) == 1 and sentence in problems[0], problems
    assert str(hub.server.data_dir) not in problems[0]  # the zip is named, not the staging
    assert packs(hub) == before
    assert left_behind(hub) == []
    assert not list(hub.server.data_dir.parent.rglob("escaped.txt"))
