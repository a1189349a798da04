"""Kolibri exercises (a `.perseus` zip per exercise) as hub exercises.

The zip holds `exercise.json` and one `<assessment item id>.json` per question: Perseus item
JSON (Khan/perseus), whose `question.content` is Markdown with `[[☃ radio 1]]` placeholders
for the widgets in `question.widgets`. A question becomes a hub question when its one widget
is `radio` (choices marked `correct`; `multipleSelect` for several), `numeric-input` (one
answer with `status: "correct"`, `maxError` its tolerance) or `input-number` (`value`, with
`maxError` when `inexact`), and its text holds no picture (prompts are plain text). An
exercise becomes a hub exercise only when every one of its questions does; otherwise it is
skipped, and the reason names the first question that could not be converted.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from typing import Any, BinaryIO

from content.exercise import MAX_CHOICES, MAX_MASTERY, MAX_QUESTIONS

MAX_ITEM_BYTES = 1024**2
MAX_ENTRIES = 2 * MAX_QUESTIONS + 100  # items, exercise.json, and the pictures they use
MAX_PROMPT_CHARS = 20_000
MAX_CHOICE_CHARS = 1000
_WIDGET = re.compile(r"\[\[\u2603 ([a-z0-9-]+ \d+)\]\]")
_PICTURE = re.compile(r"!\[[^\]]*\]\(|\$\{\u2623 LOCALPATH\}|web\+graphie:")
_IN_A_ROW = re.compile(r"num_correct_in_a_row_(\d+)")
NUMERIC_WIDGETS = ("numeric-input", "input-number")


class Unsupported(Exception):
    """Why an exercise is not converted: a phrase."""


def convert(stream: BinaryIO, item_ids: list[str], mastery: str, randomize: bool) -> dict:
    """The hub exercise (exercise-format JSON as a dict) for a .perseus zip; Unsupported
    saying why not."""
    try:
        with zipfile.ZipFile(stream) as archive:
            items = _items(archive, item_ids)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise Unsupported("its .perseus file is not a readable zip") from None
    questions = [_question(item, index) for index, item in enumerate(items)]
    return assemble(questions, mastery, randomize)


def assemble(questions: list[dict[str, Any]], mastery: str, randomize: bool) -> dict[str, Any]:
    """The hub exercise for converted questions with Kolibri's assessment settings."""
    exercise: dict[str, Any] = {"questions": questions}
    if randomize and len(questions) > 1:
        exercise["pick"] = len(questions)  # every question, in a fresh order each attempt
    goal = _mastery(mastery, len(questions))
    if goal:
        exercise["mastery"] = {"correct": goal[0], "of": goal[1]}
    return exercise


def _items(archive: zipfile.ZipFile, item_ids: list[str]) -> list[tuple[str, Any]]:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise Unsupported(f"its .perseus file holds more than {MAX_ENTRIES} files")
    by_name = {info.filename: info for info in infos}
    if not item_ids:
        raise Unsupported("it has no questions")
    if len(item_ids) > MAX_QUESTIONS:
        raise Unsupported(f"it has more than {MAX_QUESTIONS} questions")
    items = []
    for item_id in item_ids:
        info = by_name.get(f"{item_id}.json")
        if info is None:
            raise Unsupported(f"question {item_id} is missing from its .perseus file")
        items.append((item_id, _json(archive, info)))
    return items


def _json(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    if info.file_size > MAX_ITEM_BYTES:
        raise Unsupported(f"{info.filename} is larger than {MAX_ITEM_BYTES} bytes")
    with archive.open(info) as entry:
        data = entry.read(MAX_ITEM_BYTES + 1)
    if len(data) > MAX_ITEM_BYTES:
        raise Unsupported(f"{info.filename} is larger than {MAX_ITEM_BYTES} bytes")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise Unsupported(f"{info.filename} is not valid JSON") from None


def _question(item: tuple[str, Any], index: int) -> dict[str, Any]:
    item_id, raw = item
    where = f"question {index + 1}"
    question = _dict(raw.get("question") if isinstance(raw, dict) else None)
    content = question.get("content")
    widgets = _dict(question.get("widgets"))
    if not isinstance(content, str):
        raise Unsupported(f"{where} has no text")
    placed = _WIDGET.findall(content)
    if len(placed) != 1:
        kinds = ", ".join(sorted({name.split(" ")[0] for name in placed})) or "no answer box"
        raise Unsupported(f"{where} uses {kinds}; only one radio or numeric answer converts")
    widget = _dict(widgets.get(placed[0]))
    kind = widget.get("type")
    if kind not in ("radio", *NUMERIC_WIDGETS):
        raise Unsupported(f"{where} uses the {str(kind)[:40]} widget")
    prompt = _plain(_WIDGET.sub("", content), where)
    if not prompt:
        raise Unsupported(f"{where} has no text besides its answer")
    options = _dict(widget.get("options"))
    made: dict[str, Any] = {"id": question_id(item_id, index), "prompt": prompt[:MAX_PROMPT_CHARS]}
    if kind == "radio":
        made.update(_radio(options, where))
    else:
        made.update(_numeric(kind, options, where))
    made.update(_hints(raw))
    return made


def _radio(options: dict[str, Any], where: str) -> dict[str, Any]:
    choices = options.get("choices")
    if not isinstance(choices, list) or not 2 <= len(choices) <= MAX_CHOICES:
        raise Unsupported(f"{where} has no usable list of choices")
    if options.get("hasNoneOfTheAbove") or options.get("noneOfTheAbove"):
        raise Unsupported(f'{where} offers "none of the above"')
    texts, right = [], []
    for number, choice in enumerate(choices):
        choice = _dict(choice)
        if choice.get("isNoneOfTheAbove") or not isinstance(choice.get("content"), str):
            raise Unsupported(f"{where} has a choice that is not text")
        text = _plain(choice["content"], where)
        if not text or len(text) > MAX_CHOICE_CHARS or text in texts:
            raise Unsupported(f"{where} has a blank, long or repeated choice")
        texts.append(text)
        if choice.get("correct") is True:
            right.append(number)
    if not right:
        raise Unsupported(f"{where} marks no choice right")
    if options.get("multipleSelect") is True:
        return {"type": "multiple", "choices": texts, "answer": right}
    if len(right) != 1:
        raise Unsupported(f"{where} marks several choices right but lets learners pick one")
    return {"type": "single", "choices": texts, "answer": right[0]}


def _numeric(kind: str, options: dict[str, Any], where: str) -> dict[str, Any]:
    if kind == "input-number":
        value, tolerance = options.get("value"), options.get("maxError", 0)
        if options.get("inexact") is not True:
            tolerance = 0
    else:
        answers = [_dict(a) for a in _list(options.get("answers"))]
        right = [a for a in answers if a.get("status") == "correct"]
        if len(right) != 1:
            raise Unsupported(f"{where} has {len(right) or 'no'} right answers, not one")
        value, tolerance = right[0].get("value"), right[0].get("maxError") or 0
    answer, allowed = number(value), number(tolerance)
    if answer is None or allowed is None or allowed < 0:
        raise Unsupported(f"{where} has no usable number as its answer")
    made: dict[str, Any] = {"type": "numeric", "answer": answer}
    if allowed:
        made["tolerance"] = allowed
    return made


def _hints(raw: dict[str, Any]) -> dict[str, str]:
    """The first hint as the hint, the last (Perseus's worked answer) as the explanation;
    hints with pictures or widgets are left out."""
    texts = []
    for hint in _list(raw.get("hints")):
        content = _dict(hint).get("content")
        if (
            isinstance(content, str)
            and not _WIDGET.search(content)
            and not _PICTURE.search(content)
        ):
            text = content.strip()[:MAX_PROMPT_CHARS]
            if text:
                texts.append(text)
    made = {}
    if texts:
        made["hint"] = texts[0]
    if len(texts) > 1:
        made["explanation"] = texts[-1]
    return made


def _mastery(model: str, questions: int) -> tuple[int, int] | None:
    """Kolibri's mastery model as (correct, of); None for 'every question right'."""
    try:
        raw = json.loads(model) if model else {}
    except (json.JSONDecodeError, RecursionError):
        return None
    raw = _dict(raw)
    kind = str(raw.get("type", ""))
    if kind == "m_of_n":
        m, n = raw.get("m"), raw.get("n")
        if isinstance(m, int) and isinstance(n, int) and 1 <= m <= n <= MAX_MASTERY:
            return m, n
        return None
    in_a_row = _IN_A_ROW.fullmatch(kind)
    if in_a_row and 1 <= int(in_a_row.group(1)) <= MAX_MASTERY:
        count = int(in_a_row.group(1))
        return count, count
    return None  # do_all, or a model this hub does not know: every question right


def _plain(text: str, where: str) -> str:
    if _PICTURE.search(text):
        raise Unsupported(f"{where} shows a picture")
    return text.strip()


def number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int) and abs(value) < 10**308:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    return None


def question_id(item_id: str, index: int) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "", item_id)[:64]
    return cleaned or f"q{index + 1}"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
