"""Exercise files (lessons of kind `exercise`): parsing, grading and mastery.

The structure is checked against content/exercise_schema.json (the machine-readable spec):
first the whole file, then each question against the definition for its type. This module
adds what a schema cannot say: indices in range, unique ids, mastery.correct <= mastery.of,
pick <= the number of questions, finite numbers, and the size limits. Grading is pure:
answers in, a Grade out, no I/O.
See docs/exercise-format.md for the rules as authors read them.
"""

from __future__ import annotations

import codecs
import json
import math
import random
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from functools import cache
from importlib import resources
from typing import Any

from content.errors import PackError
from content.schema import SchemaValidator, describe, format_path

TYPES = ("single", "multiple", "numeric", "text")
MAX_QUESTIONS = 1000
MAX_CHOICES = 100
MAX_ACCEPTED = 100  # accepted strings of one text question
MAX_MASTERY = 1000  # mastery.correct and mastery.of
MAX_ANSWER_CHARS = 1000  # one submitted string; longer is refused, not graded
MAX_DEPTH = 32  # JSON nesting of an exercise file; real ones need 4
MAX_MAGNITUDE = 308  # decimal exponent: beyond it a number is not finite as a float

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Question:
    """One question. `answer` is an int (single), a tuple of ints (multiple), an int or
    float (numeric) or a tuple of accepted strings (text), as the author wrote them."""

    id: str
    type: str
    prompt: str
    choices: tuple[str, ...] = ()
    answer: Any = None
    tolerance: float = 0.0
    hint: str = ""
    explanation: str = ""


@dataclass(frozen=True)
class Exercise:
    mastery_correct: int
    mastery_of: int
    questions: tuple[Question, ...]
    pick: int = 0  # questions one attempt asks; 0 (or the number of questions): all of them
    _by_id: dict[str, Question] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {q.id: q for q in self.questions})

    def question(self, qid: str) -> Question | None:
        return self._by_id.get(qid)

    @property
    def per_attempt(self) -> int:
        """How many questions one attempt asks."""
        return self.pick or len(self.questions)


class AnswerError(ValueError):
    """A malformed answer; str() is one sentence (the API answers 400)."""


@dataclass(frozen=True)
class QuestionResult:
    question_id: str
    correct: bool
    answered: bool
    explanation: str
    expected: str  # the right answer, for people


@dataclass(frozen=True)
class Grade:
    results: tuple[QuestionResult, ...]
    n_correct: int
    n_questions: int
    score: float  # n_correct / n_questions, 0..1
    correct: dict[str, bool] = field(hash=False)


# --- parsing ------------------------------------------------------------------------------


def parse_exercise(data: bytes, origin: str) -> Exercise:
    """The exercise in `data`; `origin` (its path inside the pack) starts every error."""
    raw = _load_json(data, origin)
    _refuse_issue(_validator(None), raw, (), origin)
    _check_count(raw["questions"], MAX_QUESTIONS, "questions", ("questions",), origin)
    questions = tuple(
        _build_question(item, ("questions", at), origin) for at, item in enumerate(raw["questions"])
    )
    _check_unique_ids(questions, origin)
    pick = _pick(raw, len(questions), origin)
    correct, of = _mastery(raw, pick, origin)
    return Exercise(mastery_correct=correct, mastery_of=of, questions=questions, pick=pick)


def _load_json(data: bytes, origin: str) -> Any:
    text = _decode(bytes(data), origin)
    try:
        value = json.loads(text, object_pairs_hook=_object_without_repeats, parse_constant=_refuse)
    except json.JSONDecodeError as err:
        problem = err.msg[:1].lower() + err.msg[1:]
        where = f"line {err.lineno}, column {err.colno}"
        raise PackError(f"{origin}: {where}: not valid JSON ({problem})") from None
    except _RepeatedKey as err:
        message = f"the field {describe(err.key)} appears twice in one object"
        raise PackError(f"{origin}: {message}") from None
    except _NonStandardNumber as err:
        where = _constant_position(text)
        raise PackError(f"{origin}: {where}: {err.name} is not a JSON number") from None
    except RecursionError:
        raise PackError(f"{origin}: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise PackError(f"{origin}: not valid JSON (a number has too many digits)") from None
    if _depth(value) > MAX_DEPTH:
        raise PackError(f"{origin}: nested more than {MAX_DEPTH} levels deep")
    return value


def _decode(data: bytes, origin: str) -> str:
    # Windows editors often save a byte-order mark; it is harmless, so it is skipped.
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        line_start = body.rfind(b"\n", 0, err.start) + 1
        line = body.count(b"\n", 0, err.start) + 1
        column = len(body[line_start : err.start].decode("utf-8", "replace")) + 1
        bad = f"0x{body[err.start]:02x}"
        raise PackError(
            f"{origin}: line {line}, column {column}: not UTF-8 text (byte {bad}); "
            "save the file as UTF-8"
        ) from None


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class _NonStandardNumber(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys silently; an author meant one of them.
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _RepeatedKey(_first_repeat(k for k, _ in pairs))
    return value


def _first_repeat(keys: Iterable[str]) -> str:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    raise ValueError("no key repeats")


def _refuse(name: str) -> Any:
    raise _NonStandardNumber(name)


_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)', re.DOTALL)


def _constant_position(text: str) -> str:
    """Where the first NaN or Infinity outside a string is (json does not say)."""
    found = next((m for m in _CONSTANT.finditer(text) if m[1]), None)
    at = found.start(1) if found else 0
    return f"line {text.count(chr(10), 0, at) + 1}, column {at - text.rfind(chr(10), 0, at)}"


def _depth(value: Any) -> int:
    """How deeply lists and objects nest (counted without recursion)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                todo.extend((child, level + 1) for child in children)
    return deepest


@cache
def exercise_schema() -> dict[str, Any]:
    """content/exercise_schema.json, parsed."""
    text = resources.files("content").joinpath("exercise_schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator(definition: str | None) -> SchemaValidator:
    """The whole-file validator, or one for a definition such as a question type."""
    schema = exercise_schema()
    if definition is None:
        return SchemaValidator(schema)
    return SchemaValidator({"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})


def _refuse_issue(validator: SchemaValidator, value: Any, where: Path, origin: str) -> None:
    issue = validator.first_issue(value)
    if issue is not None:
        raise _refusal(origin, (*where, *issue.path), issue.message)


def _refusal(origin: str, where: Path, message: str) -> PackError:
    return PackError(
        f"{origin}: {format_path(where)}: {message}" if where else f"{origin}: {message}"
    )


def _check_count(items: list[Any], limit: int, noun: str, where: Path, origin: str) -> None:
    if len(items) > limit:
        raise _refusal(origin, where, f"expected at most {limit} {noun}; got {len(items)}")


def _build_question(raw: dict[str, Any], where: Path, origin: str) -> Question:
    kind = raw["type"]
    _refuse_issue(_validator(kind), raw, where, origin)
    choices = tuple(raw.get("choices", ()))
    _check_count(list(choices), MAX_CHOICES, "choices", (*where, "choices"), origin)
    answer = _ANSWER_CHECKS[kind](raw["answer"], choices, (*where, "answer"), origin)
    tolerance = _finite(raw.get("tolerance", 0), (*where, "tolerance"), origin)
    return Question(
        id=raw["id"],
        type=kind,
        prompt=raw["prompt"],
        choices=choices,
        answer=answer,
        tolerance=float(tolerance),
        hint=raw.get("hint", ""),
        explanation=raw.get("explanation", ""),
    )


def _index_answer(value: Any, choices: tuple[str, ...], where: Path, origin: str) -> int:
    # The schema's "integer" also admits 1.0 (JSON Schema semantics); it is the index 1.
    index = int(value)
    if index >= len(choices):
        wanted = f"expected an index between 0 and {len(choices) - 1}"
        raise _refusal(origin, where, f"{wanted}; got {describe(value)}")
    return index


def _indices_answer(value: Any, choices: tuple[str, ...], where: Path, origin: str) -> tuple:
    return tuple(
        _index_answer(item, choices, (*where, at), origin) for at, item in enumerate(value)
    )


def _number_answer(value: Any, choices: tuple[str, ...], where: Path, origin: str) -> int | float:
    return _finite(value, where, origin)


def _text_answer(value: Any, choices: tuple[str, ...], where: Path, origin: str) -> tuple:
    accepted = [value] if isinstance(value, str) else value
    _check_count(accepted, MAX_ACCEPTED, "accepted answers", where, origin)
    for at, text in enumerate(accepted):
        if not _fold(text):
            place = where if isinstance(value, str) else (*where, at)
            message = f"expected an accepted answer that is not blank; got {describe(text)}"
            raise _refusal(origin, place, message)
    return tuple(accepted)


_ANSWER_CHECKS = {
    "single": _index_answer,
    "multiple": _indices_answer,
    "numeric": _number_answer,
    "text": _text_answer,
}


def _finite(value: int | float, where: Path, origin: str) -> int | float:
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        wanted = f"expected a number between -1e{MAX_MAGNITUDE} and 1e{MAX_MAGNITUDE}"
        raise _refusal(origin, where, f"{wanted}; got {describe(value)}")
    return value


def _check_unique_ids(questions: tuple[Question, ...], origin: str) -> None:
    first: dict[str, int] = {}
    for at, question in enumerate(questions):
        if question.id in first:
            earlier = f"questions[{first[question.id]}]"
            message = f"{describe(question.id)} is already the id of {earlier}"
            raise _refusal(origin, ("questions", at, "id"), message)
        first[question.id] = at


def _pick(raw: dict[str, Any], n_questions: int, origin: str) -> int:
    pick = int(raw.get("pick", n_questions))
    if pick > n_questions:
        wanted = f"expected at most the number of questions ({n_questions})"
        raise _refusal(origin, ("pick",), f"{wanted}; got {describe(raw['pick'])}")
    return pick


def _mastery(raw: dict[str, Any], per_attempt: int, origin: str) -> tuple[int, int]:
    if "mastery" not in raw:  # every question right, counted over the last attempt's worth
        return per_attempt, per_attempt
    correct, of = int(raw["mastery"]["correct"]), int(raw["mastery"]["of"])
    for name, count in (("correct", correct), ("of", of)):
        if count > MAX_MASTERY:
            wanted = f"expected a whole number from 1 to {MAX_MASTERY}"
            got = describe(raw["mastery"][name])
            raise _refusal(origin, ("mastery", name), f"{wanted}; got {got}")
    if correct > of:
        wanted = f"expected at most mastery.of ({of})"
        raise _refusal(origin, ("mastery", "correct"), f"{wanted}; got {correct}")
    return correct, of


# --- grading ------------------------------------------------------------------------------


def grade(exercise: Exercise, answers: Mapping[str, Any]) -> Grade:
    """Grade one attempt. `answers` maps question ids to JSON values or HTML-form strings;
    a question left out (or None, "", []) is unanswered and wrong; a malformed answer or an
    unknown question id raises AnswerError."""
    if not isinstance(answers, Mapping):
        wanted = "expected an object of question ids and answers"
        raise AnswerError(f"answers: {wanted}; got {_describe(answers)}")
    for key in answers:
        if not isinstance(key, str) or exercise.question(key) is None:
            raise AnswerError(f"answers: {_describe(key)} is not a question of this exercise")
    results = tuple(grade_question(q, answers.get(q.id)) for q in exercise.questions)
    correct = {result.question_id: result.correct for result in results}
    n_correct = sum(correct.values())
    score = n_correct / len(results) if results else 0.0
    return Grade(results, n_correct, len(results), score, correct)


def mastery_reached(recent_correct: Sequence[bool], exercise: Exercise) -> bool:
    """True when at least mastery_correct of the last mastery_of answers (oldest first, one
    boolean per question answered, across attempts) are right."""
    window = list(recent_correct)[-exercise.mastery_of :]
    return sum(1 for right in window if right) >= exercise.mastery_correct


def draw(exercise: Exercise, seed: int) -> tuple[str, ...]:
    """The ids of the questions one attempt asks, in the order it asks them: all of them as
    written, or, when the exercise picks fewer, `pick` of them in an order drawn from `seed`.
    Only Random.random() is used (a partial Fisher-Yates shuffle): its sequence for a seed is
    the one part of `random` Python promises to keep across versions."""
    ids = [question.id for question in exercise.questions]
    if exercise.per_attempt >= len(ids):
        return tuple(ids)
    rng = random.Random(seed)
    for at in range(exercise.per_attempt):
        other = at + int(rng.random() * (len(ids) - at))
        ids[at], ids[other] = ids[other], ids[at]
    return tuple(ids[: exercise.per_attempt])


def grade_question(question: Question, value: Any) -> QuestionResult:
    """Grade one answer (None, "" or [] is unanswered); raises AnswerError when malformed."""
    answered = _present(question, value)
    correct = answered and _GRADERS[question.type](question, value)
    return QuestionResult(
        question_id=question.id,
        correct=correct,
        answered=answered,
        explanation=question.explanation,
        expected=expected_text(question),
    )


def expected_text(question: Question) -> str:
    """The right answer as a person reads it."""
    if question.type == "single":
        return question.choices[question.answer]
    if question.type == "multiple":
        return "; ".join(question.choices[at] for at in sorted(question.answer))
    if question.type == "numeric":
        return _format_number(question.answer)
    return question.answer[0]


def _present(question: Question, value: Any) -> bool:
    """False for what a form sends when nothing was given; refuses over-long strings."""
    if isinstance(value, str):
        _check_length(question, value)
        return bool(value.strip())
    if isinstance(value, list | tuple):
        return bool(value)
    return value is not None


def _check_length(question: Question, text: str) -> None:
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerError(
            f"{_where(question)}: expected at most {MAX_ANSWER_CHARS} characters; "
            f"got {len(text)} characters"
        )


def _malformed(question: Question, wanted: str, value: Any) -> AnswerError:
    return AnswerError(f"{_where(question)}: expected {wanted}; got {_describe(value)}")


def _where(question: Question) -> str:
    return format_path(("answers", question.id))


def _describe(value: Any) -> str:
    """describe() for anything a caller may pass, not only parsed JSON."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return "a number with too many digits"
    if isinstance(value, str | int | float | bool) or value is None:
        return describe(value)
    return "a value that is not JSON"


def _grade_single(question: Question, value: Any) -> bool:
    return _choice_index(question, value) == question.answer


def _grade_multiple(question: Question, value: Any) -> bool:
    items = list(value) if isinstance(value, list | tuple) else [value]
    if len(items) > len(question.choices):
        wanted = f"at most {len(question.choices)} choices"
        raise AnswerError(f"{_where(question)}: expected {wanted}; got {len(items)}")
    indices = [_choice_index(question, item) for item in items]
    for at, index in enumerate(indices):
        if index in indices[:at]:
            raise AnswerError(f"{_where(question)}: choice {index} is listed twice")
    return set(indices) == set(question.answer)


_INDEX = re.compile(r"\d{1,6}")


def _choice_index(question: Question, value: Any) -> int:
    if isinstance(value, str):
        _check_length(question, value)
        if not _INDEX.fullmatch(value.strip()):
            raise _malformed(question, "a choice index such as 0 or 1", value)
        index = int(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):
        index = value
    else:
        raise _malformed(question, "a choice index such as 0 or 1", value)
    if not 0 <= index < len(question.choices):
        wanted = f"a choice index between 0 and {len(question.choices) - 1}"
        raise _malformed(question, wanted, value)
    return index


def _grade_numeric(question: Question, value: Any) -> bool:
    given = _number(question, value)
    context = _context()
    distance = context.abs(context.subtract(given, _exact(question.answer)))
    return distance <= _exact(question.tolerance)


def _context() -> Context:
    # Decimal, not float: 0.51 is within 0.01 of 0.5, as a teacher expects (in floats the
    # distance is 0.010000000000000009). Sixty digits are far more than any answer needs.
    return Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])


def _exact(number: int | float) -> Decimal:
    # repr() is the shortest text that reads back as the same float: what the author wrote.
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


_NUMBER_WANTED = "a number such as 12, -3, 0.5, 0,5 or 1/2"


def _number(question: Question, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _malformed(question, _NUMBER_WANTED, value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _malformed(question, "a finite number", value)
    number = _number_from_text(question, value) if isinstance(value, str) else _exact(value)
    if number and number.adjusted() > MAX_MAGNITUDE:
        wanted = f"a number between -1e{MAX_MAGNITUDE} and 1e{MAX_MAGNITUDE}"
        raise _malformed(question, wanted, value)
    return number


# What phones and other keyboards type for the same thing: minus signs, the Arabic decimal
# separator, fraction slashes, and the no-break spaces French puts between thousands.
_NUMBER_SPELLINGS = str.maketrans(
    {
        "\u2212": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u066b": ".",
        "\u2044": "/",
        "\u2215": "/",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)
_DECIMAL = r"(?:\d{1,3}(?: \d{3})+|\d+)(?:[.,]\d*)?|[.,]\d+"
_PLAIN = r"\d+(?:[.,]\d+)?"
_NUMBER_TEXT = re.compile(
    rf"(?P<sign>[+-]?) ?(?:"
    rf"(?P<whole>\d+) (?P<num>\d+) ?/ ?(?P<den>\d+)"  # a mixed number: 1 1/2
    rf"|(?P<fnum>{_PLAIN}) ?/ ?(?P<fden>{_PLAIN})"  # a fraction: 1/2, 2,5/10
    rf"|(?P<dec>{_DECIMAL})(?P<exp>[eE][+-]?\d{{1,4}})?"  # 0.5, 0,5, 1 000, 1.5e3
    rf")"
)


def _number_from_text(question: Question, text: str) -> Decimal:
    tidy = " ".join(text.translate(_NUMBER_SPELLINGS).split())
    match = _NUMBER_TEXT.fullmatch(tidy)
    if not match:
        raise _malformed(question, _NUMBER_WANTED, text)
    context = _context()
    if match["dec"]:
        number = _decimal(match["dec"] + (match["exp"] or ""))
    else:
        whole = _decimal(match["whole"] or "0")
        numerator, denominator = (
            _decimal(match[n]) for n in ("num", "den", "fnum", "fden") if match[n]
        )
        if not denominator:
            raise _malformed(question, "a fraction whose bottom number is not 0", text)
        number = context.add(whole, context.divide(numerator, denominator))
    return context.minus(number) if match["sign"] == "-" else number


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(" ", "").replace(",", "."))


def _format_number(number: int | float) -> str:
    if isinstance(number, float) and number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number) if isinstance(number, float) else str(number)


def _grade_text(question: Question, value: Any) -> bool:
    if not isinstance(value, str):
        raise _malformed(question, "text", value)
    given = _fold(value)
    return any(given == _fold(accepted) for accepted in question.answer)


# Apostrophes, quotes and dashes that phone keyboards substitute ("smart punctuation").
_TEXT_SPELLINGS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)


def _fold(text: str) -> str:
    """Text as compared: compatibility-decomposed, case-folded, without nonspacing marks
    (accents), with typographic punctuation made plain and runs of spaces made one."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TEXT_SPELLINGS))
    folded = unicodedata.normalize("NFKD", decomposed.casefold())
    bare = "".join(char for char in folded if unicodedata.category(char) != "Mn")
    return " ".join(bare.split())


_GRADERS = {
    "single": _grade_single,
    "multiple": _grade_multiple,
    "numeric": _grade_numeric,
    "text": _grade_text,
}
