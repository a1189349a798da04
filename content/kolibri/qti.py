"""Kolibri exercises in QTI (a zip of preset `qti`) as hub exercises.

Kolibri Studio publishes such an exercise as an IMS content package: `imsmanifest.xml` lists
one resource of type `imsqti_item_xmlv3p0` per question, whose `href` is an IMS QTI 3.0 item
(`qti-assessment-item`). Studio names each item `K` + the URL-safe base64 of the assessment
item id that the channel database lists, so the database's order is kept when every id is
found; otherwise (items written by hand) the manifest's order is.

An item becomes a hub question when its body holds one interaction, a `qti-choice-interaction`
(its `qti-simple-choice`s, the right ones in `qti-correct-response`; cardinality `multiple`
for several) or a `qti-text-entry-interaction` (a `float` or `integer` response is a number,
with the absolute or relative tolerance of a `qti-equal` in its response processing; a
`string` response is text, each correct value accepted), and no picture, media or MathML
(prompts are plain text). Otherwise the exercise is skipped, the reason naming the question.

The XML is untrusted: a document type declaration (where entities, and so entity bombs, are
declared) is refused as soon as the parser meets it, undefined entities are parse errors,
and every file, element count and nesting depth is bounded.
"""

from __future__ import annotations

import base64
import math
import re
import zipfile
from typing import Any, BinaryIO
from xml.etree import ElementTree

from content.exercise import MAX_ACCEPTED, MAX_CHOICES, MAX_QUESTIONS
from content.kolibri.perseus import (
    MAX_CHOICE_CHARS,
    MAX_PROMPT_CHARS,
    Unsupported,
    assemble,
    number,
    question_id,
)

MAX_XML_BYTES = 1024**2  # one item or the manifest
MAX_ELEMENTS = 20_000  # in one XML file
MAX_DEPTH = 40  # element nesting; real items need about 10
MAX_ENTRIES = 2 * MAX_QUESTIONS + 100  # items, the manifest, and the pictures they use
ITEM_TYPE = "imsqti_item_xmlv3p0"
MANIFEST = "imsmanifest.xml"
_HEX_ID = re.compile(r"[0-9a-f]{32}")
_HIDDEN = {  # shown to learners only conditionally, or never: not part of the prompt
    "qti-feedback-block",
    "qti-feedback-inline",
    "qti-modal-feedback",
    "qti-rubric-block",
    "qti-template-block",
    "qti-template-inline",
}
_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "table", "tr", "blockquote", "pre", "qti-prompt"}
_BLOCKS |= {f"h{level}" for level in range(1, 7)}
_PICTURES = {"img", "picture", "svg", "object", "figure", "canvas", "qti-graphic"}
_MEDIA = {"audio", "video", "iframe"}


class _Refused(Exception):
    """The XML is refused before it is built: why, a phrase."""


class _Builder(ElementTree.TreeBuilder):
    """A tree builder that refuses a document type declaration, too many elements and deep
    nesting while the parser runs, before anything large is built."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._count = 0

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _Refused("declares a document type (refused: it could declare entities)")

    def start(self, tag: str, attrs: dict[str, str]) -> ElementTree.Element:
        self._depth += 1
        self._count += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"nests elements more than {MAX_DEPTH} deep")
        if self._count > MAX_ELEMENTS:
            raise _Refused(f"holds more than {MAX_ELEMENTS} elements")
        return super().start(tag, attrs)

    def end(self, tag: str) -> ElementTree.Element:
        self._depth -= 1
        return super().end(tag)


def parse_xml(data: bytes, what: str) -> ElementTree.Element:
    """The root element of untrusted XML; Unsupported naming `what` if it is refused."""
    parser = ElementTree.XMLParser(target=_Builder())
    try:
        parser.feed(data)
        return parser.close()
    except _Refused as why:
        raise Unsupported(f"{what} {why}") from None
    except (ElementTree.ParseError, ValueError, RecursionError):
        raise Unsupported(f"{what} is not well-formed XML") from None


def convert(stream: BinaryIO, item_ids: list[str], mastery: str, randomize: bool) -> dict:
    """The hub exercise (exercise-format JSON as a dict) for a QTI zip; Unsupported saying
    why not."""
    try:
        with zipfile.ZipFile(stream) as archive:
            items = _items(archive, item_ids)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise Unsupported("its QTI file is not a readable zip") from None
    questions = [_question(root, name, index) for index, (name, root) in enumerate(items)]
    return assemble(questions, mastery, randomize)


def _items(archive: zipfile.ZipFile, item_ids: list[str]) -> list[tuple[str, ElementTree.Element]]:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise Unsupported(f"its QTI file holds more than {MAX_ENTRIES} files")
    by_name = {info.filename: info for info in infos}
    if MANIFEST not in by_name:
        raise Unsupported(f"its QTI file has no {MANIFEST}")
    manifest = parse_xml(_read(archive, by_name[MANIFEST]), f"its {MANIFEST}")
    hrefs = _item_hrefs(manifest, item_ids)
    if not hrefs:
        raise Unsupported("it has no questions")
    if len(hrefs) > MAX_QUESTIONS:
        raise Unsupported(f"it has more than {MAX_QUESTIONS} questions")
    items = []
    for count, (name, href) in enumerate(hrefs, 1):
        info = by_name.get(href)
        if info is None:
            raise Unsupported(f"question {count} is missing from its QTI file")
        items.append((name, parse_xml(_read(archive, info), f"question {count}")))
    return items


def _item_hrefs(manifest: ElementTree.Element, item_ids: list[str]) -> list[tuple[str, str]]:
    """(question id, path in the zip) of each item, in the channel's order when it names
    them all, else in the manifest's."""
    resources = [
        (element.get("identifier") or "", element.get("href") or "")
        for element in manifest.iter()
        if _local(element.tag) == "resource" and element.get("type") == ITEM_TYPE
    ]
    by_id = dict(resources)
    ordered = [
        (item_id, by_id.get(_studio_id(item_id)) or by_id.get(item_id)) for item_id in item_ids
    ]
    if ordered and all(href for _, href in ordered):
        return [(item_id, str(href)) for item_id, href in ordered]
    return resources


def _studio_id(item_id: str) -> str:
    if not _HEX_ID.fullmatch(item_id):
        return item_id
    return "K" + base64.urlsafe_b64encode(bytes.fromhex(item_id)).decode("ascii").rstrip("=")


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_XML_BYTES:
        raise Unsupported(f"{info.filename[:100]} is larger than {MAX_XML_BYTES} bytes")
    with archive.open(info) as entry:
        data = entry.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise Unsupported(f"{info.filename[:100]} is larger than {MAX_XML_BYTES} bytes")
    return data


def _question(root: ElementTree.Element, name: str, index: int) -> dict[str, Any]:
    where = f"question {index + 1}"
    body = _child(root, "qti-item-body") if _local(root.tag) == "qti-assessment-item" else None
    if body is None:
        raise Unsupported(f"{where} is not a QTI 3.0 item with a body")
    _refuse_pictures(body, where)
    interactions = [e for e in body.iter() if _local(e.tag).endswith("-interaction")]
    if len(interactions) != 1:
        kinds = ", ".join(sorted({_local(e.tag) for e in interactions})) or "no answer box"
        raise Unsupported(f"{where} uses {kinds}; only one choice or text entry converts")
    interaction = interactions[0]
    kind = _local(interaction.tag)
    if kind not in ("qti-choice-interaction", "qti-text-entry-interaction"):
        raise Unsupported(f"{where} uses {kind[:60]}")
    declaration = _declaration(root, interaction, where)
    prompt = _text(body, interaction)
    if kind == "qti-choice-interaction":
        prompt = "\n".join(
            filter(None, [prompt, *(_text(p) for p in _children(interaction, "qti-prompt"))])
        )
    if not prompt:
        raise Unsupported(f"{where} has no text besides its answer")
    made: dict[str, Any] = {"id": question_id(name, index), "prompt": prompt[:MAX_PROMPT_CHARS]}
    if kind == "qti-choice-interaction":
        made.update(_choice(interaction, declaration, where))
    else:
        made.update(_entry(root, declaration, where))
    return made


def _refuse_pictures(body: ElementTree.Element, where: str) -> None:
    for element in body.iter():
        name = _local(element.tag)
        if name in _PICTURES:
            raise Unsupported(f"{where} shows a picture")
        if name in _MEDIA:
            raise Unsupported(f"{where} plays media")
        if name == "math":
            raise Unsupported(f"{where} is written in MathML")


def _declaration(
    root: ElementTree.Element, interaction: ElementTree.Element, where: str
) -> ElementTree.Element:
    wanted = interaction.get("response-identifier")
    for declaration in _children(root, "qti-response-declaration"):
        if declaration.get("identifier") == wanted:
            return declaration
    raise Unsupported(f"{where} declares no response for its answer")


def _correct(declaration: ElementTree.Element) -> list[str]:
    correct = _child(declaration, "qti-correct-response")
    values = _children(correct, "qti-value") if correct is not None else []
    return [(value.text or "").strip() for value in values]


def _choice(
    interaction: ElementTree.Element, declaration: ElementTree.Element, where: str
) -> dict[str, Any]:
    if declaration.get("base-type") != "identifier":
        raise Unsupported(f"{where} does not answer its choices by identifier")
    choices = _children(interaction, "qti-simple-choice")
    if not 2 <= len(choices) <= MAX_CHOICES:
        raise Unsupported(f"{where} has no usable list of choices")
    texts: list[str] = []
    for choice in choices:
        text = _text(choice)
        if not text or len(text) > MAX_CHOICE_CHARS or text in texts:
            raise Unsupported(f"{where} has a blank, long or repeated choice")
        texts.append(text)
    ids = [choice.get("identifier") for choice in choices]
    right = _correct(declaration)
    if not right:
        raise Unsupported(f"{where} marks no choice right")
    if any(value not in ids for value in right) or len(set(right)) != len(right):
        raise Unsupported(f"{where} marks right a choice it does not offer")
    answer = sorted(ids.index(value) for value in right)
    cardinality = declaration.get("cardinality")
    if cardinality == "multiple":
        return {"type": "multiple", "choices": texts, "answer": answer}
    if cardinality != "single" or len(answer) != 1:
        raise Unsupported(f"{where} marks several choices right but lets learners pick one")
    return {"type": "single", "choices": texts, "answer": answer[0]}


def _entry(
    root: ElementTree.Element, declaration: ElementTree.Element, where: str
) -> dict[str, Any]:
    base_type = declaration.get("base-type")
    right = [value for value in _correct(declaration) if value]
    if not right:
        raise Unsupported(f"{where} gives no right answer")
    if base_type == "string":
        if len(right) > MAX_ACCEPTED or any(len(text) > MAX_CHOICE_CHARS for text in right):
            raise Unsupported(f"{where} accepts too many or too long answers")
        return {"type": "text", "answer": list(dict.fromkeys(right))}
    if base_type not in ("float", "integer"):
        raise Unsupported(f"{where} expects a {str(base_type)[:20]} answer")
    if len(set(right)) != 1:
        raise Unsupported(f"{where} has {len(right)} right numbers, not one")
    answer = number(right[0])
    if answer is None:
        raise Unsupported(f"{where} has no usable number as its answer")
    made: dict[str, Any] = {"type": "numeric", "answer": answer}
    tolerance = _tolerance(root, answer, where)
    if tolerance:
        made["tolerance"] = tolerance
    return made


def _tolerance(root: ElementTree.Element, answer: int | float, where: str) -> int | float:
    """The tolerance of the first `qti-equal` in the response processing: absolute as given,
    relative (a percentage) of the answer; 0 when exact or absent."""
    processing = _child(root, "qti-response-processing")
    equal = next(
        (
            e
            for e in (processing.iter() if processing is not None else ())
            if _local(e.tag) == "qti-equal"
        ),
        None,
    )
    mode = equal.get("tolerance-mode", "exact") if equal is not None else "exact"
    if equal is None or mode == "exact":
        return 0
    values = [number(part) for part in (equal.get("tolerance") or "").split()]
    if not 1 <= len(values) <= 2 or any(v is None or v < 0 for v in values):
        raise Unsupported(f"{where} gives a tolerance that is not a number")
    if len(set(values)) != 1:
        raise Unsupported(f"{where} allows different errors above and below its answer")
    allowed = float(values[0] or 0)
    if mode == "relative":
        allowed = abs(answer) * allowed / 100
    elif mode != "absolute":
        raise Unsupported(f"{where} uses the tolerance mode {mode[:20]}")
    if not math.isfinite(allowed):
        raise Unsupported(f"{where} gives a tolerance that is not a number")
    return int(allowed) if allowed.is_integer() else allowed


def _text(element: ElementTree.Element, leave_out: ElementTree.Element | None = None) -> str:
    """The plain text a learner reads in `element`, without `leave_out` and hidden parts;
    blocks on their own lines, runs of spaces as one."""
    parts: list[str] = []
    _collect(element, leave_out, parts)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _collect(
    element: ElementTree.Element, leave_out: ElementTree.Element | None, parts: list[str]
) -> None:
    block = _local(element.tag) in _BLOCKS
    if block:
        parts.append("\n")
    parts.append(element.text or "")
    for child in element:  # depth is bounded by the parser, so recursion is too
        if child is not leave_out and _local(child.tag) not in _HIDDEN:
            _collect(child, leave_out, parts)
        parts.append(child.tail or "")
    if block:
        parts.append("\n")


def _local(tag: Any) -> str:
    """An element's name without its namespace (comments and processing instructions: '')."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: ElementTree.Element, name: str) -> ElementTree.Element | None:
    return next(iter(_children(element, name)), None)


def _children(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [child for child in element if _local(child.tag) == name]
