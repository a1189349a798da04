"""QTI exercises (IMS QTI 3.0 items in a `qti` zip, as Kolibri Studio publishes them) as hub
questions: choice, multiple choice, numeric and text entry convert; anything else, and hostile
XML, skips the exercise naming the question; and a QTI exercise in a channel imported end to
end."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from content.exercise import parse_exercise
from content.kolibri.perseus import Unsupported
from content.kolibri.qti import MAX_XML_BYTES, convert
from tests.kolibri_helpers import CHANNEL, PACK, content, edit, storage_file, writable_copy

QTI = "http://www.imsglobal.org/xsd/imsqti_v3p0"
MANIFEST_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p2"
IDS = ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"]


def studio_name(item_id: str) -> str:
    return "K" + base64.urlsafe_b64encode(bytes.fromhex(item_id)).decode().rstrip("=")


def item(body: str, declaration: str, processing: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<qti-assessment-item xmlns="{QTI}" '
        f'identifier="x" title="t" adaptive="false" time-dependent="false">{declaration}'
        f"<qti-item-body>{body}</qti-item-body>{processing}</qti-assessment-item>"
    )


def response(cardinality: str, base_type: str, *values: str) -> str:
    correct = "".join(f"<qti-value>{value}</qti-value>" for value in values)
    return (
        f'<qti-response-declaration identifier="RESPONSE" cardinality="{cardinality}" '
        f'base-type="{base_type}"><qti-correct-response>{correct}</qti-correct-response>'
        "</qti-response-declaration>"
    )


def choice(prompt: str, *choices: str, right: tuple[int, ...] = (1,), many: bool = False) -> str:
    options = "".join(
        f'<qti-simple-choice identifier="c{n}"><p>{text}</p></qti-simple-choice>'
        for n, text in enumerate(choices)
    )
    body = (
        f'<qti-choice-interaction response-identifier="RESPONSE" max-choices="{0 if many else 1}">'
        f"<qti-prompt><p>{prompt}</p></qti-prompt>{options}</qti-choice-interaction>"
    )
    values = [f"c{n}" for n in right]
    return item(body, response("multiple" if many else "single", "identifier", *values))


def entry(prompt: str, base_type: str, *values: str, tolerance: str = "") -> str:
    body = (
        f'<p>{prompt} <qti-text-entry-interaction response-identifier="RESPONSE" '
        'expected-length="10"/> (in cm)</p>'
        '<qti-feedback-block identifier="f" outcome-identifier="FEEDBACK" show-hide="show">'
        "<p>Hidden until answered</p></qti-feedback-block>"
    )
    processing = ""
    if tolerance:
        processing = (
            "<qti-response-processing><qti-response-condition><qti-response-if><qti-equal "
            f'{tolerance}><qti-variable identifier="RESPONSE"/><qti-correct '
            'identifier="RESPONSE"/></qti-equal></qti-response-if></qti-response-condition>'
            "</qti-response-processing>"
        )
    cardinality = "multiple" if len(values) > 1 else "single"
    return item(body, response(cardinality, base_type, *values), processing)


def manifest(names: list[str]) -> str:
    resources = "".join(
        f'<resource identifier="{name}" type="imsqti_item_xmlv3p0" href="items/{name}.xml">'
        f'<file href="items/{name}.xml"/></resource>'
        for name in names
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<manifest xmlns="{MANIFEST_NS}" '
        f'identifier="m"><resources>{resources}</resources></manifest>'
    )


def qti_zip(*items: str | bytes, ids: list[str] = IDS) -> bytes:
    names = [studio_name(item_id) for item_id in ids[: len(items)]]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", manifest(names))
        for name, text in zip(names, items, strict=True):
            archive.writestr(f"items/{name}.xml", text)
    return out.getvalue()


def converted(*items: str | bytes, mastery: str = "") -> dict:
    exercise = convert(io.BytesIO(qti_zip(*items)), IDS[: len(items)], mastery, False)
    parse_exercise(json.dumps(exercise).encode(), "test")  # what the hub accepts
    return exercise


def refusal(*items: str | bytes) -> str:
    with pytest.raises(Unsupported) as why:
        converted(*items)
    return str(why.value)


def test_a_choice_becomes_a_single_choice_question() -> None:
    made = converted(choice("Which is clean water?", "Pond", "Boiled", "Puddle"))
    (question,) = made["questions"]
    assert question["type"] == "single" and question["answer"] == 1
    assert question["prompt"] == "Which is clean water?"
    assert question["choices"] == ["Pond", "Boiled", "Puddle"]
    assert question["id"] == IDS[0]


def test_several_right_choices_become_a_multiple_choice_question() -> None:
    made = converted(
        choice("Which are safe?", "Boiled", "Pond", "Filtered", right=(0, 2), many=True)
    )
    assert made["questions"][0]["type"] == "multiple"
    assert made["questions"][0]["answer"] == [0, 2]


def test_a_float_entry_is_a_numeric_question_with_its_tolerance() -> None:
    exact = converted(entry("How long?", "float", "2.5"))["questions"][0]
    assert exact == {"id": IDS[0], "prompt": "How long? (in cm)", "type": "numeric", "answer": 2.5}
    absolute = 'tolerance-mode="absolute" tolerance="0.1 0.1"'
    assert converted(entry("How long?", "float", "2.5", tolerance=absolute))["questions"][0][
        "tolerance"
    ] == pytest.approx(0.1)
    relative = 'tolerance-mode="relative" tolerance="10"'
    made = converted(entry("How many?", "integer", "40", tolerance=relative))["questions"][0]
    assert made["answer"] == 40 and made["tolerance"] == 4


def test_a_string_entry_is_a_text_question_accepting_each_right_value() -> None:
    made = converted(entry("Water in Swahili?", "string", "maji", "Maji"), mastery="")
    assert made["questions"][0]["type"] == "text"
    assert made["questions"][0]["answer"] == ["maji", "Maji"]


def test_questions_keep_the_channels_order_and_kolibris_mastery() -> None:
    first, second = choice("One?", "a", "b"), entry("Two?", "integer", "2")
    out = convert(
        io.BytesIO(qti_zip(first, second)), IDS, '{"type": "m_of_n", "m": 1, "n": 2}', True
    )
    assert [q["prompt"] for q in out["questions"]] == ["One?", "Two? (in cm)"]
    assert out["mastery"] == {"correct": 1, "of": 2} and out["pick"] == 2
    backwards = convert(io.BytesIO(qti_zip(first, second)), IDS[::-1], "", False)
    assert [q["prompt"] for q in backwards["questions"]] == ["Two? (in cm)", "One?"]


@pytest.mark.parametrize(
    ("made", "reason"),
    [
        (
            item(
                '<qti-order-interaction response-identifier="RESPONSE"/><p>Order them</p>',
                response("ordered", "identifier", "a"),
            ),
            "question 2 uses qti-order-interaction",
        ),
        (
            item('<p>Write</p><qti-extended-text-interaction response-identifier="R"/>', ""),
            "question 2 uses qti-extended-text-interaction",
        ),
        (item("<p>Just reading</p>", ""), "question 2 uses no answer box"),
        (
            choice('See <img src="a.png" alt="a"/>', "a", "b"),
            "question 2 shows a picture",
        ),
        (
            choice("Pick one", "a", "b", right=(0, 1)),
            "question 2 marks several choices right but lets learners pick one",
        ),
        (choice("Pick", "a", "a"), "question 2 has a blank, long or repeated choice"),
        (entry("Two numbers?", "float", "1", "2"), "question 2 has 2 right numbers, not one"),
        (entry("A date?", "duration", "P1D"), "question 2 expects a duration answer"),
        (entry("A number?", "float", "many"), "question 2 has no usable number as its answer"),
        (
            entry("Off?", "float", "3", tolerance='tolerance-mode="absolute" tolerance="1 2"'),
            "question 2 allows different errors above and below its answer",
        ),
    ],
)
def test_other_questions_skip_the_exercise_naming_the_question(made: str, reason: str) -> None:
    assert refusal(choice("Fine", "a", "b"), made).startswith(reason)


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaaaaaaaa">'
    + "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 10}">'
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "]>"
    + f'<qti-assessment-item xmlns="{QTI}"><qti-item-body><p>&i;</p></qti-item-body>'
    + "</qti-assessment-item>"
)


@pytest.mark.parametrize(
    ("hostile", "reason"),
    [
        (BOMB, "question 1 declares a document type"),
        (
            '<?xml version="1.0"?><!DOCTYPE q SYSTEM "file:///etc/passwd"><q>&x;</q>',
            "question 1 declares a document type",
        ),
        (
            f'<qti-assessment-item xmlns="{QTI}"><p>&undefined;</p></qti-assessment-item>',
            "question 1 is not well-formed XML",
        ),
        ("<qti-assessment-item><qti-item-body>", "question 1 is not well-formed XML"),
        (b"\x00\xff\xfe binary", "question 1 is not well-formed XML"),
        ("<a>" * 100 + "</a>" * 100, "question 1 nests elements more than 40 deep"),
        ("<a>" + "<b/>" * 30_000 + "</a>", "question 1 holds more than 20000 elements"),
        (b"<a>" + b" " * MAX_XML_BYTES + b"</a>", f"is larger than {MAX_XML_BYTES} bytes"),
    ],
)
def test_hostile_xml_is_refused(hostile: str | bytes, reason: str) -> None:
    assert reason in refusal(hostile)


def test_damaged_packages_are_refused() -> None:
    assert "not a readable zip" in str(_raises(b"not a zip", IDS))
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("items/x.xml", "<a/>")
    assert "has no imsmanifest.xml" in str(_raises(empty.getvalue(), IDS))
    lonely = qti_zip(choice("One?", "a", "b"))
    assert "is missing from its QTI file" in str(_raises(_without_items(lonely), IDS[:1]))


def _raises(data: bytes, ids: list[str]) -> Unsupported:
    with pytest.raises(Unsupported) as why:
        convert(io.BytesIO(data), ids, "", False)
    return why.value


def _without_items(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as archive:
        archive.writestr("imsmanifest.xml", source.read("imsmanifest.xml"))
    return out.getvalue()


NODE = "5c1e1e1e5c1e1e1e5c1e1e1e5c1e1e1e"
ROOT = "06d30bc6b56259c09bb3c04e99b6d405"


def _add_qti_exercise(stick: Path) -> None:
    """A QTI exercise of a choice and a numeric entry under the root of a copy of the
    shared export, as Kolibri would hold one: node, file, local file, assessment metadata."""
    data = qti_zip(
        choice("Which is clean water?", "Pond", "Boiled"), entry("Litres?", "integer", "2")
    )
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    target = storage_file(stick, md5, "zip")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    edit(
        stick,
        f"""INSERT INTO content_contentnode (id, license_name, title, coach_content, content_id,
        channel_id, description, sort_order, license_owner, author, kind, available, lft, rght,
        tree_id, level, lang_id, parent_id) VALUES ('{NODE}', 'CC BY', 'Clean water (QTI)', 0,
        '{NODE}', '{CHANNEL}', '', 99, 'Studio', 'QTI author', 'exercise', 1, 900, 901, 1, 1,
        'en', '{ROOT}')""",
        f"INSERT INTO content_localfile VALUES ('{md5}', 'zip', 1, {len(data)})",
        f"INSERT INTO content_file VALUES ('{'f' * 32}', 'qti', 0, 0, 1, '{NODE}', NULL, '{md5}')",
        f"""INSERT INTO content_assessmentmetadata VALUES ('{"a" * 32}', '{json.dumps(IDS)}', 2,
        '{{"type": "do_all"}}', 0, 0, '{NODE}')""",
    )


def test_a_qti_exercise_in_a_channel_becomes_a_hub_quiz(
    tmp_path: Path, data_dir: Path, client: FlaskClient
) -> None:
    stick = writable_copy(tmp_path)
    _add_qti_exercise(stick)
    code, out, err = content(data_dir, "import", str(stick.parent))
    assert code == 0, err
    assert f"installed {PACK}" in out and "Clean water (QTI)" not in out  # not skipped
    quiz = client.get(f"/api/lessons/{PACK}/{NODE}").get_json()["exercise"]
    assert [q["type"] for q in quiz["questions"]] == ["single", "numeric"]
    assert quiz["questions"][0]["choices"] == ["Pond", "Boiled"]
