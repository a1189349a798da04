"""Kolibri channel exports imported as packs (content/kolibri, `learnhub content import`):
the real export Kolibri 0.19.5 wrote, partial and newer copies of it, older content schema
versions made from it the way Kolibri's own versions differ, hostile databases, and a stick
through the appliance's USB handler."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from content.errors import PackError
from content.kolibri import find_channels, open_channel
from content.source import Limits
from tests.appliance_helpers import BIN, ROOT
from tests.kolibri_helpers import (
    CHALLENGE,
    CHANNEL,
    EXPORT,
    H5P,
    LESSONS,
    PACK,
    PRACTICE,
    QUIZ,
    VIDEO_WITH_TWO_TRACKS,
    content,
    database,
    edit,
    storage_file,
    writable_copy,
)


def installed(data: Path) -> dict:
    code, out, err = content(data, "list", "--json")
    assert code == 0, err
    return {row["id"]: row for row in json.loads(out)}


def pack_json(data: Path) -> dict:
    with sqlite3.connect(data / "learnhub.db") as db:
        raw = db.execute("SELECT manifest FROM pack WHERE id = ?", (PACK,)).fetchone()[0]
    db.close()
    return json.loads(raw)


def lesson(manifest: dict, node_id: str) -> dict:
    return next(entry for entry in manifest["lessons"] if entry["id"] == node_id)


def test_the_real_export_becomes_one_pack(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, out, err = content(data, "import", str(EXPORT))
    assert code == 0, err
    assert f"installed {PACK} 3.{LESSONS} ({LESSONS} lessons)" in out
    assert f"{LESSONS} of 19 resources became lessons; {19 - LESSONS} skipped, 0 missing" in out
    assert (
        f'skipped: "Challenge: water and disease" ({CHALLENGE}): question 3 uses the expression'
        in out
    )
    manifest = pack_json(data)
    assert manifest["title"] == "Water and Health (test channel)"
    assert manifest["language"] == "en" and manifest["license"] == "CC-BY-4.0"
    assert manifest["attribution"] == "Test Content Team, H5P example content"
    assert manifest["x-kolibri"]["content_schema"] == "5"
    assert manifest["x-kolibri"]["thumbnail"].startswith("data:image/png;base64,")
    assert [t["title"] for t in manifest["topics"]] == [
        "Safe drinking water",
        "Hygiene and sanitation",
        "Illness and prevention",
    ]
    kinds = Counter(entry["kind"] for entry in manifest["lessons"])
    expected = {"video": 3, "audio": 3, "pdf": 5, "epub": 2, "app": 2, "exercise": 2, "h5p": 1}
    assert kinds == expected
    video = lesson(manifest, VIDEO_WITH_TWO_TRACKS)
    assert set(video["subtitles"]) == {"en", "fr"} and video["poster"].endswith(".png")
    assert video["duration"] == 10 and video["author"] == "Test Content Team"
    assert video["license"] == "CC-BY-4.0" and video["attribution"] == "Test Content Team"
    water_cycle = lesson(manifest, "d529215a7a225996933c820cdbbf2dae")
    assert len(water_cycle["keywords"]) == 2  # its two tags
    assert CHALLENGE not in {entry["id"] for entry in manifest["lessons"]}


def test_exercises_become_hub_quizzes(data_dir: Path, client: FlaskClient) -> None:
    assert content(data_dir, "import", str(EXPORT))[0] == 0
    quiz = client.get(f"/api/lessons/{PACK}/{QUIZ}").get_json()["exercise"]
    types = [question["type"] for question in quiz["questions"]]
    assert types == ["single", "single", "numeric", "single", "numeric"]
    assert quiz["mastery"] == {"correct": 3, "of": 5}  # Kolibri's m_of_n, m 3, n 5
    assert quiz["questions"][0]["choices"][0] == "At least one minute"
    practice = client.get(f"/api/lessons/{PACK}/{PRACTICE}").get_json()["exercise"]
    assert practice["questions"][0]["type"] == "multiple"  # multipleSelect, three right


def test_a_lesson_page_shows_the_resource_s_own_licence_and_author(
    data_dir: Path, client: FlaskClient
) -> None:
    """The channel's H5P activity is "Special Permissions" by "H5P example content", unlike
    the rest of it (CC BY, the pack's licence, by Test Content Team)."""
    assert content(data_dir, "import", str(EXPORT))[0] == 0
    h5p = client.get(f"/lessons/{PACK}/{H5P}").text
    own = "Licence: LicenseRef-Special-Permissions · <bdi>H5P example content</bdi> · Water"
    assert own in h5p and "Test Content Team" not in h5p
    video = client.get(f"/lessons/{PACK}/{VIDEO_WITH_TWO_TRACKS}").text
    assert "Licence: CC-BY-4.0 · <bdi>Test Content Team</bdi> · Water" in video  # once: both


def test_importing_the_same_export_again_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    content(data, "import", str(EXPORT / "KOLIBRI_DATA"))
    code, out, _ = content(data, "import", str(EXPORT / "KOLIBRI_DATA"))
    assert code == 0 and f"unchanged {PACK} 3.{LESSONS}" in out


def test_a_partial_export_imports_what_it_has_and_names_what_is_missing(tmp_path: Path) -> None:
    stick = writable_copy(tmp_path)
    storage_file(stick, "e9fb9f68f28eeaba8837202d1bb89f9a", "mp4").unlink()  # The water cycle
    storage_file(stick, "6a486b9460012ef16bf6769408093038", "mp3").write_bytes(b"short")
    data = tmp_path / "data"
    code, out, err = content(data, "import", str(stick.parent))
    assert code == 0, err
    assert f"installed {PACK} 3.{LESSONS - 2} ({LESSONS - 2} lessons)" in out
    assert "2 missing from the stick" in out
    assert 'missing: "The water cycle" (d529215a7a225996933c820cdbbf2dae): ' in out
    assert "e9fb9f68f28eeaba8837202d1bb89f9a.mp4: not on the stick" in out
    assert "6a486b9460012ef16bf6769408093038.mp3: 5 bytes on the stick, 72695 in the channel" in out
    code, out, _ = content(data, "import", str(EXPORT))  # the whole export later: an upgrade
    assert f"upgraded {PACK} 3.{LESSONS - 2} -> 3.{LESSONS}" in out


def test_a_newer_channel_version_upgrades_the_pack(tmp_path: Path) -> None:
    data = tmp_path / "data"
    content(data, "import", str(EXPORT))
    stick = writable_copy(tmp_path)
    edit(stick, "UPDATE content_channelmetadata SET version = 4")
    code, out, _ = content(data, "import", str(stick))
    assert code == 0 and f"upgraded {PACK} 3.{LESSONS} -> 4.{LESSONS}" in out
    assert list(installed(data)) == [PACK]


def _to_schema_3(stick: Path) -> None:
    """What Kolibri's content_schema_3 declares: no options, labels, duration or tagline."""
    columns = ["options", "grade_levels", "resource_types", "learning_activities"]
    columns += ["accessibility_labels", "categories", "learner_needs", "duration"]
    edit(
        stick,
        *[f"ALTER TABLE content_contentnode DROP COLUMN {column}" for column in columns],
        "ALTER TABLE content_channelmetadata DROP COLUMN tagline",
        "UPDATE content_channelmetadata SET min_schema_version = '3'",
    )


def _to_unversioned(stick: Path) -> None:
    """content_schema_unversioned: licences in their own table, the root as root_pk, and
    checksum, extension and size on content_file (no content_localfile)."""
    _to_schema_3(stick)
    edit(
        stick,
        "CREATE TABLE content_license (id INTEGER PRIMARY KEY, license_name TEXT NOT NULL,"
        " license_description TEXT)",
        "INSERT INTO content_license (license_name, license_description)"
        " SELECT DISTINCT license_name, license_description FROM content_contentnode"
        " WHERE license_name IS NOT NULL",
        "ALTER TABLE content_contentnode ADD COLUMN license_id INTEGER",
        "ALTER TABLE content_contentnode ADD COLUMN stemmed_metaphone TEXT NOT NULL DEFAULT ''",
        "UPDATE content_contentnode SET license_id = (SELECT id FROM content_license l"
        " WHERE l.license_name = content_contentnode.license_name)",
        "ALTER TABLE content_contentnode DROP COLUMN license_name",
        "ALTER TABLE content_contentnode DROP COLUMN license_description",
        "ALTER TABLE content_channelmetadata RENAME COLUMN root_id TO root_pk",
        "ALTER TABLE content_channelmetadata DROP COLUMN min_schema_version",
        "ALTER TABLE content_file ADD COLUMN checksum TEXT",
        "ALTER TABLE content_file ADD COLUMN extension TEXT",
        "ALTER TABLE content_file ADD COLUMN file_size INTEGER",
        "ALTER TABLE content_file ADD COLUMN available BOOLEAN NOT NULL DEFAULT 0",
        "UPDATE content_file SET checksum = local_file_id, extension = (SELECT extension FROM"
        " content_localfile l WHERE l.id = local_file_id), file_size = (SELECT file_size FROM"
        " content_localfile l WHERE l.id = local_file_id)",
        "DROP TABLE content_localfile",
    )


@pytest.mark.parametrize(
    ("change", "schema"), [(_to_schema_3, "3"), (_to_unversioned, "unversioned")]
)
def test_older_content_schema_versions_are_read(tmp_path: Path, change, schema: str) -> None:
    stick = writable_copy(tmp_path)
    edit(stick, "DROP INDEX IF EXISTS content_contentnode_lang_id_7e5e3d83")
    change(stick)
    data = tmp_path / "data"
    code, out, err = content(data, "import", str(stick))
    assert code == 0, err
    assert f"(content schema {schema}): {LESSONS} of 19 resources" in out
    manifest = pack_json(data)
    assert manifest["license"] == "CC-BY-4.0"
    assert set(lesson(manifest, VIDEO_WITH_TWO_TRACKS)["subtitles"]) == {"en", "fr"}


def _hostile(tmp_path: Path, *statements: str) -> Path:
    stick = writable_copy(tmp_path)
    edit(stick, *statements)
    return stick


HOSTILE = {
    "a newer schema": (
        ["UPDATE content_channelmetadata SET min_schema_version = '6'"],
        "was made for Kolibri content schema 6, newer than this hub reads (up to 5)",
    ),
    "an unknown schema": (
        ["UPDATE content_channelmetadata SET min_schema_version = 'banana'"],
        "declares an unknown Kolibri content schema version ('banana')",
    ),
    "a huge row": (
        [
            "UPDATE content_contentnode SET description = hex(zeroblob(1500000))"
            " WHERE kind = 'video'"
        ],
        "holds a text of more than 1048576 characters in content_contentnode",
    ),
    "a loop in the tree": (
        [
            "UPDATE content_contentnode SET parent_id = '364c1e7ce4c955ed95e417d88a7a3eda'"
            " WHERE id = '0f398d319c2f52eb83fa8316f0b4e048'"
        ],
        "has a loop in its topic tree",
    ),
    "a path escaping storage": (
        ["UPDATE content_localfile SET extension = '/../../../etc/passwd' WHERE extension = 'pdf'"],
        "gives a content file the extension '/../../../etc/passwd'",
    ),
    "a file named by no checksum": (
        [
            "UPDATE content_file SET local_file_id = '../../x'"
            " WHERE local_file_id = '6a486b9460012ef16bf6769408093038'",
            "UPDATE content_localfile SET id = '../../x'"
            " WHERE id = '6a486b9460012ef16bf6769408093038'",
        ],
        "names a content file '../../x' that is not an MD5 checksum",
    ),
    "two channels in one": (
        ["INSERT INTO content_channelmetadata SELECT 'a' || substr(id, 2), name, description,"
         " tagline, author, version + 1, thumbnail, last_updated, min_schema_version, root_id"
         " FROM content_channelmetadata"],
        "describes 2 channels, not one",
    ),
    "a node id that is no id": (
        ["UPDATE content_contentnode SET id = 'x\n' WHERE title = 'Song: wash your hands'"],
        "has a node id 'x\\n' that is not 32 hexadecimal digits",
    ),
    "a view for a table": (
        ["ALTER TABLE content_contentnode RENAME TO nodes", "CREATE VIEW content_contentnode AS"
         " WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM nodes"],
        "match none of Kolibri's content schema versions",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_databases_are_refused_and_change_nothing(tmp_path: Path, case: str) -> None:
    statements, sentence = HOSTILE[case]
    stick = _hostile(tmp_path, *statements)
    data = tmp_path / "data"
    code, _, err = content(data, "import", str(stick))
    assert code == 1
    refused = [line for line in err.splitlines() if line.startswith("refused")]
    assert len(refused) == 1 and sentence in refused[0], err
    assert "Traceback" not in err
    assert installed(data) == {}
    assert not any((data / "staging").iterdir()) if (data / "staging").exists() else True


def test_files_that_are_not_channel_databases_are_refused(tmp_path: Path) -> None:
    stick = writable_copy(tmp_path)
    db = database(stick)
    db.write_bytes(os.urandom(4096))
    data = tmp_path / "data"
    code, _, err = content(data, "import", str(stick))
    assert code == 1 and "is not a Kolibri channel database (it cannot be read as one" in err
    db.unlink()
    with sqlite3.connect(db) as other:
        other.execute("CREATE TABLE notes (body TEXT)")
    other.close()
    code, _, err = content(data, "import", str(stick))
    assert (
        code == 1 and "is not a Kolibri channel database (it has no channel or node tables)" in err
    )
    assert installed(data) == {}


def test_a_database_not_named_for_its_channel_is_refused(tmp_path: Path) -> None:
    stick = writable_copy(tmp_path)
    database(stick).rename(database(stick).with_name("0" * 32 + ".sqlite3"))
    code, _, err = content(tmp_path / "data", "import", str(stick))
    assert code == 1 and f"holds channel {CHANNEL}, not the one it is named for" in err


def test_a_linked_storage_folder_is_not_followed(tmp_path: Path) -> None:
    stick = writable_copy(tmp_path)
    storage = stick / "content" / "storage"
    outside = tmp_path / "outside"
    (storage / "e").rename(outside)
    (storage / "e").symlink_to(outside)
    code, out, err = content(tmp_path / "data", "import", str(stick))
    assert code == 0, err
    assert "e9fb9f68f28eeaba8837202d1bb89f9a.mp4: not on the stick" in out


def test_the_library_api_reads_every_channel_on_a_stick(tmp_path: Path) -> None:
    found = find_channels(EXPORT)
    assert found == find_channels(EXPORT / "KOLIBRI_DATA") == [database(EXPORT / "KOLIBRI_DATA")]
    not_one = pytest.raises(PackError, match="not a channel database of a Kolibri export")
    with not_one, open_channel(tmp_path / "x.sqlite3", tmp_path, Limits()):
        pass


@pytest.fixture
def hub_command(tmp_path: Path) -> Path:
    """`learnhub` as the appliance has it: this checkout's hub, in its own process."""
    command = tmp_path / "bin" / "learnhub"
    command.parent.mkdir()
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m hub "$@"\n')
    command.chmod(0o755)
    return command


def test_a_kolibri_stick_is_imported_by_the_usb_handler(tmp_path: Path, hub_command: Path) -> None:
    stick = writable_copy(tmp_path).parent
    data = tmp_path / "data"
    env = {**os.environ, "LEARNHUB_DATA": str(data), "LEARNHUB_BIN": str(hub_command)}
    env["PYTHONPATH"] = str(ROOT)
    usb = [sys.executable, str(BIN / "learnhub-usb"), "folder", str(stick)]
    subprocess.run(usb, env=env, capture_output=True, text=True, timeout=300, check=False)
    run = json.loads((data / "appliance" / "usb.json").read_text())["runs"][0]
    assert run["message"].startswith("1 new pack(s)."), run
    report = (stick / "learnhub-report.txt").read_text()
    assert f"installed {PACK} 3.{LESSONS} ({LESSONS} lessons)" in report
    assert list(installed(data)) == [PACK]
