"""The quiz editor's form, both ways: the fields a teacher fills in (plain text, so it works
on a phone without JavaScript) to an exercise file (docs/exercise-format.md), and an exercise
file back to those fields. Choices are one per line, the right ones starting with `*`;
accepted text answers are one per line. The exercise is checked by content.exercise, the
same rules as an import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from content.errors import PackError
from content.exercise import TYPES, Exercise, Question, parse_exercise
from hub.core.translate import gettext
from hub.learning.quiz_attempts import QuizAttempt, QuizPage, Step

MAX_EDITOR_QUESTIONS = 200  # the form grows one question per press; a file may hold 1000
RIGHT_MARK = "*"


@dataclass
class QuestionRow:
    """One question as the form shows it: every value a string."""

    id: str
    type: str
    prompt: str = ""
    choices: str = ""  # one per line, the right ones marked with *
    answer: str = ""  # numeric: the number; text: accepted answers, one per line
    tolerance: str = ""
    hint: str = ""
    explanation: str = ""


@dataclass
class QuizForm:
    title: str = ""
    pick: str = ""
    mastery_correct: str = ""
    mastery_of: str = ""
    questions: list[QuestionRow] = field(default_factory=list)

    def add(self, kind: str) -> None:
        if kind not in TYPES:
            kind = "single"
        if len(self.questions) >= MAX_EDITOR_QUESTIONS:
            raise QuizFormError(
                gettext("A quiz may have at most %(num)d questions.", num=MAX_EDITOR_QUESTIONS)
            )
        taken = {row.id for row in self.questions}
        number = len(self.questions) + 1
        while f"q{number}" in taken:
            number += 1
        self.questions.append(QuestionRow(id=f"q{number}", type=kind))


class QuizFormError(ValueError):
    """What is wrong with the quiz, in one sentence for its author."""


def from_fields(fields: Mapping[str, str]) -> QuizForm:
    """The form as posted: `count` questions named q0-..., q1-..., each with its fields."""
    count = _whole(fields.get("count", "0"), 0, MAX_EDITOR_QUESTIONS, "count") or 0
    rows = [_posted_row(fields, index) for index in range(count)]
    return QuizForm(
        fields.get("title", ""),
        fields.get("pick", ""),
        fields.get("mastery_correct", ""),
        fields.get("mastery_of", ""),
        rows,
    )


def _posted_row(fields: Mapping[str, str], index: int) -> QuestionRow:
    values = {name: fields.get(f"q{index}-{name}", "") for name in _ROW_FIELDS}
    kind = values.pop("type")
    qid = values.pop("id").strip()[:64] or f"q{index + 1}"
    return QuestionRow(qid, kind if kind in TYPES else "single", **values)


_ROW_FIELDS = ("id", "type", "prompt", "choices", "answer", "tolerance", "hint", "explanation")


def to_exercise(form: QuizForm) -> tuple[dict[str, Any], Exercise]:
    """The exercise file for the form, checked as an import checks it; QuizFormError."""
    if not form.questions:
        raise QuizFormError(gettext("Add a question first."))
    raw: dict[str, Any] = {
        "questions": [_question(row, n) for n, row in enumerate(form.questions, 1)]
    }
    pick = _whole(form.pick, 1, len(form.questions), gettext("How many questions to ask"))
    if pick:
        raw["pick"] = pick
    correct = _whole(form.mastery_correct, 1, 1000, gettext("Mastery"))
    of = _whole(form.mastery_of, 1, 1000, gettext("Mastery"))
    if correct or of:
        raw["mastery"] = {"correct": correct or of, "of": of or correct}
    data = json.dumps(raw, ensure_ascii=False).encode("utf-8")
    try:
        return raw, parse_exercise(data, "quiz")
    except PackError as err:
        raise QuizFormError(str(err)) from None


def _question(row: QuestionRow, number: int) -> dict[str, Any]:
    prompt = row.prompt.strip()
    if not prompt:
        raise QuizFormError(gettext("Question %(num)d has no question text.", num=number))
    raw: dict[str, Any] = {"id": row.id, "type": row.type, "prompt": prompt}
    if row.type in ("single", "multiple"):
        raw.update(_choices(row, number))
    elif row.type == "numeric":
        raw["answer"] = _number(row.answer, number)
        if row.tolerance.strip():
            raw["tolerance"] = abs(_number(row.tolerance, number))
    else:
        accepted = [line.strip() for line in row.answer.splitlines() if line.strip()]
        if not accepted:
            raise QuizFormError(gettext("Question %(num)d needs an accepted answer.", num=number))
        raw["answer"] = accepted
    for name in ("hint", "explanation"):
        if getattr(row, name).strip():
            raw[name] = getattr(row, name).strip()
    return raw


def _choices(row: QuestionRow, number: int) -> dict[str, Any]:
    lines = [line.strip() for line in row.choices.splitlines() if line.strip()]
    right = [n for n, line in enumerate(lines) if line.startswith(RIGHT_MARK)]
    choices = [line.removeprefix(RIGHT_MARK).strip() for line in lines]
    if len(choices) < 2:
        raise QuizFormError(gettext("Question %(num)d needs at least two choices.", num=number))
    if not right or (row.type == "single" and len(right) != 1):
        raise QuizFormError(
            gettext(
                "Question %(num)d: mark the right choice with * at the start of its line "
                "(one for pick one, one or more for pick all that apply).",
                num=number,
            )
        )
    return {"choices": choices, "answer": right[0] if row.type == "single" else right}


def _number(text: str, number: int) -> int | float:
    cleaned = text.strip().replace(",", ".").replace(" ", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise QuizFormError(
            gettext("Question %(num)d: the answer must be a number, such as 12 or 0.5.", num=number)
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise QuizFormError(gettext("Question %(num)d: the answer must be a number.", num=number))
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _whole(text: str, low: int, high: int, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise QuizFormError(
            gettext(
                "%(what)s must be a whole number from %(low)d to %(high)d.",
                what=what,
                low=low,
                high=high,
            )
        )
    return int(text)


def from_exercise(title: str, raw: Mapping[str, Any]) -> QuizForm:
    """The form for an exercise file already in the draft (to edit it)."""
    mastery = raw.get("mastery") or {}
    form = QuizForm(
        title,
        str(raw.get("pick", "")),
        str(mastery.get("correct", "")),
        str(mastery.get("of", "")),
    )
    for question in raw.get("questions", [])[:MAX_EDITOR_QUESTIONS]:
        form.questions.append(_row(question))
    return form


def _row(question: Mapping[str, Any]) -> QuestionRow:
    kind = question.get("type", "single")
    answer = question.get("answer")
    row = QuestionRow(
        str(question.get("id", "")),
        kind,
        str(question.get("prompt", "")),
        hint=str(question.get("hint", "")),
        explanation=str(question.get("explanation", "")),
    )
    if kind in ("single", "multiple"):
        right = {answer} if kind == "single" else set(answer or [])
        row.choices = "\n".join(
            (RIGHT_MARK + " " if n in right else "") + str(choice)
            for n, choice in enumerate(question.get("choices", []))
        )
    elif kind == "numeric":
        row.answer = str(answer)
        row.tolerance = str(question.get("tolerance", ""))
    else:
        row.answer = "\n".join([answer] if isinstance(answer, str) else list(answer or []))
    return row


def preview_pages(exercise: Exercise) -> list[tuple[QuizPage, QuizPage]]:
    """Each question as a learner sees it (lesson/exercise.html): asked, then answered right."""
    attempt = QuizAttempt(id=0)  # never saved: the preview's forms post nowhere
    total = len(exercise.questions)
    return [
        (
            QuizPage(total, attempt, Step(n, question)),
            QuizPage(total, attempt, Step(n, question, _right_given(question), True)),
        )
        for n, question in enumerate(exercise.questions, 1)
    ]


def _right_given(question: Question) -> Any:
    """The right answer as a learner's answer is kept (quiz_attempts._given)."""
    if question.type == "single":
        return question.answer
    if question.type == "multiple":
        return list(question.answer)
    if question.type == "numeric":
        return str(question.answer)
    return question.answer[0]
