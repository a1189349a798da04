"""A small validator for the JSON Schema (2020-12) subset that pack_schema.json uses.

Supported keywords: type, const, enum, pattern, minLength, maxLength, minimum, required,
properties, patternProperties, additionalProperties, items, minItems, uniqueItems and $ref to
"#" or "#/$defs/<name>". Two annotations improve the messages: "x-expected" (what a value
should look like, used instead of a raw pattern) and "x-key" (on a patternProperties schema:
what a key should look like). Anything else is ignored, as the specification asks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]

_TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "null",
}
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SchemaIssue:
    """One way an instance breaks the schema; str() is `<path>: <message>`."""

    path: Path
    message: str

    @property
    def where(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.path else self.message


class SchemaValidator:
    """Checks instances against one schema document (whose $defs the $refs point into)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self._patterns: dict[str, re.Pattern[str]] = {}

    def issues(self, instance: Any) -> Iterator[SchemaIssue]:
        """Every issue, in document order (required fields before the fields' own issues)."""
        yield from self._check(instance, self.schema, ())

    def first_issue(self, instance: Any) -> SchemaIssue | None:
        return next(self.issues(instance), None)

    def _check(self, value: Any, schema: Mapping[str, Any], path: Path) -> Iterator[SchemaIssue]:
        if "$ref" in schema:
            yield from self._check(value, self._resolve(schema["$ref"]), path)
        if "type" in schema and not _has_type(value, schema["type"]):
            yield SchemaIssue(path, f"expected {_type_text(schema)}; got {describe(value)}")
            return
        if "const" in schema and not _same(value, schema["const"]):
            const = json.dumps(schema["const"])
            yield SchemaIssue(path, f"expected {const}; got {describe(value)}")
        if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
            yield SchemaIssue(path, f"expected {_enum_text(schema['enum'])}; got {describe(value)}")
        if isinstance(value, str):
            yield from self._check_string(value, schema, path)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield from _check_number(value, schema, path)
        elif isinstance(value, list):
            yield from self._check_array(value, schema, path)
        elif isinstance(value, dict):
            yield from self._check_object(value, schema, path)

    def _check_string(
        self, value: str, schema: Mapping[str, Any], path: Path
    ) -> Iterator[SchemaIssue]:
        # describe() only on failure: a channel's pack.json holds some 100,000 strings
        if "minLength" in schema and len(value) < schema["minLength"]:
            want = schema.get("x-expected") or _at_least(schema["minLength"], "character")
            yield SchemaIssue(path, f"expected {want}; got {describe(value)}")
        elif "maxLength" in schema and len(value) > schema["maxLength"]:
            want = f"at most {schema['maxLength']} characters"
            yield SchemaIssue(path, f"expected {want}; got {len(value)} characters")
        elif "pattern" in schema and not self._regex(schema["pattern"]).search(value):
            want = schema.get("x-expected") or f"text matching {schema['pattern']}"
            yield SchemaIssue(path, f"expected {want}; got {describe(value)}")

    def _check_array(
        self, value: list[Any], schema: Mapping[str, Any], path: Path
    ) -> Iterator[SchemaIssue]:
        if "minItems" in schema and len(value) < schema["minItems"]:
            want = _at_least(schema["minItems"], "item")
            yield SchemaIssue(path, f"expected {want}; got {len(value)}")
        if "items" in schema:
            for index, item in enumerate(value):
                yield from self._check(item, schema["items"], (*path, index))
        if schema.get("uniqueItems"):
            yield from _check_unique(value, path)

    def _check_object(
        self, value: dict[str, Any], schema: Mapping[str, Any], path: Path
    ) -> Iterator[SchemaIssue]:
        for name in schema.get("required", ()):
            if name not in value:
                yield SchemaIssue((*path, name), "required field missing")
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            matched = [sub for pattern, sub in patterns.items() if self._regex(pattern).search(key)]
            if key in properties:
                matched.append(properties[key])
            elif not matched and extra is False:
                yield SchemaIssue((*path, key), f"unknown field; expected {_keys_text(schema)}")
            elif not matched and isinstance(extra, Mapping):
                matched.append(extra)
            for sub in matched:
                yield from self._check(item, sub, (*path, key))

    def _resolve(self, ref: str) -> Mapping[str, Any]:
        if ref == "#":
            return self.schema
        prefix = "#/$defs/"
        if not ref.startswith(prefix) or ref[len(prefix) :] not in self.schema.get("$defs", {}):
            raise ValueError(f"unsupported or unknown $ref {ref!r}")
        return self.schema["$defs"][ref[len(prefix) :]]

    def _regex(self, pattern: str) -> re.Pattern[str]:
        if pattern not in self._patterns:
            self._patterns[pattern] = re.compile(ecma_to_python(pattern), re.ASCII)
        return self._patterns[pattern]


def ecma_to_python(pattern: str) -> str:
    """Rewrite `$` outside character classes as `\\Z`: in Python `$` also matches before a
    final newline, so "abc\\n" would pass `^[a-z]+$`; in ECMA-262 (JSON Schema) it does not."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


def format_path(path: Path) -> str:
    """("lessons", 2, "kind") -> "lessons[2].kind"; odd keys are quoted: x["a b"]."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _SIMPLE_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def describe(value: Any, limit: int = 60) -> str:
    """A short, one-line rendering of a JSON value for messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text if len(text) <= limit else text[: limit - 4] + '..."'


def _check_number(value: float, schema: Mapping[str, Any], path: Path) -> Iterator[SchemaIssue]:
    if "minimum" in schema and not value >= schema["minimum"]:
        yield SchemaIssue(path, f"expected a number >= {schema['minimum']}; got {describe(value)}")


def _check_unique(value: list[Any], path: Path) -> Iterator[SchemaIssue]:
    if all(type(item) is str for item in value):  # ids: a set, not pairs (a topic of 2,000)
        yield from _check_unique_strings(value, path)
        return
    seen: list[Any] = []
    for index, item in enumerate(value):
        if any(_same(item, earlier) for earlier in seen):
            yield SchemaIssue((*path, index), f"{describe(item)} is listed twice")
        seen.append(item)


def _check_unique_strings(value: list[str], path: Path) -> Iterator[SchemaIssue]:
    seen: set[str] = set()
    for index, item in enumerate(value):
        if item in seen:
            yield SchemaIssue((*path, index), f"{describe(item)} is listed twice")
        seen.add(item)


def _has_type(value: Any, wanted: str | list[str]) -> bool:
    names = [wanted] if isinstance(wanted, str) else wanted
    return any(_is_type(value, name) for name in names)


def _is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return name == "boolean"
    checks = {
        "object": lambda: isinstance(value, dict),
        "array": lambda: isinstance(value, list),
        "string": lambda: isinstance(value, str),
        "number": lambda: isinstance(value, int | float),
        "integer": lambda: isinstance(value, int) or (isinstance(value, float) and value % 1 == 0),
        "null": lambda: value is None,
    }
    return name in checks and checks[name]()


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if _is_type(a, "number") and _is_type(b, "number"):
        return a == b
    return type(a) is type(b) and a == b


def _type_text(schema: Mapping[str, Any]) -> str:
    if "x-expected" in schema:
        return schema["x-expected"]
    wanted = schema["type"]
    names = [wanted] if isinstance(wanted, str) else wanted
    return " or ".join(_TYPE_NAMES.get(name, name) for name in names)


def _enum_text(options: list[Any]) -> str:
    words = [
        o if isinstance(o, str) and _SIMPLE_KEY.fullmatch(o) else json.dumps(o) for o in options
    ]
    return "one of " + ", ".join(words)


def _keys_text(schema: Mapping[str, Any]) -> str:
    parts = []
    if schema.get("properties"):
        parts.append("one of " + ", ".join(schema["properties"]))
    for pattern, sub in schema.get("patternProperties", {}).items():
        parts.append(sub.get("x-key") or f"a name matching {pattern}")
    return " or ".join(parts) or "no fields"


def _at_least(count: int, noun: str) -> str:
    if count == 1 and noun == "character":
        return "a non-empty string"
    return f"at least one {noun}" if count == 1 else f"at least {count} {noun}s"
