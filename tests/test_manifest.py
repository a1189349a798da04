"""pack.json parsing and validation (content/manifest.py)."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest

from content.errors import PackError
from content.manifest import FORMAT, KINDS, Manifest, parse_manifest, version_key
from tests.content_helpers import lesson, manifest_bytes, sample_manifest


def refused(data: bytes | dict[str, Any], origin: str = "pack.json") -> str:
    """The one-line message parse_manifest refuses `data` with."""
    raw = data if isinstance(data, bytes) else manifest_bytes(data)
    with pytest.raises(PackError) as caught:
        parse_manifest(raw, origin)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(origin), message
    assert "Traceback" not in message and "Error(" not in message
    return message


def with_lessons(*lessons: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return sample_manifest(lessons=list(lessons), topics=[], **overrides)


def test_sample_manifest_parses() -> None:
    manifest = parse_manifest(manifest_bytes())
    assert isinstance(manifest, Manifest)
    assert (manifest.id, manifest.version, manifest.language) == ("fractions-en", "1.0.0", "en")
    assert manifest.subjects == ("mathematics",) and manifest.grades == ("4", "5")
    assert manifest.license == "CC-BY-4.0" and manifest.attribution
    assert [entry.id for entry in manifest.lessons] == [
        "halves",
        "intro-video",
        "check-1",
        "pie-game",
    ]
    video = manifest.lesson("intro-video")
    assert video is not None and video.kind == "video"
    assert video.subtitles == {"en": "v/intro.en.vtt"}
    assert video.poster == "v/intro.jpg" and video.duration == 95.0
    assert video.paths() == ["v/intro.mp4", "v/intro.en.vtt", "v/intro.jpg"]
    halves = manifest.lesson("halves")
    assert (
        halves is not None and halves.assets == ("halves/pie.svg",) and halves.keywords == ("half",)
    )
    assert manifest.lesson("nope") is None
    assert manifest.raw["id"] == "fractions-en"


def test_topics_nest_and_loose_lessons_are_kept() -> None:
    manifest = parse_manifest(manifest_bytes())
    (intro,) = manifest.topics
    assert intro.lessons == ("halves", "intro-video")
    assert intro.topics[0].id == "practice" and intro.topics[0].lessons == ("check-1",)
    assert [topic.id for topic in manifest.all_topics()] == ["intro", "practice"]
    assert [entry.id for entry in manifest.loose_lessons()] == ["pie-game"]


def test_paths_lists_every_referenced_file() -> None:
    manifest = parse_manifest(manifest_bytes())
    assert manifest.paths() == {
        "halves/index.html",
        "halves/pie.svg",
        "v/intro.mp4",
        "v/intro.en.vtt",
        "v/intro.jpg",
        "check-1.json",
        "apps/pie.zip",
    }


def test_lesson_paths_are_listed_once() -> None:
    raw = with_lessons(lesson("a", "video", "a.mp4", assets=["x.jpg", "x.jpg"], poster="x.jpg"))
    raw["lessons"][0]["assets"] = ["x.jpg"]
    entry = parse_manifest(manifest_bytes(raw)).lessons[0]
    assert entry.paths() == ["a.mp4", "x.jpg"]


def test_minimal_manifest_takes_defaults() -> None:
    raw = {"format": FORMAT, "id": "abc", "version": "1", "title": "T", "language": "sw"}
    raw["lessons"] = [{"id": "a", "title": "A", "kind": "pdf", "file": "a.pdf"}]
    manifest = parse_manifest(json.dumps(raw).encode())
    assert (manifest.description, manifest.license, manifest.attribution) == ("", "", "")
    assert manifest.subjects == () and manifest.topics == ()
    entry = manifest.lessons[0]
    assert (entry.assets, entry.subtitles, entry.poster, entry.duration) == ((), {}, None, None)


def test_extensions_are_allowed_only_with_x_prefix() -> None:
    raw = sample_manifest(**{"x-publisher": {"any": ["thing"]}})
    raw["lessons"][0]["x-note"] = 1
    raw["topics"][0]["x-colour"] = "red"
    assert parse_manifest(manifest_bytes(raw)).raw["x-publisher"] == {"any": ["thing"]}
    message = refused(sample_manifest(publisher="me"))
    assert message.startswith("pack.json: publisher: unknown field; expected one of format, id,")
    assert message.endswith("or a name starting with x-")
    raw = sample_manifest()
    raw["lessons"][1]["colour"] = "red"
    assert refused(raw).startswith("pack.json: lessons[1].colour: unknown field")


def test_unknown_kind_names_field_and_choices() -> None:
    raw = sample_manifest()
    raw["lessons"][2]["kind"] = "movie"
    assert refused(raw) == (
        "pack.json: lessons[2].kind: expected one of article, video, audio, pdf, image, exercise, "
        'app, epub, h5p; got "movie"'
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("id", "Fractions", "id: expected a pack id of 3 to 64 lowercase letters"),
        ("id", "ab", "id: expected a pack id"),
        ("id", "-abc", "id: expected a pack id"),
        ("id", "abc\n", "id: expected a pack id"),
        ("version", "1.0.0.0.0", "version: expected a version number of 1 to 4 parts"),
        ("version", "v1", "version: expected a version number"),
        (
            "version",
            1,
            "version: expected a version number of 1 to 4 parts, such as 1, 1.2 or 1.2.3; got 1",
        ),
        ("language", "en_US", "language: expected a BCP 47 language tag"),
        ("title", "", 'title: expected a non-empty string; got ""'),
        ("subjects", "maths", 'subjects: expected a list; got "maths"'),
        ("grades", ["4", "4"], 'grades[1]: "4" is listed twice'),
        ("lessons", [], "lessons: expected at least one item; got 0"),
        ("topics", {}, "topics: expected a list; got an object"),
        ("format", "learnhub/1", 'format: expected "learnhub-pack/1"; got "learnhub/1"'),
    ],
)
def test_top_level_fields(field: str, value: Any, expected: str) -> None:
    assert expected in refused(sample_manifest(**{field: value}))


@pytest.mark.parametrize("field", ["format", "id", "version", "title", "language", "lessons"])
def test_required_top_level_fields(field: str) -> None:
    raw = sample_manifest()
    del raw[field]
    assert refused(raw) == f"pack.json: {field}: required field missing"


@pytest.mark.parametrize("field", ["id", "title", "kind", "file"])
def test_required_lesson_fields(field: str) -> None:
    raw = sample_manifest()
    del raw["lessons"][1][field]
    assert refused(raw) == f"pack.json: lessons[1].{field}: required field missing"


def test_newer_format_says_so() -> None:
    message = refused(sample_manifest(format="learnhub-pack/2"))
    assert message == (
        'pack.json: format: this hub reads "learnhub-pack/1"; got "learnhub-pack/2" '
        "(a newer hub may read it)"
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("id", "Halves", "lessons[0].id: expected an id of 1 to 64 lowercase letters"),
        ("duration", -1, "lessons[0].duration: expected a number >= 0; got -1"),
        ("duration", "95", 'lessons[0].duration: expected a number; got "95"'),
        ("keywords", ["a", 1], "lessons[0].keywords[1]: expected a string; got 1"),
        ("assets", ["a.css", "a.css"], 'lessons[0].assets[1]: "a.css" is listed twice'),
        (
            "subtitles",
            {"en_US": "a.vtt"},
            "lessons[0].subtitles.en_US: unknown field; expected a BCP 47",
        ),
        ("subtitles", ["a.vtt"], "lessons[0].subtitles: expected an object; got a list"),
        (
            "title",
            "x" * 301,
            "lessons[0].title: expected at most 300 characters; got 301 characters",
        ),
    ],
)
def test_lesson_fields(field: str, value: Any, expected: str) -> None:
    assert expected in refused(with_lessons(lesson("a", **{field: value})))


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../secret.html", "a/../../b.html", "a\\b.html", "C:/x.html",
             "c:x.html", "./a.html", "a//b.html", "a\x00.html", "a\n.html", ""],
)  # fmt: skip
def test_unsafe_paths_are_refused(path: str) -> None:
    entry = {"id": "a", "title": "A", "kind": "article", "file": path}
    message = refused(with_lessons(entry))
    assert message.startswith("pack.json: lessons[0].file: expected ")


@pytest.mark.parametrize("where", ["assets", "poster", "subtitles"])
def test_unsafe_paths_are_refused_in_every_path_field(where: str) -> None:
    value: Any = {"assets": ["../x.css"], "poster": "/x.jpg", "subtitles": {"en": "..\\x.vtt"}}[
        where
    ]
    message = refused(with_lessons(lesson("a", "video", **{where: value})))
    assert message.startswith(f"pack.json: lessons[0].{where}")
    assert "expected a relative path inside the pack" in message


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("article", ["a.html", "a.htm", "A.HTML"], "a.txt"),
        ("video", ["a.mp4", "a.webm", "a.ogv", "a.m4v", "a.MP4"], "a.avi"),
        ("audio", ["a.mp3", "a.ogg", "a.oga", "a.opus", "a.m4a", "a.wav"], "a.flac"),
        ("pdf", ["a.pdf"], "a.docx"),
        ("image", ["a.png", "a.jpg", "a.jpeg", "a.gif", "a.webp", "a.svg"], "a.bmp"),
        ("exercise", ["a.json"], "a.js"),
        ("app", ["a.zip"], "a.html"),
    ],
)
def test_files_must_match_their_kind(kind: str, good: list[str], bad: str) -> None:
    for path in good:
        assert (
            parse_manifest(manifest_bytes(with_lessons(lesson("a", kind, path)))).lessons[0].file
            == path
        )
    message = refused(with_lessons(lesson("a", kind, bad)))
    article = "an" if kind[0] in "aeiou" else "a"
    assert message.startswith("pack.json: lessons[0].file: expected a .")
    assert message.endswith(f' file for {article} {kind} lesson; got "{bad}"')


def test_video_message_lists_media_extensions() -> None:
    assert refused(with_lessons(lesson("a", "video", "v/a.avi"))) == (
        "pack.json: lessons[0].file: expected a .mp4, .webm, .ogv or .m4v file for a video lesson; "
        'got "v/a.avi"'
    )


def test_subtitles_must_be_vtt_and_posters_images() -> None:
    message = refused(with_lessons(lesson("a", "video", subtitles={"en": "a.srt"})))
    assert (
        message
        == 'pack.json: lessons[0].subtitles.en: expected a .vtt file for subtitles; got "a.srt"'
    )
    message = refused(with_lessons(lesson("a", "video", poster="a.mp4")))
    assert message.startswith("pack.json: lessons[0].poster: expected a .png, .jpg,")
    assert message.endswith('file for a poster; got "a.mp4"')


def test_duplicate_lesson_ids() -> None:
    raw = with_lessons(lesson("a"), lesson("b"), lesson("a", file="c.html"))
    assert refused(raw) == 'pack.json: lessons[2].id: "a" is already the id of lessons[0]'


def test_duplicate_topic_ids_anywhere_in_the_tree() -> None:
    raw = sample_manifest()
    raw["topics"].append(
        {"id": "other", "title": "Other", "topics": [{"id": "practice", "title": "P"}]}
    )
    assert (
        refused(raw)
        == 'pack.json: topics[1].topics[0].id: "practice" is already the id of topics[0].topics[0]'
    )


def test_topics_must_name_known_lessons() -> None:
    raw = sample_manifest()
    raw["topics"][0]["topics"][0]["lessons"] = ["check-1", "check-2"]
    assert refused(raw) == (
        "pack.json: topics[0].topics[0].lessons[1]: expected the id of a lesson in this pack; "
        'got "check-2"'
    )


def test_a_lesson_may_be_in_two_topics_but_not_twice_in_one() -> None:
    raw = sample_manifest()
    raw["topics"].append({"id": "again", "title": "Again", "lessons": ["halves"]})
    assert len(list(parse_manifest(manifest_bytes(raw)).all_topics())) == 3
    raw["topics"][1]["lessons"] = ["halves", "halves"]
    assert refused(raw) == 'pack.json: topics[1].lessons[1]: "halves" is listed twice'


def test_topic_fields() -> None:
    raw = sample_manifest(topics=[{"id": "t", "lessons": []}])
    assert refused(raw) == "pack.json: topics[0].title: required field missing"
    raw = sample_manifest(topics=[{"id": "t", "title": "T", "pages": []}])
    assert refused(raw).startswith(
        "pack.json: topics[0].pages: unknown field; expected one of id, title,"
    )


def test_invalid_utf8() -> None:
    assert (
        refused(b'{"title": "caf\xe9"}') == "pack.json is not UTF-8 text (bad byte at offset 14)."
    )


def test_utf8_bom_is_accepted() -> None:
    assert parse_manifest(b"\xef\xbb\xbf" + manifest_bytes()).id == "fractions-en"


def test_invalid_json_says_what_is_wrong_and_where() -> None:
    data = b'{\n  "format": "learnhub-pack/1",\n  "id": "abc"\n  "version": "1"\n}'
    assert refused(data, "fractions/pack.json") == (
        "fractions/pack.json is not valid JSON: a missing comma between items on line 3."
    )
    assert refused(b"") == "pack.json is not valid JSON: the file is empty."


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"[]", "pack.json: expected a JSON object at the top; got a list"),
        (b'"x"', 'pack.json: expected a JSON object at the top; got "x"'),
        (b'{"a": NaN}', "pack.json is not valid JSON: NaN is not a JSON number."),
        (b'{"a": 1e400}', "pack.json is not valid JSON: 1e400 is too large a number."),
        (
            b'{"a": 1, "a": 2}',
            'pack.json is not valid JSON: the key "a" appears twice in one object.',
        ),
    ],
)
def test_not_an_object_or_not_strict_json(data: bytes, expected: str) -> None:
    assert refused(data) == expected


def test_duplicate_key_inside_a_lesson_is_refused() -> None:
    text = (
        manifest_bytes()
        .decode()
        .replace('"kind": "article"', '"kind": "article", "kind": "app"', 1)
    )
    assert (
        refused(text.encode())
        == 'pack.json is not valid JSON: the key "kind" appears twice in one object.'
    )


def test_deep_nesting_is_refused_without_a_traceback() -> None:
    topic: dict[str, Any] = {"id": "t", "title": "T"}
    for level in range(40):
        topic = {"id": f"t{level}", "title": "T", "topics": [topic]}
    assert (
        refused(sample_manifest(topics=[topic])) == "pack.json is nested more than 32 levels deep."
    )
    assert refused(b"[" * 200_000 + b"]" * 200_000) == "pack.json is nested too deeply."


def test_paths_are_nfc_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "café/été.html")
    entry = parse_manifest(
        manifest_bytes(with_lessons(lesson("a", "article", decomposed)))
    ).lessons[0]
    assert entry.file == unicodedata.normalize("NFC", "café/été.html")


def test_kinds_constant() -> None:
    assert KINDS == (
        "article",
        "video",
        "audio",
        "pdf",
        "image",
        "exercise",
        "app",
        "epub",
        "h5p",
    )


@pytest.mark.parametrize(
    ("older", "newer"),
    [("1.9.2", "1.10.0"), ("1", "1.0.1"), ("0.9", "1"), ("2.0.0", "10.0"), ("1.2.3", "1.2.3.1")],
)
def test_version_order(older: str, newer: str) -> None:
    assert version_key(older) < version_key(newer)


def test_version_equality_ignores_trailing_zeros() -> None:
    assert version_key("1.2") == version_key("1.2.0") == version_key("1.2.0.0") == (1, 2)
    assert version_key("0") == (0,)
    assert parse_manifest(manifest_bytes(sample_manifest(version="1.10"))).version_key() == (1, 10)


@pytest.mark.parametrize("bad", ["", "v1", "1.", "1..2", "1.2.3.4.5", "1.0\n", "-1"])
def test_version_key_refuses_non_versions(bad: str) -> None:
    with pytest.raises(PackError, match=r"is not a version number such as 1\.2\.0"):
        version_key(bad)


def test_a_pack_and_its_lessons_may_name_thumbnails() -> None:
    raw = with_lessons(lesson("a", "article", "a.html", thumbnail="pics/a.webp"))
    manifest = parse_manifest(manifest_bytes({**raw, "thumbnail": "pics/cover.png"}))
    assert manifest.thumbnail == "pics/cover.png" and manifest.lessons[0].thumbnail == "pics/a.webp"
    assert manifest.paths() == {"a.html", "pics/a.webp", "pics/cover.png"}  # so installed
    assert parse_manifest(manifest_bytes()).thumbnail is None


def test_thumbnails_must_be_pictures_inside_the_pack() -> None:
    message = refused({**with_lessons(lesson("a", "article")), "thumbnail": "cover.pdf"})
    assert message.startswith("pack.json: thumbnail: expected a .png, .jpg,")
    assert message.endswith('file for a cover; got "cover.pdf"')
    assert "thumbnail" in refused({**with_lessons(lesson("a", "article")), "thumbnail": "../c.png"})
    message = refused(with_lessons(lesson("a", "article", thumbnail="a.mp4")))
    assert message.startswith("pack.json: lessons[0].thumbnail: expected a .png")


def test_a_lesson_may_state_its_own_licence_attribution_and_author() -> None:
    credit = {"license": "CC-BY-SA-4.0", "attribution": "© Ana Lima, 2024", "author": "Ana Lima"}
    other = {"license": "LicenseRef-school-only"}
    raw = with_lessons(lesson("a", **credit), lesson("b", **other), lesson("c"))
    a, b, c = parse_manifest(manifest_bytes(raw)).lessons
    assert (a.license, a.attribution, a.author) == ("CC-BY-SA-4.0", "© Ana Lima, 2024", "Ana Lima")
    assert (b.license, b.attribution, b.author) == ("LicenseRef-school-only", "", "")
    assert (c.license, c.attribution, c.author) == ("", "", "")  # the pack's, then


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("license", "x" * 201, "lessons[0].license: expected at most 200 characters; got 201"),
        ("attribution", "x" * 2001, "lessons[0].attribution: expected at most 2000 characters"),
        ("author", "x" * 301, "lessons[0].author: expected at most 300 characters; got 301"),
        ("author", ["Ana"], "lessons[0].author: expected a string; got a list"),
    ],
)
def test_lesson_credits_too_long_or_not_text(field: str, value: Any, expected: str) -> None:
    assert expected in refused(with_lessons(lesson("a", **{field: value})))


@pytest.mark.parametrize(
    "bad", ["CC BY", "CC-BY-4.0 OR MIT", "-MIT", "LicenseRef-", "LicenseRef-a b", "", "GPL++"]
)
def test_a_lesson_licence_is_an_spdx_id_or_a_licenseref(bad: str) -> None:
    message = refused(with_lessons(lesson("a", license=bad)))
    assert message.startswith("pack.json: lessons[0].license: expected an SPDX licence id such")
