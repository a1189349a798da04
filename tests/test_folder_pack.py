"""A plain folder is a pack (content/folder_pack.py, `learnhub content import FOLDER`,
`content make`, `import --check`): every kind of file made here for real (ffmpeg, Chromium,
pypdf, zipfile), imported through the CLI and opened through the hub's pages."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from pypdf import PdfWriter

from content.errors import PackError
from content.folder_pack import PackFields, make_pack, pack_id_for
from content.source import FolderSource
from hub.cli.main import main
from tests.content_helpers import EXERCISE
from tests.test_media_titles import OPF, epub

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201f6a5d5d50000000049454e44ae426082"
)
SRT = b"1\n00:00:00,500 --> 00:00:01,000\nHabari\n"


def run(runner: CliRunner, data: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(main, ["content", args[0], "--data", str(data), *args[1:]])
    return result.exit_code, result.stdout, result.stderr


def ffmpeg(*args: str) -> None:
    assert shutil.which("ffmpeg"), "ffmpeg is missing: scripts/test installs it"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=120)


def pdf(title: str | None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    if title:
        writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def app_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as app:
        app.writestr("index.html", "<!doctype html><title>Game</title><p>play")
    return out.getvalue()


def write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def teacher_folder(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Path:
    """What a teacher copies from a laptop: every kind of file, in topic folders."""
    root = tmp_path_factory.mktemp("teacher") / "Grade 4 Science"
    media = root / "02 - Water"
    media.mkdir(parents=True)
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=duration=1:size=96x64:rate=5",
        "-pix_fmt",
        "yuv420p",
        str(media / "01 - The water cycle.mp4"),
    )
    ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=96x64:rate=5", str(media / "rain.webm"))
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-metadata",
        "title=Song of the river",
        str(media / "track01.mp3"),
    )
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", str(media / "03 - Drip drop.ogg"))
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-metadata",
        "title=Story time",
        str(media / "rec_0042.m4a"),
    )
    page = browser.new_page()
    page.set_content("<title>Plants need light</title><h1>Plants</h1><p>Leaves and light.")
    chromium_pdf = page.pdf()
    page.close()
    return write(
        root,
        {
            "02 - Water/01 - The water cycle.en.srt": SRT,
            "02 - Water/01 - The water cycle.jpg": PNG,  # a poster, not a lesson
            "02 - Water/rain.sw.vtt": b"WEBVTT\n\n00:00.000 --> 00:01.000\nMvua\n",
            "01 - Plants/plants.pdf": chromium_pdf,
            "01 - Plants/02 - Leaves.pdf": pdf("Microsoft Word - leaves.docx"),
            "01 - Plants/03 - Seeds/index.html": b'<title>Seeds</title><link rel="stylesheet" '
            b'href="s.css"><img src="img/seed.png"><a href="more.html">more</a>',
            "01 - Plants/03 - Seeds/s.css": b"body { background: url('img/bg.webp') }",
            "01 - Plants/03 - Seeds/img/seed.png": PNG,
            "01 - Plants/03 - Seeds/img/bg.webp": b"RIFF0000WEBP",
            "01 - Plants/03 - Seeds/more.html": b'<img src="img/more.svg">',
            "01 - Plants/03 - Seeds/img/more.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
            "pictures/Map of the river.png": PNG,
            "pictures/photo.jpeg": PNG,
            "pictures/diagram.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
            "pictures/leaf.webp": b"RIFF0000WEBP",
            "games/Pour the water.zip": app_zip(),
            "games/old-stuff.zip": b"PK\x05\x06" + bytes(18),  # an empty zip: left out
            "Check yourself.json": json.dumps(EXERCISE).encode(),
            "Sungura.epub": epub(OPF),
            "notes.docx": b"PK",
            ".DS_Store": b"junk",
        },
    )


def test_each_kind_becomes_a_lesson_with_titles_order_and_topics(teacher_folder: Path) -> None:
    made = make_pack(FolderSource(teacher_folder), PackFields(language="en"))
    raw = made.raw
    assert raw["id"] == "folder-grade-4-science" and raw["title"] == "Grade 4 Science"
    assert raw["language"] == "en" and raw["version"] == "1"
    lessons = {lesson["file"]: lesson for lesson in raw["lessons"]}
    kinds = {path: lesson["kind"] for path, lesson in lessons.items()}
    assert kinds == {
        "Check yourself.json": "exercise",
        "01 - Plants/plants.pdf": "pdf",
        "01 - Plants/02 - Leaves.pdf": "pdf",
        "01 - Plants/03 - Seeds/index.html": "article",
        "02 - Water/01 - The water cycle.mp4": "video",
        "02 - Water/03 - Drip drop.ogg": "audio",
        "02 - Water/rain.webm": "video",
        "02 - Water/rec_0042.m4a": "audio",
        "02 - Water/track01.mp3": "audio",
        "games/Pour the water.zip": "app",
        "pictures/diagram.svg": "image",
        "pictures/leaf.webp": "image",
        "pictures/Map of the river.png": "image",
        "pictures/photo.jpeg": "image",
    }
    titles = {path: lesson["title"] for path, lesson in lessons.items()}
    assert titles["01 - Plants/plants.pdf"] == "Plants need light"  # Chromium wrote /Title
    assert titles["01 - Plants/02 - Leaves.pdf"] == "Leaves"  # a placeholder title is ignored
    assert titles["02 - Water/track01.mp3"] == "Song of the river"
    assert titles["02 - Water/rec_0042.m4a"] == "Story time"
    assert titles["02 - Water/01 - The water cycle.mp4"] == "The water cycle"
    assert titles["01 - Plants/03 - Seeds/index.html"] == "Seeds"
    seeds = lessons["01 - Plants/03 - Seeds/index.html"]
    assert set(seeds["assets"]) == {
        "01 - Plants/03 - Seeds/s.css",
        "01 - Plants/03 - Seeds/img/seed.png",
        "01 - Plants/03 - Seeds/img/bg.webp",
        "01 - Plants/03 - Seeds/more.html",
        "01 - Plants/03 - Seeds/img/more.svg",
    }
    video = lessons["02 - Water/01 - The water cycle.mp4"]
    assert video["subtitles"] == {"en": "02 - Water/01 - The water cycle.en.vtt"}
    assert video["poster"] == "02 - Water/01 - The water cycle.jpg"
    assert lessons["02 - Water/rain.webm"]["subtitles"] == {"sw": "02 - Water/rain.sw.vtt"}
    assert made.made_files["02 - Water/01 - The water cycle.en.vtt"].startswith(b"WEBVTT")
    topics = [(t["title"], [s["title"] for s in t["topics"]]) for t in raw["topics"]]
    assert topics == [("Plants", []), ("Water", []), ("games", []), ("pictures", [])]
    water = raw["topics"][1]["lessons"]
    assert water[:2] == ["the-water-cycle", "drip-drop"]  # numbered first, in number order
    notes = "\n".join(made.notes)
    # a book the import would refuse (this one has no spine) is left out, saying why
    assert '"Sungura.epub" was left out: ' in notes and "lists no chapters in its spine" in notes
    assert '"notes.docx" was left out: save Word documents as PDF' in notes
    assert '"games/old-stuff.zip" was left out' in notes
    assert "DS_Store" not in notes


def test_import_installs_it_and_every_lesson_opens(
    teacher_folder: Path, runner: CliRunner, data_dir: Path, client: FlaskClient
) -> None:
    code, out, err = run(runner, data_dir, "import", "--subject", "science", str(teacher_folder))
    assert code == 0, err
    assert out.startswith("installed folder-grade-4-science 1 (14 lessons)")
    assert "was made from its files: 14 lesson(s) in 4 topic(s)" in out
    assert '  video: "The water cycle" from "02 - Water/01 - The water cycle.mp4"' in out
    pack = client.get("/api/packs").get_json()
    lessons = client.get("/packs/folder-grade-4-science")
    assert lessons.status_code == 200
    manifest = json.loads(run(runner, data_dir, "list", "--json")[1])
    assert manifest[0]["id"] == "folder-grade-4-science", pack
    for lesson_id in ("the-water-cycle", "seeds", "plants", "pour-the-water", "check-yourself"):
        assert client.get(f"/lessons/folder-grade-4-science/{lesson_id}").status_code == 200
    vtt = client.get("/files/folder-grade-4-science/02 - Water/01 - The water cycle.en.vtt")
    assert vtt.status_code == 200 and b"Habari" in vtt.data
    svg = client.get("/files/folder-grade-4-science/01 - Plants/03 - Seeds/img/more.svg")
    assert svg.status_code == 200


def test_adding_files_upgrades_the_same_pack(tmp_path: Path, runner: CliRunner) -> None:
    data, folder = tmp_path / "data", write(tmp_path / "Maths", {"01 - Halves.pdf": pdf(None)})
    assert run(runner, data, "import", str(folder))[1].startswith("installed folder-maths 1")
    assert run(runner, data, "import", str(folder))[1].startswith("unchanged folder-maths 1")
    write(folder, {"02 - Adding fractions.pdf": pdf(None)})
    code, out, _ = run(runner, data, "import", str(folder))
    assert code == 0 and out.startswith("upgraded folder-maths 1 -> 2")
    (folder / "01 - Halves.pdf").rename(folder / "03 - Halves.pdf")  # reordered: same lesson id
    out = run(runner, data, "import", str(folder))[1]
    assert out.startswith("upgraded folder-maths 2 -> 3")
    assert '"Halves" from "03 - Halves.pdf"' in out
    listed = json.loads(run(runner, data, "list", "--json")[1])
    assert [(p["id"], p["version"], p["lessons"]) for p in listed] == [("folder-maths", "3", 2)]
    assert run(runner, data, "import", "--title", "Fractions", str(folder))[1].startswith(
        "upgraded folder-maths 3 -> 4"
    )


def test_make_writes_pack_json_to_edit_and_import(tmp_path: Path, runner: CliRunner) -> None:
    data = tmp_path / "data"
    folder = write(tmp_path / "Hadithi", {"story.mp4": b"x", "story.srt": SRT})
    assert run(runner, data, "import", str(folder))[0] == 0
    code, out, err = run(
        runner,
        data,
        "make",
        "--title",
        "Stories",
        "--language",
        "sw",
        "--license",
        "CC-BY-4.0",
        str(folder),
    )
    assert code == 0, err
    assert "Wrote" in out and "(version 2)" in out
    written = json.loads((folder / "pack.json").read_text())
    assert (written["title"], written["language"], written["license"]) == (
        "Stories",
        "sw",
        "CC-BY-4.0",
    )
    assert written["lessons"][0]["subtitles"] == {"sw": "story.vtt"}
    assert "x-folder-digest" not in written
    assert (folder / "story.vtt").read_bytes().startswith(b"WEBVTT")
    written["lessons"][0]["title"] = "Sungura na kobe"
    (folder / "pack.json").write_text(json.dumps(written))
    assert run(runner, data, "import", str(folder))[1].startswith("upgraded folder-hadithi 1 -> 2")
    code, _, err = run(runner, data, "make", str(folder))
    assert code == 1 and "already has a pack.json; edit it, or remove it first." in err


def test_check_shows_what_would_happen_and_changes_nothing(
    tmp_path: Path, runner: CliRunner
) -> None:
    data = tmp_path / "data"
    folder = write(tmp_path / "Art", {"a.png": PNG, "b.pdf": pdf("Colours of Africa")})
    code, out, _ = run(runner, data, "import", "--check", str(folder))
    assert code == 0
    assert out.splitlines()[0] == f"{folder}: would install folder-art 1 (2 lessons)."
    assert '  pdf: "Colours of Africa" from "b.pdf"' in out
    assert out.splitlines()[-1] == "Nothing was changed (--check)."
    assert json.loads(run(runner, data, "list", "--json")[1]) == []
    assert run(runner, data, "import", str(folder))[0] == 0
    write(folder, {"c.png": PNG})
    out = run(runner, data, "import", "--check", str(folder))[1]
    assert out.startswith(f"{folder}: would upgrade folder-art 1 -> 2.")
    assert json.loads(run(runner, data, "list", "--json")[1])[0]["version"] == "1"


def test_a_link_escaping_the_folder_is_refused(tmp_path: Path, runner: CliRunner) -> None:
    secret = write(tmp_path / "private", {"passwords.pdf": pdf(None)})
    folder = write(tmp_path / "Lessons", {"a.pdf": pdf(None)})
    (folder / "escape.pdf").symlink_to(secret / "passwords.pdf")
    code, _, err = run(runner, tmp_path / "data", "import", str(folder))
    assert code == 1
    assert f'refused: {folder} contains a symbolic link at "escape.pdf"; packs may not.' in err


def test_odd_names_are_left_out_with_a_reason(tmp_path: Path, runner: CliRunner) -> None:
    folder = write(tmp_path / "Mixed", {"ok.pdf": pdf(None), "bad\x07name.pdf": pdf(None)})
    code, out, _ = run(runner, tmp_path / "data", "import", str(folder))
    assert code == 0 and "(1 lessons)" in out
    assert '"bad\\x07name.pdf" was left out: its name contains a control character' in out


def test_an_empty_or_useless_folder_is_refused_in_one_sentence(tmp_path: Path) -> None:
    folder = write(tmp_path / "Odds", {"a.docx": b"x"})
    with pytest.raises(PackError) as caught:
        make_pack(FolderSource(folder))
    assert str(caught.value) == (
        f"{folder} has no pack.json and no files that can be lessons (PDF, video, audio, "
        'pictures, web pages, zipped apps); "a.docx" was left out: save Word documents as PDF '
        "to show them."
    )


def test_pack_ids_are_stable_and_valid() -> None:
    assert pack_id_for("Grade 4 Maths") == "folder-grade-4-maths"
    assert pack_id_for("École primaire") == "folder-ecole-primaire"
    hashed = pack_id_for("Хімія")
    assert hashed == pack_id_for("Хімія") and hashed.startswith("folder-") and len(hashed) == 19


def test_ten_thousand_files_in_bounded_time_and_memory(tmp_path: Path) -> None:
    """Pages that link each other in one long chain, and pictures: no walk is quadratic."""
    folder = tmp_path / "Big"
    for index in range(5000):
        topic = folder / f"{index // 500:02d} - Unit"
        topic.mkdir(parents=True, exist_ok=True)
        link = f'<a href="../{(index + 1) // 500:02d} - Unit/p{index + 1}.html">next</a>'
        (topic / f"p{index}.html").write_text(
            f"<title>Page {index}</title>{link}<img src=i{index}.png>"
        )
        (topic / f"i{index}.png").write_bytes(PNG)
    tracemalloc.start()
    started = time.monotonic()
    made = make_pack(FolderSource(folder))
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(made.raw["lessons"]) == 5000
    assert made.raw["lessons"][0]["assets"] == ["00 - Unit/i0.png", "00 - Unit/p1.html"]
    assert elapsed < 60 and peak < 200 * 1024**2, (elapsed, peak)


def test_progress_lines_when_not_on_a_terminal(tmp_path: Path, runner: CliRunner) -> None:
    folder = tmp_path / "Films"
    folder.mkdir()
    with open(folder / "long.mp4", "wb") as big:
        big.write(os.urandom(20 * 1024**2))
    code, _, err = run(runner, tmp_path / "data", "import", str(folder))
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("Importing")]
    assert lines[0] == f"Importing {folder}: 10% (2.0 MB of 20.0 MB)"
    assert lines[-1] == f"Importing {folder}: 100% (20.0 MB of 20.0 MB)" and len(lines) == 10
    code, _, err = run(runner, tmp_path / "data", "verify")
    assert code == 0 and "Checking the library's files: 100% (20.0 MB of 20.0 MB)" in err


def test_an_unchanged_folder_is_not_copied_again(tmp_path: Path, runner: CliRunner) -> None:
    """The version is decided from the folder's digest before staging: a re-import of the same
    files copies nothing (no progress line), and a changed file is copied again."""
    folder = tmp_path / "Films"
    folder.mkdir()
    with open(folder / "long.mp4", "wb") as big:
        big.write(os.urandom(20 * 1024**2))
    assert run(runner, tmp_path / "data", "import", str(folder))[0] == 0
    code, out, err = run(runner, tmp_path / "data", "import", str(folder))
    assert code == 0 and out.startswith("unchanged folder-films 1")
    assert "Importing" not in err
    with open(folder / "long.mp4", "ab") as big:
        big.write(b"more")
    code, out, err = run(runner, tmp_path / "data", "import", str(folder))
    assert code == 0 and out.startswith("upgraded folder-films 1 -> 2")
    assert f"Importing {folder}: 100%" in err
