"""Mistakes are easy to fix (#16): every problem of a pack at once, and files an article uses
but pack.json does not list are added, or the import fails naming them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hub.cli.common import open_hub
from hub.cli.main import main
from hub.library.models import PackFile
from tests.content_helpers import sample_files, sample_manifest, write_pack_dir, write_pack_zip


def run(runner: CliRunner, data: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(main, ["content", args[0], "--data", str(data), *args[1:]])
    return result.exit_code, result.stdout, result.stderr


def with_page(page: bytes, **extra: bytes) -> dict[str, bytes]:
    files = sample_files()
    files["halves/index.html"] = page
    files.update(extra)
    return files


def test_files_a_page_uses_are_added_when_the_pack_has_them(
    tmp_path: Path, runner: CliRunner
) -> None:
    page = b'<link rel=stylesheet href="style.css"><img src="pie.svg"><img srcset="big.png 2x">'
    files = with_page(
        page,
        **{
            "halves/style.css": b"p{background:url(dot.png)}",
            "halves/big.png": b"png",
            "halves/dot.png": b"png",
        },
    )
    pack = write_pack_zip(tmp_path / "p.zip", sample_manifest(), files)
    data = tmp_path / "data"
    code, out, err = run(runner, data, "import", str(pack))
    assert code == 0, err
    assert (
        '  lesson "halves": added 3 file(s) its page uses that pack.json does not list: '
        '"halves/style.css", "halves/big.png", "halves/dot.png".'
    ) in out

    with open_hub(data):
        paths = {f.path for f in PackFile.select().where(PackFile.pack == "fractions-en")}
    assert {"halves/style.css", "halves/big.png", "halves/dot.png"} <= paths


def test_a_used_file_the_pack_lacks_fails_naming_it(tmp_path: Path, runner: CliRunner) -> None:
    pack = write_pack_dir(tmp_path / "p", sample_manifest(), with_page(b'<img src="gone.png">'))
    code, _, err = run(runner, tmp_path / "data", "import", str(pack))
    assert code == 1
    assert (
        f'refused: {pack}: the page "halves/index.html" of lesson "halves" uses "halves/gone.png", '
        "which is not in the pack." in err
    )
    assert json.loads(run(runner, tmp_path / "data", "list", "--json")[1]) == []


def test_every_problem_is_reported_at_once(tmp_path: Path, runner: CliRunner) -> None:
    manifest = sample_manifest()
    manifest["lessons"][0]["kind"] = "movie"
    manifest["lessons"][1]["title"] = ""
    manifest["lessons"].append(dict(manifest["lessons"][2]))
    manifest["topics"][0]["lessons"].append("nope")
    pack = write_pack_dir(tmp_path / "p", manifest, sample_files())
    code, _, err = run(runner, tmp_path / "data", "import", str(pack))
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == f"refused {pack}, with 4 problems:"
    origin = f"{pack}/pack.json"
    assert lines[1:5] == [
        f"  - {origin}: lessons[0].kind: expected one of article, video, audio, pdf, image, "
        'exercise, app, epub, h5p; got "movie"',
        f'  - {origin}: lessons[1].title: expected a non-empty string; got ""',
        f'  - {origin}: lessons[4].id: "check-1" is already the id of lessons[2]',
        f'  - {origin}: topics[0].lessons[2]: expected the id of a lesson in this pack; got "nope"',
    ]


def test_missing_files_and_broken_quizzes_together(tmp_path: Path, runner: CliRunner) -> None:
    files = sample_files()
    del files["v/intro.en.vtt"]
    files["check-1.json"] = b'{"mastery": {"correct": 1, "of": 1}, "questions": [],}'
    pack = write_pack_dir(tmp_path / "p", sample_manifest(), files)
    code, out, err = run(runner, tmp_path / "data", "import", "--check", str(pack))
    assert code == 1 and "would be refused, with 2 problem(s):" in err
    assert '"v/intro.en.vtt" of lesson "intro-video" is not in the pack' in err
    assert "check-1.json" in err and out == ""
