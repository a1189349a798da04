"""Perseus items (Khan/perseus shapes, as Kolibri Studio publishes them) as hub questions:
what converts, what is skipped and why, and Kolibri's mastery models."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from content.exercise import parse_exercise
from content.kolibri.perseus import Unsupported, convert


def perseus(*items: dict[str, Any]) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("exercise.json", "{}")
        for number, item in enumerate(items):
            archive.writestr(f"item{number}.json", json.dumps(item))
    out.seek(0)
    return out


def item(content: str, widgets: dict[str, Any], hints: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "question": {"content": content, "images": {}, "widgets": widgets},
        "hints": [{"content": hint, "images": {}, "widgets": {}} for hint in hints],
    }


def radio(*choices: tuple[str, bool], multiple: bool = False) -> dict[str, Any]:
    options = [{"content": text, "correct": right} for text, right in choices]
    return {
        "radio 1": {"type": "radio", "options": {"choices": options, "multipleSelect": multiple}}
    }


def made(*items: dict[str, Any], mastery: str = "", randomize: bool = False) -> dict[str, Any]:
    ids = [f"item{n}" for n in range(len(items))]
    exercise = convert(perseus(*items), ids, mastery, randomize)
    parse_exercise(json.dumps(exercise).encode(), "made")  # a valid hub exercise
    return exercise


def test_radio_numeric_and_input_number_convert() -> None:
    exercise = made(
        item("Pick **one**\n\n[[☃ radio 1]]", radio(("A", False), ("B", True)), ("Think", "B")),
        item("Two [[☃ radio 1]]", radio(("A", True), ("B", True), ("C", False), multiple=True)),
        item(
            "Half of 5? [[☃ numeric-input 1]]",
            {"numeric-input 1": {"type": "numeric-input", "options": {"answers": [
                {"value": 9, "status": "wrong"},
                {"value": 2.5, "status": "correct", "maxError": 0.1},
            ]}}},
        ),
        item(
            "About pi [[☃ input-number 1]]",
            {"input-number 1": {"type": "input-number", "options": {
                "value": "3.14", "inexact": True, "maxError": 0.01}}},
        ),
    )  # fmt: skip
    single, multiple, numeric, inexact = exercise["questions"]
    assert single == {
        "id": "item0",
        "prompt": "Pick **one**",
        "type": "single",
        "choices": ["A", "B"],
        "answer": 1,
        "hint": "Think",
        "explanation": "B",
    }
    assert multiple["type"] == "multiple" and multiple["answer"] == [0, 1]
    assert numeric["answer"] == 2.5 and numeric["tolerance"] == 0.1
    assert inexact["answer"] == 3.14 and inexact["tolerance"] == 0.01
    assert "mastery" not in exercise and "pick" not in exercise


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        (item("x [[☃ expression 1]]", {"expression 1": {"type": "expression"}}), "expression"),
        (item("no box", {}), "uses no answer box"),
        (item("![](${☣ LOCALPATH}/images/a.png) [[☃ radio 1]]", radio(("A", True), ("B", False))),
         "shows a picture"),
        (item("two [[☃ radio 1]] [[☃ radio 2]]", radio(("A", True), ("B", False))), "radio"),
        (item("which [[☃ radio 1]]", radio(("A", True), ("B", True))), "marks several"),
        (item("same [[☃ radio 1]]", radio(("A", True), ("A", False))), "repeated choice"),
        (item("n [[☃ numeric-input 1]]", {"numeric-input 1": {"type": "numeric-input", "options": {
            "answers": [{"value": 1, "status": "correct"}, {"value": 2, "status": "correct"}]}}}),
         "has 2 right answers"),
        (item("n [[☃ numeric-input 1]]", {"numeric-input 1": {"type": "numeric-input", "options": {
            "answers": [{"value": "1e999", "status": "correct"}]}}}), "no usable number"),
    ],
)  # fmt: skip
def test_what_cannot_be_a_hub_question_skips_the_exercise(question: dict, reason: str) -> None:
    good = item("fine [[☃ radio 1]]", radio(("A", True), ("B", False)))
    with pytest.raises(Unsupported, match=reason) as caught:
        made(good, question)
    assert str(caught.value).startswith("question 2 ")


def test_a_damaged_or_incomplete_perseus_file_is_a_reason_not_a_crash() -> None:
    with pytest.raises(Unsupported, match="not a readable zip"):
        convert(io.BytesIO(b"PK\x03\x04 nonsense"), ["a"], "", False)
    with pytest.raises(Unsupported, match="question missing is missing"):
        convert(perseus(), ["missing"], "", False)
    with pytest.raises(Unsupported, match="it has no questions"):
        convert(perseus(), [], "", False)


@pytest.mark.parametrize(
    ("model", "mastery"),
    [
        ('{"type": "m_of_n", "m": 3, "n": 5}', {"correct": 3, "of": 5}),
        ('{"type": "num_correct_in_a_row_3"}', {"correct": 3, "of": 3}),
        ('{"type": "do_all"}', None),
        ('{"type": "m_of_n", "m": 6, "n": 5}', None),
        ("not json", None),
    ],
)
def test_kolibri_mastery_models(model: str, mastery: dict | None) -> None:
    questions = [item(f"q{n} [[☃ radio 1]]", radio(("A", True), ("B", False))) for n in range(5)]
    exercise = made(*questions, mastery=model, randomize=True)
    assert exercise.get("mastery") == mastery
    assert exercise["pick"] == 5  # randomize: every question, in a fresh order
