"""JSON syntax errors in plain words: "a comma before } on line 12" instead of "Expecting
property name enclosed in double quotes: line 12 column 5 (char 210)".

Python's parser stops at the first character it cannot use and names what it expected; the
character there (and the one before it) usually says what the person writing the file did.
"""

from __future__ import annotations

import json
import re

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_JSON_WORDS = {
    "True": "true",
    "False": "false",
    "None": "null",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "undefined": "null",
}


def explain(err: json.JSONDecodeError) -> str:
    """What is wrong, as a phrase naming the line: "a missing comma between items on line 4"."""
    doc, pos = err.doc, err.pos
    if not doc.strip():
        return "the file is empty"
    here = doc[pos] if pos < len(doc) else ""
    if err.msg.startswith("Unterminated string"):
        return f"text in quotes is not closed on line {err.lineno}"
    if err.msg.startswith("Invalid control character"):
        return _control_in_text(here, err.lineno)
    if err.msg.startswith("Invalid \\uXXXX"):
        return f"a broken \\u escape in text on line {err.lineno}"
    if err.msg.startswith("Invalid \\escape"):
        return (
            f"a backslash on line {err.lineno} that JSON does not allow "
            "(write \\\\ for one backslash, as in a Windows path)"
        )
    if err.msg.startswith("Extra data"):
        return (
            f"more text after the end on line {err.lineno} "
            "(an extra } or ], or a { or [ missing at the start)"
        )
    if not here:
        return "the file ends too early (a closing } or ] or a quote is missing)"
    if err.msg.startswith("Expecting ',' delimiter"):
        return _missing_comma(doc, pos, here, err.lineno)
    if err.msg.startswith("Expecting ':' delimiter"):
        return f"a missing colon after the field name on line {err.lineno}"
    return _unexpected(doc, pos, here, err.lineno, name_expected="property name" in err.msg)


def _control_in_text(here: str, line: int) -> str:
    if here in "\r\n":
        return f"text in quotes is not closed on line {line}"
    if here == "\t":
        return f"a tab inside text in quotes on line {line} (write \\t instead)"
    return f"a control character inside text in quotes on line {line}"


def _missing_comma(doc: str, pos: int, here: str, line: int) -> str:
    if here == "}":
        return f"a ] is missing before the }} on line {line}"
    if here == "]":
        return f"a }} is missing before the ] on line {line}"
    before = _previous(doc, pos)
    if before is not None and doc[before] == "0" and here.isdigit():
        return f"a number starting with 0 on line {line} (write 7, not 07)"
    where = _line_of(doc, before) if before is not None else line
    return f"a missing comma between items on line {where}"


def _unexpected(doc: str, pos: int, here: str, line: int, *, name_expected: bool) -> str:
    before = _previous(doc, pos)
    if here in "}]" and before is not None and doc[before] == ",":
        return f"a comma before {here} on line {_line_of(doc, before)}"
    if doc.startswith(("//", "/*"), pos):
        return f"a comment on line {line}; JSON does not allow comments"
    if here == "'":
        return f'text in single quotes on line {line}; JSON needs double quotes "like this"'
    if here in "}]":
        return f"a value is missing before {here} on line {line}"
    if here == ",":
        return f"a value is missing before a comma on line {line}"
    word = _WORD.match(doc, pos)
    if word and name_expected:
        return f'a field name without double quotes on line {line} (write "{word[0]}")'
    if word and word[0] in _NOT_JSON_WORDS:
        return f"{word[0]} on line {line} is not JSON (write {_NOT_JSON_WORDS[word[0]]})"
    if word:
        return f'text without double quotes on line {line} (write "{word[0]}")'
    if here == "." or (here == "+" and pos + 1 < len(doc) and doc[pos + 1].isdigit()):
        return f"a number on line {line} that JSON does not allow (write 0.5, not .5 or +5)"
    return f"something that is not a JSON value on line {line}"


def _previous(doc: str, pos: int) -> int | None:
    """The index of the last non-blank character before pos."""
    at = pos - 1
    while at >= 0 and doc[at] in " \t\r\n":
        at -= 1
    return at if at >= 0 else None


def _line_of(doc: str, index: int) -> int:
    return doc.count("\n", 0, index) + 1
