"""The shared Kolibri export (../shared/testdata/kolibri, made by Kolibri 0.19.5's own
exportchannel/exportcontent; read where it is, copied only into a test's tmp_path) and ways
to change a copy of it."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from hub.cli.main import main
from tests.testdata import TESTDATA

EXPORT = TESTDATA / "kolibri"
CHANNEL = "720fd92c9d1f53d89fef470e8b74f410"
PACK = f"kolibri-{CHANNEL}"
VIDEO_WITH_TWO_TRACKS = "abea552f779d54ce8379cca335158900"
QUIZ = "a43626372d4d5be18605b8d8b3894c1a"  # radio and numeric-input only
PRACTICE = "ddc6fdaf041f5065ae89aa7288fc09eb"  # a multi-select radio
CHALLENGE = "43e78cfaed985a2892a0ebf07dd5639e"  # one expression item
H5P = "5c4765df85c857b79d4d9508cc0a306b"  # Special Permissions, by H5P example content
LESSONS = 18  # of its 19 resources: all but the exercise with an expression


def writable_copy(tmp: Path) -> Path:
    """A copy of the export's KOLIBRI_DATA that a test may change (the original is read-only)."""
    target = tmp / "stick" / "KOLIBRI_DATA"
    shutil.copytree(EXPORT / "KOLIBRI_DATA", target)
    for folder, _, files in os.walk(target):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(Path(folder) / name, 0o644)
    return target


def database(kolibri_data: Path) -> Path:
    return kolibri_data / "content" / "databases" / f"{CHANNEL}.sqlite3"


def storage_file(kolibri_data: Path, md5: str, extension: str) -> Path:
    return kolibri_data / "content" / "storage" / md5[0] / md5[1] / f"{md5}.{extension}"


def edit(kolibri_data: Path, *statements: str) -> None:
    with sqlite3.connect(database(kolibri_data)) as db:
        for statement in statements:
            db.execute(statement)
    db.close()


def content(data: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["content", args[0], "--data", str(data), *args[1:]])
    return result.exit_code, result.stdout, result.stderr
