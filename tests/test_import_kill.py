"""An import killed with SIGKILL while it copies files in parallel (content/importer.py
STAGE_THREADS) leaves the library as it was: no pack, no blob, and the next import installs
the pack whole. The child process is held after its first files are staged, so the kill
lands in the middle of staging every time, not by luck of timing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from content import importer
from hub.cli.common import open_library
from hub.library.models import Pack
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parent.parent
# Stages files as the import does, but each worker stops after its file and says so.
CHILD = """
import sys, time
from pathlib import Path
from content import importer
from hub.cli.common import open_library

real = importer._stage_file

def held(source, path, folder, copied):
    staged = real(source, path, folder, copied)
    (Path(sys.argv[3]) / staged.sha256).touch()
    time.sleep(120)
    return staged

importer._stage_file = held
with open_library(Path(sys.argv[1])) as library:
    library.import_pack(Path(sys.argv[2]))
"""


def _folder(root: Path) -> Path:
    for number in range(12):
        topic = root / f"{number % 2 + 1:02d} - Topic"
        topic.mkdir(parents=True, exist_ok=True)
        (topic / f"{number + 1:02d} - Lesson {number}.pdf").write_bytes(os.urandom(200_000))
    return root


def test_a_kill_while_files_are_staged_leaves_the_library_as_it_was(tmp_path: Path) -> None:
    data, said = tmp_path / "data", tmp_path / "staged"
    said.mkdir()
    folder = _folder(tmp_path / "Lessons")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data), str(folder), str(said)], cwd=ROOT
    )
    try:
        eventually(lambda: len(list(said.iterdir())) >= importer.STAGE_THREADS, timeout=60)
    finally:
        child.kill()  # SIGKILL: no finally, no cleanup of the staging folder
    assert child.wait(timeout=10) == -signal.SIGKILL
    with open_library(data) as library:
        assert Pack.select().count() == 0
        assert list(library.store.shas()) == []
        result = library.import_pack(folder)
        assert result.action == "installed" and result.lessons == 12
        assert library.verify() == []
