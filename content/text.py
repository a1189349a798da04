"""The plain text of a lesson's files, for search: what a reader sees or hears, no markup.

    lesson_text("article", html_bytes)      # the page's words, without tags, scripts, styles
    lesson_text("exercise", json_bytes)     # prompts, choices and hints (never the answers)
    lesson_text("pdf", pdf_bytes)           # the words of every page
    subtitle_text(vtt_bytes)                # what a video or audio lesson says

Every function takes bytes and never raises on broken input: search indexes what it can.
Output is capped at `limit` characters, and work is bounded by the input size.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from content.errors import PackError
from content.exercise import parse_exercise
from content.pdftext import extract_text
from content.vtt import parse_vtt

MAX_CHARS = 200_000
MAX_HTML_BYTES = 8 * 1024 * 1024

# Elements whose content is not text a reader sees.
_HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "object", "iframe"})
# Elements that end a run of words: without a break, "<li>one</li><li>two</li>" is "onetwo".
_BREAKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div",
        "dl", "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "img", "li", "main", "nav", "ol", "p", "pre", "section",
        "summary", "table", "td", "th", "title", "tr", "ul", "text", "tspan", "option",
        "label", "button",
    }
)  # fmt: skip
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "param", "source", "track", "wbr"})  # fmt: skip
_HEAD_CONTENT = frozenset({"base", "link", "meta", "noscript", "script", "style", "template",
                           "title"})  # fmt: skip
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")


def lesson_text(kind: str, data: bytes, limit: int = MAX_CHARS) -> str:
    """The text of a lesson's main file by its kind; "" for kinds without text (video...)."""
    if kind == "article":
        return html_text(data, limit)
    if kind == "exercise":
        return exercise_text(data, limit)
    if kind == "pdf":
        return pdf_text(data, limit)
    return ""


def html_text(data: bytes, limit: int = MAX_CHARS) -> str:
    """Visible words of an HTML page, with image descriptions (alt) and the page title."""
    parser = _TextParser(limit)
    try:
        parser.feed(_decode_html(data[:MAX_HTML_BYTES]))
        parser.close()
    except _Full:
        pass
    except (AssertionError, ValueError):  # html.parser gives up on some malformed markup
        pass
    return _tidy(parser.text(), limit)


def exercise_text(data: bytes, limit: int = MAX_CHARS) -> str:
    """Prompts, choices and hints: what a student reads. Answers and explanations stay out,
    so a search never gives a quiz away."""
    try:
        exercise = parse_exercise(data, "exercise")
    except PackError:
        return ""
    parts: list[str] = []
    for question in exercise.questions:
        parts.append(question.prompt)
        parts.extend(question.choices)
        if question.hint:
            parts.append(question.hint)
    return _tidy("\n".join(parts), limit)


def subtitle_text(data: bytes, limit: int = MAX_CHARS) -> str:
    """What a video or audio lesson says, from its WebVTT subtitles."""
    try:
        cues = parse_vtt(data)
    except (ValueError, IndexError):
        return ""
    return _tidy("\n".join(cue.text for cue in cues), limit)


def pdf_text(data: bytes, limit: int = MAX_CHARS) -> str:
    return _tidy(extract_text(data, max_chars=limit), limit)


def _tidy(text: str, limit: int) -> str:
    lines = _BLANK_LINES.sub("\n", _SPACES.sub(" ", text)).strip()
    return "".join(c for c in lines[:limit] if c >= " " or c == "\n")


def _decode_html(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared[1].decode("ascii"), errors="replace")
        except LookupError:
            pass
    return data.decode("cp1252", errors="replace")


class _Full(Exception):
    """The text reached its limit."""


class _TextParser(HTMLParser):
    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=True)
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.hidden: list[str] = []  # open hidden elements (nesting)
        self.in_title = False
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.hidden == ["head"] and tag not in _HEAD_CONTENT:
            self.hidden.pop()  # </head> may be left out: the body has begun
        if tag == "title":
            self.in_title = True
        elif tag in _HIDDEN and tag not in _VOID:
            self.hidden.append(tag)
        if tag in _BREAKS:
            self._add("\n")
        if tag == "img" and not self.hidden:
            alt = dict(attrs).get("alt")
            if alt:
                self._add(f" {alt} ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag in _HIDDEN and tag in self.hidden:
            while self.hidden and self.hidden.pop() != tag:
                pass
        if tag in _BREAKS:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.hidden:
            self._add(data)

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > self.limit:
            raise _Full

    def text(self) -> str:
        body = "".join(self.parts)
        title = self.title.strip()
        # The title usually repeats the first heading; keep it only when it says more.
        if title and title not in body:
            return f"{title}\n{body}"
        return body
