"""The JSON Schema subset validator (content/schema.py) and pack_schema.json itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from content.manifest import KINDS, _validator
from content.schema import SchemaValidator, describe, ecma_to_python, format_path

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "content" / "pack_schema.json"


def messages(schema: dict, instance: object) -> list[str]:
    return [str(issue) for issue in SchemaValidator(schema).issues(instance)]


@pytest.mark.parametrize(
    ("type_", "good", "bad", "expected"),
    [
        ("string", "x", 1, "expected a string; got 1"),
        ("object", {}, [], "expected an object; got a list"),
        ("array", [], {}, "expected a list; got an object"),
        ("number", 1.5, "1", 'expected a number; got "1"'),
        ("number", 2, True, "expected a number; got true"),
        ("integer", 3, 3.5, "expected a whole number; got 3.5"),
        ("boolean", False, 0, "expected true or false; got 0"),
        ("null", None, "", 'expected null; got ""'),
    ],
)
def test_type(type_: str, good: object, bad: object, expected: str) -> None:
    assert messages({"type": type_}, good) == []
    assert messages({"type": type_}, bad) == [expected]


def test_type_list_and_integer_valued_float() -> None:
    assert messages({"type": ["string", "null"]}, None) == []
    assert messages({"type": ["string", "null"]}, 1) == ["expected a string or null; got 1"]
    assert messages({"type": "integer"}, 4.0) == []


def test_const_and_enum() -> None:
    assert messages({"const": "a/1"}, "a/1") == []
    assert messages({"const": "a/1"}, "a/2") == ['expected "a/1"; got "a/2"']
    assert messages({"enum": ["x", "y z", 3]}, 3.0) == []
    assert messages({"enum": ["x", "y z", 3]}, "w") == ['expected one of x, "y z", 3; got "w"']
    assert messages({"enum": [1]}, True) == ["expected one of 1; got true"]


def test_string_keywords() -> None:
    schema = {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^[a-z]+$"}
    assert messages(schema, "ab") == []
    assert messages(schema, "a") == ['expected at least 2 characters; got "a"']
    assert messages(schema, "abcd") == ["expected at most 3 characters; got 4 characters"]
    assert messages(schema, "AB") == ['expected text matching ^[a-z]+$; got "AB"']
    assert messages({"minLength": 1}, "") == ['expected a non-empty string; got ""']


def test_pattern_uses_x_expected_and_is_not_anchored_unless_asked() -> None:
    assert messages({"pattern": "b"}, "abc") == []
    schema = {"pattern": "^[0-9]+$", "x-expected": "digits"}
    assert messages(schema, "12a") == ['expected digits; got "12a"']


def test_dollar_does_not_match_before_a_final_newline() -> None:
    # Python's `$` would accept "abc\n"; JSON Schema (ECMA-262) patterns must not.
    assert messages({"pattern": "^[a-z]+$"}, "abc\n") == [
        'expected text matching ^[a-z]+$; got "abc\\n"'
    ]
    assert ecma_to_python(r"^a[$]\$$") == r"^a[$]\$\Z"


def test_minimum() -> None:
    assert messages({"type": "number", "minimum": 0}, 0) == []
    assert messages({"type": "number", "minimum": 0}, -1) == ["expected a number >= 0; got -1"]


def test_array_keywords() -> None:
    schema = {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}}
    assert messages(schema, ["a", "b"]) == []
    assert messages(schema, []) == ["expected at least one item; got 0"]
    assert messages(schema, ["a", 1, "a"]) == [
        "[1]: expected a string; got 1",
        '[2]: "a" is listed twice',
    ]
    assert messages({"uniqueItems": True}, [1, 1.0]) == ["[1]: 1.0 is listed twice"]
    assert messages({"uniqueItems": True}, [1, True, {"a": [1]}, {"a": [1]}]) == [
        "[3]: an object is listed twice"
    ]
    assert messages({"minItems": 2}, [1]) == ["expected at least 2 items; got 1"]


def test_object_keywords() -> None:
    schema = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string"}, "n": {"type": "number"}},
        "patternProperties": {"^x-": {"x-key": "a name starting with x-"}},
        "additionalProperties": False,
    }
    assert messages(schema, {"id": "a", "x-anything": [1]}) == []
    assert messages(schema, {"n": "1"}) == [
        "id: required field missing",
        'n: expected a number; got "1"',
    ]
    assert messages(schema, {"id": "a", "colour": 1}) == [
        "colour: unknown field; expected one of id, n or a name starting with x-"
    ]


def test_additional_properties_schema_and_pattern_without_hint() -> None:
    schema = {
        "additionalProperties": {"type": "integer"},
        "patternProperties": {"^s": {"type": "string"}},
    }
    assert messages(schema, {"a": 1, "sb": "x"}) == []
    assert messages(schema, {"a": "1", "sb": 2}) == [
        'a: expected a whole number; got "1"',
        "sb: expected a string; got 2",
    ]
    closed = {"patternProperties": {"^[a-z]{2}$": {}}, "additionalProperties": False}
    assert messages(closed, {"EN": 1}) == ["EN: unknown field; expected a name matching ^[a-z]{2}$"]
    assert messages({"additionalProperties": False}, {"a": 1}) == [
        "a: unknown field; expected no fields"
    ]


def test_refs_resolve_into_defs_and_root() -> None:
    schema = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "kids": {"items": {"$ref": "#/$defs/node"}},
                },
            }
        },
        "properties": {"tree": {"$ref": "#/$defs/node"}, "again": {"$ref": "#"}},
    }
    good = {"tree": {"name": "a", "kids": [{"name": "b", "kids": []}]}}
    assert messages(schema, good) == []
    bad = {"tree": {"kids": [{"kids": [{"name": 5}]}]}, "again": {"tree": {"name": 1}}}
    assert messages(schema, bad) == [
        "tree.kids[0].kids[0].name: expected a string; got 5",
        "again.tree.name: expected a string; got 1",
    ]


def test_unknown_ref_is_a_schema_bug() -> None:
    with pytest.raises(ValueError, match="unknown"):
        SchemaValidator({"$ref": "#/$defs/missing"}).first_issue(1)
    with pytest.raises(ValueError, match="unsupported"):
        SchemaValidator({"$ref": "http://example.com/s.json"}).first_issue(1)


def test_type_failure_stops_other_checks_on_that_value() -> None:
    assert messages({"type": "string", "minLength": 3, "enum": ["abc"]}, 1) == [
        "expected a string; got 1"
    ]


def test_first_issue() -> None:
    validator = SchemaValidator({"items": {"type": "string"}})
    assert validator.first_issue(["a"]) is None
    issue = validator.first_issue(["a", 1, 2])
    assert issue is not None
    assert (issue.path, issue.where, issue.message) == ((1,), "[1]", "expected a string; got 1")


def test_format_path_quotes_odd_keys() -> None:
    assert format_path(("lessons", 2, "kind")) == "lessons[2].kind"
    assert format_path(("subtitles", "pt-BR")) == "subtitles.pt-BR"
    assert format_path(("a b", 0, "c\nd")) == '["a b"][0]["c\\nd"]'
    assert format_path(()) == ""


def test_describe_is_short_and_one_line() -> None:
    assert describe("a\nb") == '"a\\nb"'
    assert describe("x" * 500) == '"' + "x" * 55 + '..."'
    assert len(describe("x" * 500)) == 60
    assert describe({"a": 1}) == "an object"
    assert describe(None) == "null"
    assert describe("\u2028") == '"\\u2028"'
    assert describe("café") == '"café"'


def test_pack_schema_is_the_one_the_manifest_uses() -> None:
    schema = json.loads(SCHEMA_FILE.read_text("utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert _validator().schema == schema
    assert tuple(schema["$defs"]["lesson"]["properties"]["kind"]["enum"]) == KINDS
    assert schema["properties"]["format"] == {"const": "learnhub-pack/1"}


def test_pack_schema_uses_only_supported_keywords() -> None:
    supported = {
        "$schema", "$id", "$defs", "$ref", "title", "description", "type", "const", "enum",
        "pattern", "minLength", "maxLength", "minimum", "required", "properties",
        "additionalProperties", "patternProperties", "items", "minItems", "uniqueItems",
        "x-expected", "x-key",
    }  # fmt: skip
    schema = json.loads(SCHEMA_FILE.read_text("utf-8"))

    def keywords(node: object, named: bool = False) -> set[str]:
        # Under properties/patternProperties/$defs the keys are names, not keywords.
        if isinstance(node, list):
            return set().union(*(keywords(item) for item in node))
        if not isinstance(node, dict):
            return set()
        found = set() if named else set(node)
        for key, value in node.items():
            inner_named = not named and key in {"properties", "patternProperties", "$defs"}
            found |= keywords(value, inner_named)
        return found

    assert keywords(schema) <= supported


def test_pack_schema_patterns_compile_in_python_and_mean_what_they_say() -> None:
    schema = json.loads(SCHEMA_FILE.read_text("utf-8"))
    path = re.compile(ecma_to_python(schema["$defs"]["path"]["pattern"]))
    for good in [
        "a.html",
        "halves/index.html",
        "a b/c-d_e.f",
        "dir.v2/x",
        "café/été.mp4",
        "a..b/c",
    ]:
        assert path.search(good), good
    for bad in ["/a", "a/../b", "..", "../a", "a/..", "./a", "a/./b", "a//b", "a/", "a\\b",
                "C:/a", "c:a", "a\x00b", "a\nb", "a\n", ""]:  # fmt: skip
        assert not path.search(bad), bad
    language = re.compile(ecma_to_python(schema["$defs"]["language"]["pattern"]))
    for good in ["en", "sw", "pt-BR", "zh-Hant-TW", "fil", "es-419"]:
        assert language.search(good), good
    for bad in ["e", "english-", "en_US", "en-", ""]:
        assert not language.search(bad), bad


def test_agrees_with_the_reference_implementation() -> None:
    import jsonschema

    from tests.content_helpers import sample_manifest

    schema = json.loads(SCHEMA_FILE.read_text("utf-8"))
    reference = jsonschema.Draft202012Validator(schema)
    good = sample_manifest()
    bad = sample_manifest(id="X", extra=1)
    assert reference.is_valid(good) and _validator().first_issue(good) is None
    assert not reference.is_valid(bad) and _validator().first_issue(bad) is not None
