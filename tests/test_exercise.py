"""Exercise files: parsing (every refusal and its message), grading, and mastery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from content import exercise as exercise_module
from content.errors import PackError
from content.exercise import (
    MAX_ANSWER_CHARS,
    AnswerError,
    Exercise,
    Grade,
    Question,
    grade,
    mastery_reached,
    parse_exercise,
)

ORIGIN = "fractions/check-1.json"
SAMPLES = Path(__file__).resolve().parent.parent / "content" / "samples"


def single(**fields: Any) -> dict[str, Any]:
    base = {"id": "q1", "type": "single", "prompt": "Which is one half?"}
    return base | {"choices": ["1/3", "1/2", "1/4", "2/3"], "answer": 1} | fields


def multiple(**fields: Any) -> dict[str, Any]:
    base = {"id": "q2", "type": "multiple", "prompt": "Which equal one half?"}
    return base | {"choices": ["2/4", "1/3", "3/6"], "answer": [0, 2]} | fields


def numeric(**fields: Any) -> dict[str, Any]:
    base = {"id": "q3", "type": "numeric", "prompt": "1 divided by 2?"}
    return base | {"answer": 0.5, "tolerance": 0.01} | fields


def text(**fields: Any) -> dict[str, Any]:
    base = {"id": "q4", "type": "text", "prompt": "What falls as rain?"}
    return base | {"answer": ["eau", "l'eau"]} | fields


def dump(*questions: dict[str, Any], **top: Any) -> str:
    return json.dumps({"mastery": {"correct": 3, "of": 4}, "questions": list(questions)} | top)


def parse(*questions: dict[str, Any], **top: Any) -> Exercise:
    return parse_exercise(dump(*questions, **top).encode(), ORIGIN)


def refusal(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(PackError) as caught:
        parse_exercise(raw, ORIGIN)
    message = str(caught.value)
    assert message.startswith(ORIGIN + ": ")
    assert "\n" not in message
    assert "Traceback" not in message
    return message.removeprefix(ORIGIN + ": ")


def question_refusal(*questions: dict[str, Any], **top: Any) -> str:
    return refusal(dump(*questions, **top))


@pytest.fixture
def quiz() -> Exercise:
    return parse(single(explanation="Two equal parts."), multiple(), numeric(), text())


def result(exercise: Exercise, answers: dict[str, Any], qid: str) -> tuple[bool, bool]:
    found = next(r for r in grade(exercise, answers).results if r.question_id == qid)
    return found.answered, found.correct


def malformed(exercise: Exercise, answers: Any) -> str:
    with pytest.raises(AnswerError) as caught:
        grade(exercise, answers)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- parsing: what is accepted -----------------------------------------------------------


def test_the_brief_example_parses(quiz: Exercise) -> None:
    assert (quiz.mastery_correct, quiz.mastery_of) == (3, 4)
    assert [q.type for q in quiz.questions] == ["single", "multiple", "numeric", "text"]
    first = quiz.question("q1")
    assert first == Question(
        id="q1",
        type="single",
        prompt="Which is one half?",
        choices=("1/3", "1/2", "1/4", "2/3"),
        answer=1,
        explanation="Two equal parts.",
    )
    assert quiz.question("q2").answer == (0, 2)
    assert (quiz.question("q3").answer, quiz.question("q3").tolerance) == (0.5, 0.01)
    assert quiz.question("q4").answer == ("eau", "l'eau")
    assert quiz.question("nope") is None


def test_a_single_accepted_string_becomes_a_tuple() -> None:
    assert parse(text(answer="eau")).question("q4").answer == ("eau",)


def test_optional_fields_have_defaults() -> None:
    raw = numeric()
    del raw["tolerance"]
    question = parse(raw).question("q3")
    assert (question.tolerance, question.hint, question.explanation) == (0.0, "", "")


def test_mastery_defaults_to_every_question_right() -> None:
    data = json.dumps({"questions": [single(), numeric()]}).encode()
    exercise = parse_exercise(data, ORIGIN)
    assert (exercise.mastery_correct, exercise.mastery_of) == (2, 2)


def test_mastery_of_may_exceed_the_questions_of_one_attempt() -> None:
    exercise = parse(single(), mastery={"correct": 8, "of": 10})
    assert (exercise.mastery_correct, exercise.mastery_of) == (8, 10)


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + dump(single()).encode()
    assert parse_exercise(data, ORIGIN).question("q1") is not None


def test_extension_fields_are_accepted() -> None:
    exercise = parse(single(**{"x-difficulty": 2}), **{"x-generator": {"name": "tool"}})
    assert exercise.question("q1").answer == 1


def test_a_whole_float_is_an_index() -> None:
    assert parse(single(answer=1.0)).question("q1").answer == 1


def test_parse_accepts_bytearray_and_non_ascii_text() -> None:
    raw = dump(text(prompt="Quelle est l\u2019équation ?", answer="Équation"))
    exercise = parse_exercise(bytearray(raw.encode()), ORIGIN)
    assert exercise.question("q4").prompt == "Quelle est l\u2019équation ?"


# --- parsing: what is refused, and how it is said ----------------------------------------


def test_invalid_utf8_names_line_and_column() -> None:
    message = refusal(b'{\n  "questions": "\xff"}')
    assert message == "line 2, column 17: not UTF-8 text (byte 0xff); save the file as UTF-8"


def test_invalid_json_names_line_and_column() -> None:
    message = refusal('{"questions": [\n  {"id": "q1",}\n]}')
    assert message.startswith("line 2, column 15: not valid JSON (expecting property name")


def test_truncated_json_is_refused() -> None:
    assert refusal(dump(single())[:-5]).startswith("line 1, column")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_numbers_are_refused_with_their_position(constant: str) -> None:
    data = '{"questions": [\n {"id": "NaN", "type": "numeric", "prompt": "p", "answer": %s}]}'
    message = refusal(data % constant)
    assert message == f"line 2, column 60: {constant} is not a JSON number"


def test_a_number_too_large_for_a_float_is_refused() -> None:
    data = dump(numeric()).replace("0.5", "1e999")
    message = refusal(data)
    assert message == (
        "questions[0].answer: expected a number between -1e308 and 1e308; got Infinity"
    )


def test_a_huge_integer_answer_is_refused() -> None:
    message = question_refusal(numeric(answer=10**400))
    assert message.startswith("questions[0].answer: expected a number between -1e308 and 1e308")


def test_an_integer_with_too_many_digits_is_refused() -> None:
    message = refusal(dump(numeric()).replace("0.5", "1" * 5000))
    assert message == "not valid JSON (a number has too many digits)"


def test_an_infinite_tolerance_is_refused() -> None:
    message = refusal(dump(numeric()).replace("0.01", "1e400"))
    assert message.startswith("questions[0].tolerance: expected a number between")


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    data = dump(single(**{"x-deep": "HOLE"})).replace('"HOLE"', "[" * depth + "]" * depth)
    assert refusal(data) == "nested more than 32 levels deep"


def test_a_repeated_field_is_refused() -> None:
    data = '{"questions": [{"id": "q", "type": "text", "prompt": "p", "answer": "a", "answer": 1}]}'
    assert refusal(data) == 'the field "answer" appears twice in one object'


def test_the_top_level_must_be_an_object() -> None:
    assert refusal("[1, 2]") == "expected an object; got a list"


def test_questions_are_required() -> None:
    assert refusal('{"mastery": {"correct": 1, "of": 1}}') == "questions: required field missing"


def test_an_empty_question_list_is_refused() -> None:
    assert question_refusal() == "questions: expected at least one item; got 0"


def test_questions_must_be_a_list() -> None:
    assert refusal('{"questions": {"q1": {}}}') == "questions: expected a list; got an object"


def test_too_many_questions_are_refused() -> None:
    many = [text(id=f"q{n}") for n in range(1001)]
    # (a schema validator that knows maxItems may word it differently; the limit is the point)
    assert question_refusal(*many).startswith("questions: expected at most 1000")


def test_an_unknown_top_level_field_is_refused() -> None:
    message = question_refusal(single(), masteri={"correct": 1, "of": 1})
    assert message.startswith("masteri: unknown field; expected one of mastery, pick, questions")


def test_an_unknown_question_type_is_refused() -> None:
    message = question_refusal(single(), text(id="q2", type="essay"))
    assert message == (
        'questions[1].type: expected one of single, multiple, numeric, text; got "essay"'
    )


@pytest.mark.parametrize("missing", ["id", "type", "prompt", "answer"])
def test_required_question_fields(missing: str) -> None:
    question = single()
    del question[missing]
    assert question_refusal(question) == f"questions[0].{missing}: required field missing"


@pytest.mark.parametrize("bad_id", ["", "q 1", "q1\n", "q" * 65, "é"])
def test_question_ids_must_match_the_pattern(bad_id: str) -> None:
    message = question_refusal(single(id=bad_id))
    assert message.startswith("questions[0].id: expected an id of 1 to 64 letters, digits")


def test_a_64_character_id_is_fine() -> None:
    assert parse(single(id="Q-_9" * 16)).question("Q-_9" * 16) is not None


def test_question_ids_must_be_unique() -> None:
    message = question_refusal(single(), numeric(), text(id="q1"))
    assert message == 'questions[2].id: "q1" is already the id of questions[0]'


@pytest.mark.parametrize("prompt", ["", "   \n"])
def test_a_blank_prompt_is_refused(prompt: str) -> None:
    message = question_refusal(single(prompt=prompt))
    assert message.startswith("questions[0].prompt: expected text that is not blank")


def test_a_prompt_must_be_text() -> None:
    message = question_refusal(single(prompt=["Which?"]))
    assert message == "questions[0].prompt: expected text that is not blank; got a list"


@pytest.mark.parametrize("kind", ["single", "multiple"])
def test_choices_are_required_for_choice_questions(kind: str) -> None:
    question = single(type=kind) if kind == "single" else multiple()
    del question["choices"]
    assert question_refusal(question) == "questions[0].choices: required field missing"


def test_single_answer_out_of_range_is_refused() -> None:
    message = question_refusal(single(), single(id="q2"), single(id="q3", answer=7))
    assert message == "questions[2].answer: expected an index between 0 and 3; got 7"


@pytest.mark.parametrize(
    ("answer", "got"), [(-1, "expected a number >= 0; got -1"), (True, "got true")]
)
def test_single_answer_must_be_a_choice_index(answer: Any, got: str) -> None:
    message = question_refusal(single(answer=answer))
    assert message.startswith("questions[0].answer: ")
    assert got in message


@pytest.mark.parametrize("answer", ["1", 0.5, [1], None])
def test_single_answer_of_the_wrong_type_is_refused(answer: Any) -> None:
    message = question_refusal(single(answer=answer))
    assert message.startswith(
        "questions[0].answer: expected a choice index (a whole number from 0)"
    )


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        (["only"], "questions[0].choices: expected at least 2 items; got 1"),
        (["a", " "], "questions[0].choices[1]: expected a choice text that is not blank"),
        (["a", "b", "a"], 'questions[0].choices[2]: "a" is listed twice'),
        (["a", 2], "questions[0].choices[1]: expected a choice text that is not blank; got 2"),
        ("a, b", 'questions[0].choices: expected a list; got "a, b"'),
        ([str(n) for n in range(101)], "questions[0].choices: expected at most 100"),
    ],
)
def test_bad_choices_are_refused(choices: Any, message: str) -> None:
    assert question_refusal(single(choices=choices, answer=0)).startswith(message)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (1, "questions[0].answer: expected a list of choice indices; got 1"),
        ([], "questions[0].answer: expected at least one item; got 0"),
        ([0, 0], "questions[0].answer[1]: 0 is listed twice"),
        ([0, 3], "questions[0].answer[1]: expected an index between 0 and 2; got 3"),
        ([0, "2"], "questions[0].answer[1]: expected a choice index"),
    ],
)
def test_bad_multiple_answers_are_refused(answer: Any, message: str) -> None:
    assert question_refusal(multiple(answer=answer)).startswith(message)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"answer": "0.5"}, 'questions[0].answer: expected a number; got "0.5"'),
        ({"answer": True}, "questions[0].answer: expected a number; got true"),
        ({"answer": None}, "questions[0].answer: expected a number; got null"),
        ({"tolerance": -0.1}, "questions[0].tolerance: expected a number >= 0; got -0.1"),
        ({"tolerance": "0.1"}, 'questions[0].tolerance: expected a number; got "0.1"'),
        ({"choices": ["a", "b"]}, "questions[0].choices: unknown field"),
    ],
)
def test_bad_numeric_questions_are_refused(fields: dict[str, Any], message: str) -> None:
    assert question_refusal(numeric(**fields)).startswith(message)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([], "questions[0].answer: expected at least one item; got 0"),
        ("", 'questions[0].answer: expected an accepted answer that is not blank; got ""'),
        ("\u0301 ", "questions[0].answer: expected an accepted answer that is not blank"),
        (["eau", " "], "questions[0].answer[1]: expected an accepted answer that is not blank"),
        (["eau", 3], "questions[0].answer[1]: expected an accepted answer that is not blank"),
        (42, "questions[0].answer: expected an accepted answer or a list of them; got 42"),
        ("x" * 1001, "questions[0].answer: expected at most 1000 characters; got 1001"),
        (["x"] * 101, "questions[0].answer: expected at most 100"),
    ],
)
def test_bad_text_answers_are_refused(answer: Any, message: str) -> None:
    assert question_refusal(text(answer=answer)).startswith(message)


@pytest.mark.parametrize("kind", ["single", "multiple", "text"])
def test_a_tolerance_is_only_for_numeric_questions(kind: str) -> None:
    question = {"single": single, "multiple": multiple, "text": text}[kind](tolerance=0.1)
    message = question_refusal(question)
    assert message.startswith("questions[0].tolerance: unknown field; expected one of id, type")


def test_choices_are_not_for_text_questions() -> None:
    message = question_refusal(text(choices=["eau", "feu"]))
    assert message.startswith("questions[0].choices: unknown field")


def test_a_misspelt_question_field_is_refused() -> None:
    message = question_refusal(single(explaination="..."))
    assert message.startswith("questions[0].explaination: unknown field; expected one of id")


@pytest.mark.parametrize(
    ("mastery", "message"),
    [
        ({"correct": 5, "of": 4}, "mastery.correct: expected at most mastery.of (4); got 5"),
        ({"correct": 0, "of": 4}, "mastery.correct: expected a number >= 1; got 0"),
        ({"correct": 1, "of": 0}, "mastery.of: expected a number >= 1; got 0"),
        (
            {"correct": 1, "of": 1001},
            "mastery.of: expected a whole number from 1 to 1000; got 1001",
        ),
        (
            {"correct": 1.5, "of": 4},
            "mastery.correct: expected a whole number from 1 to 1000; got 1.5",
        ),
        (
            {"correct": "3", "of": 4},
            'mastery.correct: expected a whole number from 1 to 1000; got "3"',
        ),
        ({"correct": 3}, "mastery.of: required field missing"),
        ({"correct": 3, "of": 4, "in_a_row": True}, "mastery.in_a_row: unknown field"),
        ([3, 4], "mastery: expected an object; got a list"),
    ],
)
def test_bad_mastery_is_refused(mastery: Any, message: str) -> None:
    assert question_refusal(single(), mastery=mastery).startswith(message)


def test_hint_and_explanation_must_be_text() -> None:
    assert question_refusal(single(hint=1)) == "questions[0].hint: expected a string; got 1"


# --- the schema file ---------------------------------------------------------------------


def test_the_schema_defines_each_question_type_for_other_validators() -> None:
    schema = exercise_module.exercise_schema()
    question = schema["$defs"]["question"]
    assert question["properties"]["type"]["enum"] == list(exercise_module.TYPES)
    branches = {b["if"]["properties"]["type"]["const"]: b["then"] for b in question["allOf"]}
    assert branches == {kind: {"$ref": f"#/$defs/{kind}"} for kind in exercise_module.TYPES}


def test_the_schema_limits_are_the_ones_enforced_in_code() -> None:
    schema = exercise_module.exercise_schema()
    defs = schema["$defs"]
    assert schema["properties"]["questions"]["maxItems"] == exercise_module.MAX_QUESTIONS
    assert defs["choices"]["maxItems"] == exercise_module.MAX_CHOICES
    assert defs["text"]["properties"]["answer"]["maxItems"] == exercise_module.MAX_ACCEPTED
    assert defs["count"]["maximum"] == exercise_module.MAX_MASTERY
    assert defs["accepted"]["maxLength"] == MAX_ANSWER_CHARS


def test_the_schema_is_shipped_as_package_data() -> None:
    path = Path(exercise_module.__file__).with_name("exercise_schema.json")
    assert json.loads(path.read_text("utf-8"))["$id"] == "urn:learnhub:exercise-schema:1"


# --- grading: single ---------------------------------------------------------------------


@pytest.mark.parametrize("answer", [1, "1", " 1 ", "\u0661"])
def test_single_right(quiz: Exercise, answer: Any) -> None:
    assert result(quiz, {"q1": answer}, "q1") == (True, True)


@pytest.mark.parametrize("answer", [0, "3"])
def test_single_wrong(quiz: Exercise, answer: Any) -> None:
    assert result(quiz, {"q1": answer}, "q1") == (True, False)


@pytest.mark.parametrize("answers", [{}, {"q1": None}, {"q1": ""}, {"q1": "  "}, {"q1": []}])
def test_single_missing(quiz: Exercise, answers: dict[str, Any]) -> None:
    assert result(quiz, answers, "q1") == (False, False)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (4, "answers.q1: expected a choice index between 0 and 3; got 4"),
        ("4", 'answers.q1: expected a choice index between 0 and 3; got "4"'),
        (-1, "answers.q1: expected a choice index between 0 and 3; got -1"),
        ("-1", 'answers.q1: expected a choice index such as 0 or 1; got "-1"'),
        ("one", 'answers.q1: expected a choice index such as 0 or 1; got "one"'),
        (1.0, "answers.q1: expected a choice index such as 0 or 1; got 1.0"),
        (True, "answers.q1: expected a choice index such as 0 or 1; got true"),
        ([1], "answers.q1: expected a choice index such as 0 or 1; got a list"),
        ({"index": 1}, "answers.q1: expected a choice index such as 0 or 1; got an object"),
        ("9" * 50, "answers.q1: expected a choice index such as 0 or 1; got"),
    ],
)
def test_single_malformed(quiz: Exercise, answer: Any, message: str) -> None:
    assert malformed(quiz, {"q1": answer}).startswith(message)


# --- grading: multiple -------------------------------------------------------------------


@pytest.mark.parametrize("answer", [[0, 2], [2, 0], ["2", "0"], (0, " 2 ")])
def test_multiple_right_in_any_order(quiz: Exercise, answer: Any) -> None:
    assert result(quiz, {"q2": answer}, "q2") == (True, True)


@pytest.mark.parametrize("answer", [[0], [0, 1, 2], [1], 0, "2"])
def test_multiple_wrong_subset_superset_or_single(quiz: Exercise, answer: Any) -> None:
    assert result(quiz, {"q2": answer}, "q2") == (True, False)


def test_multiple_accepts_one_index_without_a_list() -> None:
    exercise = parse(multiple(answer=[1]))
    assert result(exercise, {"q2": "1"}, "q2") == (True, True)


@pytest.mark.parametrize("answers", [{}, {"q2": None}, {"q2": []}, {"q2": ""}])
def test_multiple_missing(quiz: Exercise, answers: dict[str, Any]) -> None:
    assert result(quiz, answers, "q2") == (False, False)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([0, 0], "answers.q2: choice 0 is listed twice"),
        (["0", 0], "answers.q2: choice 0 is listed twice"),
        ([0, 3], "answers.q2: expected a choice index between 0 and 2; got 3"),
        ([0, None], "answers.q2: expected a choice index such as 0 or 1; got null"),
        ([0, [2]], "answers.q2: expected a choice index such as 0 or 1; got a list"),
        ([0, 1, 2, 0], "answers.q2: expected at most 3 choices; got 4"),
        (list(range(10**6)), "answers.q2: expected at most 3 choices; got 1000000"),
        ({"0": True}, "answers.q2: expected a choice index such as 0 or 1; got an object"),
        ([True, 2], "answers.q2: expected a choice index such as 0 or 1; got true"),
    ],
)
def test_multiple_malformed(quiz: Exercise, answer: Any, message: str) -> None:
    assert malformed(quiz, {"q2": answer}) == message


# --- grading: numeric --------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        0.5,
        "0.5",
        "0,5",
        " 0,5 ",
        "1/2",
        " 1 / 2 ",
        "2/4",
        "2,5/5",
        ".5",
        ",5",
        "+0.5",
        "5e-1",
        "0,5E0",
        "0.51",
        "0.49",
        0.51,
        "\u0661/\u0662",
        "\u0660\u066b\u0665",
    ],
)
def test_numeric_right(quiz: Exercise, answer: Any) -> None:
    assert result(quiz, {"q3": answer}, "q3") == (True, True)


@pytest.mark.parametrize("answer", [0, 1, "0.511", "0.489", "1/3", "-0.5", "5", "1e-9999"])
def test_numeric_wrong(quiz: Exercise, answer: Any) -> None:
    assert result(quiz, {"q3": answer}, "q3") == (True, False)


def test_numeric_tolerance_is_exact_in_decimal() -> None:
    # In floats 0.51 - 0.5 is 0.010000000000000009, just outside a 0.01 tolerance.
    exercise = parse(numeric(answer=0.5, tolerance=0.01))
    assert result(exercise, {"q3": "0.51"}, "q3") == (True, True)
    assert result(exercise, {"q3": "0.5100001"}, "q3") == (True, False)


def test_numeric_without_tolerance_needs_the_exact_value() -> None:
    exercise = parse(numeric(answer=3, tolerance=0))
    assert result(exercise, {"q3": "3,0"}, "q3") == (True, True)
    assert result(exercise, {"q3": "6/2"}, "q3") == (True, True)
    assert result(exercise, {"q3": 3.0000001}, "q3") == (True, False)


@pytest.mark.parametrize(
    ("answer", "given"),
    [
        (-1.5, "\u22121,5"),  # a typographic minus sign
        (-1.5, "-1 1/2"),
        (1.5, "1 1/2"),
        (1000, "1 000"),
        (1000, "1\u00a0000"),
        (1234567.5, "1\u202f234\u202f567,5"),
        (1500, "1.5e3"),
        (0.25, "1\u20444"),  # a fraction slash
    ],
)
def test_numeric_spellings(answer: float, given: str) -> None:
    exercise = parse(numeric(answer=answer, tolerance=0))
    assert result(exercise, {"q3": given}, "q3") == (True, True)


def test_a_comma_is_always_a_decimal_separator() -> None:
    exercise = parse(numeric(answer=1, tolerance=0))
    assert result(exercise, {"q3": "1,000"}, "q3") == (True, True)


@pytest.mark.parametrize("answers", [{}, {"q3": None}, {"q3": ""}, {"q3": " \t"}])
def test_numeric_missing(quiz: Exercise, answers: dict[str, Any]) -> None:
    assert result(quiz, answers, "q3") == (False, False)


_NOT_A_NUMBER = "answers.q3: expected a number such as 12, -3, 0.5, 0,5 or 1/2; got "
_OUT_OF_RANGE = "answers.q3: expected a number between -1e308 and 1e308; got "


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (True, _NOT_A_NUMBER + "true"),
        (False, _NOT_A_NUMBER + "false"),
        ("abc", _NOT_A_NUMBER + '"abc"'),
        ("1,000.5", _NOT_A_NUMBER + '"1,000.5"'),
        ("1.2.3", _NOT_A_NUMBER + '"1.2.3"'),
        ("0.5 cm", _NOT_A_NUMBER + '"0.5 cm"'),
        ("1 2", _NOT_A_NUMBER + '"1 2"'),
        ("nan", _NOT_A_NUMBER + '"nan"'),
        ("NaN", _NOT_A_NUMBER + '"NaN"'),
        ("Infinity", _NOT_A_NUMBER + '"Infinity"'),
        ("inf", _NOT_A_NUMBER + '"inf"'),
        ("0x10", _NOT_A_NUMBER + '"0x10"'),
        ("1_000", _NOT_A_NUMBER + '"1_000"'),
        ("1e99999", _NOT_A_NUMBER + '"1e99999"'),
        ([0.5], _NOT_A_NUMBER + "a list"),
        ({"value": 0.5}, _NOT_A_NUMBER + "an object"),
        (float("nan"), "answers.q3: expected a finite number; got NaN"),
        (float("inf"), "answers.q3: expected a finite number; got Infinity"),
        (float("-inf"), "answers.q3: expected a finite number; got -Infinity"),
        ("1e999", _OUT_OF_RANGE + '"1e999"'),
        ("-1e9999", _OUT_OF_RANGE + '"-1e9999"'),
        (10**400, _OUT_OF_RANGE + "a number with too many digits"),
        ("1" * 400, _OUT_OF_RANGE),
        ("1/0", 'answers.q3: expected a fraction whose bottom number is not 0; got "1/0"'),
        ("1 1/0", 'answers.q3: expected a fraction whose bottom number is not 0; got "1 1/0"'),
    ],
)
def test_numeric_malformed(quiz: Exercise, answer: Any, message: str) -> None:
    assert malformed(quiz, {"q3": answer}).startswith(message)


def test_a_huge_number_never_matches_a_huge_answer() -> None:
    exercise = parse(numeric(answer=1e308, tolerance=1e308))
    assert malformed(exercise, {"q3": "1e999"}).startswith(_OUT_OF_RANGE)
    assert malformed(exercise, {"q3": 1e999}).startswith("answers.q3: expected a finite number")


def test_a_long_numeric_string_is_graded_quickly(quiz: Exercise) -> None:
    assert result(quiz, {"q3": "0.5" + "0" * 997}, "q3") == (True, True)
    assert result(quiz, {"q3": "0." + "5" * 998}, "q3") == (True, False)
    assert result(quiz, {"q3": "1" * 300 + "/" + "3" * 300}, "q3") == (True, False)
    assert result(quiz, {"q3": "1" * 300 + "/" + "2" * 300}, "q3") == (True, True)


# --- grading: text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer", ["eau", "EAU", "  Eau ", "l'eau", "L\u2019EAU", "l\u02bceau", "\uff45\uff41\uff55"]
)
def test_text_right(quiz: Exercise, answer: str) -> None:
    assert result(quiz, {"q4": answer}, "q4") == (True, True)


@pytest.mark.parametrize(
    ("accepted", "given"),
    [
        ("Équation", "equation"),
        ("equation", "ÉQUATION"),
        ("Straße", "STRASSE"),
        ("São Paulo", "sao   paulo"),
        ("Dar es Salaam", " dar\tes\nsalaam "),
        ("maji safi", "Maji\u00a0Safi"),
        ("naïve café", "naive cafe"),
        ("İstanbul", "istanbul"),
        ("Ⅻ", "xii"),
        ("Hà Nội", "ha noi"),
        ("مَاء", "ماء"),
    ],
)
def test_text_ignores_case_accents_and_spacing(accepted: str, given: str) -> None:
    exercise = parse(text(answer=accepted))
    assert result(exercise, {"q4": given}, "q4") == (True, True)


@pytest.mark.parametrize("answer", ["feu", "eaux", "l eau", "e a u", "\u0301"])
def test_text_wrong(quiz: Exercise, answer: str) -> None:
    assert result(quiz, {"q4": answer}, "q4") == (True, False)


@pytest.mark.parametrize("answers", [{}, {"q4": None}, {"q4": ""}, {"q4": "   "}, {"q4": []}])
def test_text_missing(quiz: Exercise, answers: dict[str, Any]) -> None:
    assert result(quiz, answers, "q4") == (False, False)


@pytest.mark.parametrize(
    ("answer", "got"), [(42, "42"), (True, "true"), (["eau"], "a list"), ({"a": 1}, "an object")]
)
def test_text_malformed(quiz: Exercise, answer: Any, got: str) -> None:
    assert malformed(quiz, {"q4": answer}) == f"answers.q4: expected text; got {got}"


def test_text_at_the_length_cap_is_graded(quiz: Exercise) -> None:
    assert result(quiz, {"q4": "e" * MAX_ANSWER_CHARS}, "q4") == (True, False)


@pytest.mark.parametrize("qid", ["q1", "q2", "q3", "q4"])
@pytest.mark.parametrize("padding", ["x", " "])
def test_over_long_answer_strings_are_refused(quiz: Exercise, qid: str, padding: str) -> None:
    long = padding * (MAX_ANSWER_CHARS + 1)
    answer = [long] if qid == "q2" else long
    message = malformed(quiz, {qid: answer})
    assert message == f"answers.{qid}: expected at most 1000 characters; got 1001 characters"


# --- grading: the whole attempt ----------------------------------------------------------


def test_a_full_attempt(quiz: Exercise) -> None:
    graded = grade(quiz, {"q1": "1", "q2": ["0", "2"], "q3": "0,5", "q4": "Eau"})
    assert isinstance(graded, Grade)
    assert (graded.n_correct, graded.n_questions, graded.score) == (4, 4, 1.0)
    assert graded.correct == {"q1": True, "q2": True, "q3": True, "q4": True}
    assert [r.question_id for r in graded.results] == ["q1", "q2", "q3", "q4"]


def test_a_partial_attempt(quiz: Exercise) -> None:
    graded = grade(quiz, {"q1": 0, "q3": 0.5})
    assert (graded.n_correct, graded.score) == (1, 0.25)
    assert graded.correct == {"q1": False, "q2": False, "q3": True, "q4": False}
    assert [r.answered for r in graded.results] == [True, False, True, False]


def test_no_answers_at_all(quiz: Exercise) -> None:
    graded = grade(quiz, {})
    assert (graded.n_correct, graded.score) == (0, 0.0)
    assert not any(r.answered for r in graded.results)


def test_results_carry_the_expected_answer_and_explanation(quiz: Exercise) -> None:
    results = {r.question_id: r for r in grade(quiz, {}).results}
    assert results["q1"].expected == "1/2"
    assert results["q1"].explanation == "Two equal parts."
    assert results["q2"].expected == "2/4; 3/6"
    assert results["q3"].expected == "0.5"
    assert results["q4"].expected == "eau"
    assert results["q4"].explanation == ""


@pytest.mark.parametrize(
    ("answer", "shown"),
    [(3, "3"), (3.0, "3"), (-0.25, "-0.25"), (1e20, "1e+20"), (2.5e-7, "2.5e-07")],
)
def test_expected_numbers_read_naturally(answer: float, shown: str) -> None:
    exercise = parse(numeric(answer=answer))
    assert grade(exercise, {}).results[0].expected == shown


def test_expected_lists_multiple_choices_in_choice_order() -> None:
    exercise = parse(multiple(answer=[2, 0]))
    assert grade(exercise, {}).results[0].expected == "2/4; 3/6"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"q9": 1}, 'answers: "q9" is not a question of this exercise'),
        ({"q1": 1, "csrf_token": "x"}, 'answers: "csrf_token" is not a question of this exercise'),
        ({1: 1}, "answers: 1 is not a question of this exercise"),
        ({("q1",): 1}, "answers: a list is not a question of this exercise"),
        ([["q1", 1]], "answers: expected an object of question ids and answers; got a list"),
        ("q1=1", 'answers: expected an object of question ids and answers; got "q1=1"'),
        (None, "answers: expected an object of question ids and answers; got null"),
        ({"x" * 5000: 1}, 'answers: "xxxxxxxx'),
    ],
)
def test_bad_answer_objects_are_refused(quiz: Exercise, answers: Any, message: str) -> None:
    text_of_error = malformed(quiz, answers)
    assert text_of_error.startswith(message)
    assert len(text_of_error) < 200


def test_an_answer_error_is_a_value_error() -> None:
    assert issubclass(AnswerError, ValueError)


def test_an_odd_value_type_is_described_plainly(quiz: Exercise) -> None:
    assert malformed(quiz, {"q3": object()}).endswith("got a value that is not JSON")
    assert malformed(quiz, {"q1": {1, 2}}).endswith("got a value that is not JSON")


def test_grading_uses_the_form_strings_a_browser_sends(quiz: Exercise) -> None:
    form = {"q1": "1", "q2": ["0", "2"], "q3": "1/2", "q4": "L'Eau"}
    assert grade(quiz, form).score == 1.0


# --- mastery -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "reached"),
    [
        ([], False),
        ([True, True], False),
        ([True, True, True], True),
        ([True, True, False, True], True),
        ([False, True, True, False], False),
        ([True, True, True, False, False], False),  # only the last 4 count
        ([False, False, False, True, True, True], True),
        ([False, True, False, True, True, True], True),
    ],
)
def test_mastery_counts_the_last_answers(history: list[bool], reached: bool) -> None:
    exercise = parse(single(), mastery={"correct": 3, "of": 4})
    assert mastery_reached(history, exercise) is reached


def test_mastery_accepts_any_sequence() -> None:
    exercise = parse(single(), mastery={"correct": 1, "of": 1})
    assert mastery_reached((False, True), exercise)
    assert not mastery_reached((True, False), exercise)


def test_mastery_of_more_answers_than_one_attempt_has() -> None:
    exercise = parse(single(), numeric(), mastery={"correct": 5, "of": 6})
    attempt = grade(exercise, {"q1": 1, "q3": "0,5"})
    history = [attempt.correct[q.id] for q in exercise.questions]
    assert not mastery_reached(history, exercise)
    assert not mastery_reached(history * 2, exercise)
    assert mastery_reached(history * 3, exercise)


# --- the sample packs --------------------------------------------------------------------


def _sample_exercises() -> list[Path]:
    found = []
    for manifest in sorted(SAMPLES.glob("*/pack.json")):
        lessons = json.loads(manifest.read_text("utf-8")).get("lessons", [])
        found += [manifest.parent / x["file"] for x in lessons if x.get("kind") == "exercise"]
    return found


@pytest.mark.parametrize("path", _sample_exercises(), ids=lambda p: str(p.relative_to(SAMPLES)))
def test_every_sample_exercise_parses(path: Path) -> None:
    exercise = parse_exercise(path.read_bytes(), str(path.relative_to(SAMPLES)))
    assert exercise.questions
    for question in exercise.questions:
        assert grade(exercise, {question.id: None}).n_correct == 0
