"""A pack holding a book (EPUB) and an H5P activity travels from a sharing neighbour hub like any
pack, and the receiving hub serves its reader, its player and the files inside the activity."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from hub.core.db import connected
from hub.library.models import Lesson
from hub.neighbours.pack_fetcher import fetch_packs
from tests.conftest import LiveServer
from tests.epub_helpers import write_epub
from tests.testdata import TESTDATA

ACTIVITY = TESTDATA / "h5p" / "H5P.TrueFalse.h5p"
PACK = "folder-stories-and-games"


def stories_and_games(folder: Path) -> Path:
    """A teacher's plain folder: one book, one activity (copied from the shared test data into
    a temporary folder, never into the repository)."""
    folder.mkdir()
    write_epub(folder / "01 - Sungura mjanja.epub")
    shutil.copy(ACTIVITY, folder / "02 - True or false.h5p")
    return folder


@pytest.mark.server
def test_a_book_and_an_activity_travel_between_hubs_and_play(tmp_path: Path, app: Flask) -> None:
    neighbour_data = tmp_path / "neighbour"
    folder = stories_and_games(tmp_path / "stories and games")
    # Another process, as on the neighbour's console: this test's app owns this process's database.
    command = [sys.executable, "-m", "hub", "content", "import", "--data", str(neighbour_data)]
    made = subprocess.run([*command, str(folder)], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    server = LiveServer(neighbour_data, env={"LEARNHUB_SHARE_PACKS": "true"})
    try:
        server.wait_until_ready()
        library = app.extensions["library"]
        (outcome,) = fetch_packs(library, server.url, [PACK])
        assert outcome.error is None, outcome.error
        assert outcome.copied is not None and outcome.copied.action == "installed"
    finally:
        server.stop()

    with connected():
        kinds = {lesson.kind: lesson.lesson_id for lesson in Lesson.in_pack(PACK)}
    assert set(kinds) == {"epub", "h5p"}
    assert library.verify() == []
    visitor = app.test_client()
    book = visitor.get(f"/books/{PACK}/{kinds['epub']}/reader")
    assert book.status_code == 200 and "epub" in book.text.lower()
    player = visitor.get(f"/h5p/{PACK}/{kinds['h5p']}/player")
    assert player.status_code == 200
    # The player asks for the files inside the package by the package's digest.
    files = [
        part for part in player.text.split('"') if f"/h5p/{PACK}/" in part and "/files/" in part
    ]
    assert files, "the player names no package file"
    base = files[0].split("/files/")[0] + "/files/" + files[0].split("/files/")[1].split("/")[0]
    content = visitor.get(f"{base}/content/content.json")
    assert content.status_code == 200
    with zipfile.ZipFile(ACTIVITY) as original:
        assert json.loads(content.data) == json.loads(original.read("content/content.json"))
