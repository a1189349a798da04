"""H5P packages (content/h5p.py): every real package from H5P's editor is taken, every broken
or hostile one refused with one sentence, and a .h5p imported on its own is a one-lesson pack
whose text is searchable."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from content.errors import PackError
from content.h5p import h5p_text, is_servable, read_h5p
from hub.core.db import connected
from hub.library.models import Lesson, Pack
from tests.progress_helpers import prepare_hub
from tests.testdata import TESTDATA

SHARED = TESTDATA / "h5p"
VALID = sorted(SHARED.glob("*.h5p"))
REFUSALS = {
    "broken-content-json.h5p": '"content/content.json" is not valid JSON',
    "broken-h5p-json.h5p": '"h5p.json" is not valid JSON',
    "corrupt_archive.h5p": "is neither a folder nor a zip file",
    "invalid-h5p-json-schema.h5p": '"h5p.json" names no main library',
    "invalid-library-json.h5p": "lacks title, machineName, majorVersion",
    "missing-preloaded-js.h5p": 'lists "greetingcard.js" in preloadedJs, which is not there',
    "xss-svg.h5p": '"content/images/xss.svg" is an SVG image with script in it',
}


def test_the_shared_packages_are_there() -> None:
    assert len(VALID) == 6
    assert sorted(p.name for p in (SHARED / "invalid").glob("*.h5p")) == sorted(REFUSALS)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_real_package_is_taken(path: Path) -> None:
    package = read_h5p(path, name=path.name)
    assert package.main_library == path.stem
    assert package.title and package.language == "und"
    assert any(folder.startswith(path.stem + "-") for folder in package.libraries)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_every_broken_or_hostile_package_is_refused_in_one_sentence(name: str) -> None:
    with pytest.raises(PackError) as refused:
        read_h5p(SHARED / "invalid" / name, name=name)
    message = str(refused.value)
    assert REFUSALS[name] in message and message.startswith(name)
    assert message.count(". ") == 0 and message.endswith(".") and "\n" not in message


def rebuilt(
    source: Path, target: Path, drop: str = "", add: dict[str, bytes] | None = None
) -> Path:
    """A copy of a real package with one entry dropped or some added."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename != drop:
                new.writestr(info, old.read(info))
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return target


def test_a_missing_library_a_forbidden_type_and_a_stray_file_are_refused(tmp_path: Path) -> None:
    true_false = SHARED / "H5P.TrueFalse.h5p"
    cases = {
        "no-library.h5p": ({"drop": "H5P.Question-1.4/library.json"}, "library folder"),
        "exe.h5p": ({"add": {"content/run.exe": b"MZ"}}, '"content/run.exe", a type of file'),
        "js-in-content.h5p": ({"add": {"content/x.js": b"1"}}, '"content/x.js", a type of file'),
        "root.h5p": ({"add": {"index.html": b"<p>"}}, '"index.html", a type of file'),
        "onload.h5p": (
            {"add": {"content/a.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>'}},
            "SVG image with script",
        ),
    }
    for name, (change, expected) in cases.items():
        with pytest.raises(PackError, match=expected):
            read_h5p(rebuilt(true_false, tmp_path / name, **change), name=name)  # type: ignore[arg-type]


def test_only_allowed_files_are_served() -> None:
    assert is_servable("h5p.json") and is_servable("content/content.json")
    assert is_servable("H5P.TrueFalse-1.6/dist/h5p-true-false.js")
    assert not is_servable("content/x.js") and not is_servable("index.html")
    assert not is_servable("content/.secret.json") and not is_servable("x/.htaccess")


def test_the_text_of_an_activity_is_its_words_not_its_settings() -> None:
    text = h5p_text(SHARED / "H5P.MultiChoice.h5p")
    assert "What color does the blackcurrant berry actually have?" in text
    assert "Very dark purple" in text and "<div>" not in text
    assert h5p_text(SHARED / "invalid" / "corrupt_archive.h5p") == ""


def test_a_h5p_file_on_its_own_is_a_pack_of_one_lesson(tmp_path: Path) -> None:
    data = tmp_path / "data"
    prepare_hub(data, packs=[SHARED / "H5P.TrueFalse.h5p"], samples=False)
    with connected():
        pack = Pack.with_manifest("h5p-h5p-truefalse")
        assert pack is not None and pack.title == "True/False Question" and pack.version == "1"
        (lesson,) = Lesson.in_pack(pack.id)
        assert lesson.kind == "h5p" and lesson.lesson_id == "h5p-truefalse"
        assert json.dumps(pack.manifest).count("x-h5p-sha256") == 1
