"""JSON syntax errors in plain words (content/json_errors.py), as pack.json import says them."""

from __future__ import annotations

import json

import pytest

from content.errors import PackError
from content.json_errors import explain
from content.manifest import parse_manifest


def words(text: str) -> str:
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text)
    return explain(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1,\n}', "a comma before } on line 1"),
        ('{"a": [1, 2,\n\n]}', "a comma before ] on line 1"),
        ('{\n  "a": 1\n  "b": 2\n}', "a missing comma between items on line 2"),
        ("[\n 1\n 2]", "a missing comma between items on line 2"),
        ('{\n"a": "abc\n}', "text in quotes is not closed on line 2"),
        ('{\n\n"a": "abc', "text in quotes is not closed on line 3"),
        ("{a: 1}", 'a field name without double quotes on line 1 (write "a")'),
        ("{'a': 1}", 'text in single quotes on line 1; JSON needs double quotes "like this"'),
        ('{"a" 1}', "a missing colon after the field name on line 1"),
        (
            '{"a": 1}\n}',
            "more text after the end on line 2 (an extra } or ], or a { or [ missing at the start)",
        ),
        (
            '{"p": "C:\\quiz"}',
            "a backslash on line 1 that JSON does not allow "
            "(write \\\\ for one backslash, as in a Windows path)",
        ),
        ("", "the file is empty"),
        ("  \n ", "the file is empty"),
        ('{"a": [1, 2}', "a ] is missing before the } on line 1"),
        ('[{"a": 1]', "a } is missing before the ] on line 1"),
        ('{"a": True}', "True on line 1 is not JSON (write true)"),
        ('{"a": None}', "None on line 1 is not JSON (write null)"),
        ('{"a": yes}', 'text without double quotes on line 1 (write "yes")'),
        ("// notes\n{}", "a comment on line 1; JSON does not allow comments"),
        ('{"a": 1', "the file ends too early (a closing } or ] or a quote is missing)"),
        ('{"a": .5}', "a number on line 1 that JSON does not allow (write 0.5, not .5 or +5)"),
        ('{"a": 07}', "a number starting with 0 on line 1 (write 7, not 07)"),
        ('{"a": "x\ty"}', "a tab inside text in quotes on line 1 (write \\t instead)"),
        ('{"a": [1,,2]}', "a value is missing before a comma on line 1"),
        ('{"a": }', "a value is missing before } on line 1"),
        ('{"a": "\\u12"}', "a broken \\u escape in text on line 1"),
        ('{"a": @}', "something that is not a JSON value on line 1"),
    ],
)
def test_each_mistake_is_named_in_words(text: str, expected: str) -> None:
    assert words(text) == expected


def test_pack_json_says_it_in_one_sentence() -> None:
    data = b'{\n  "format": "learnhub-pack/1",\n  "id": "abc",\n  "lessons": [],\n}'
    with pytest.raises(PackError) as caught:
        parse_manifest(data, "fractions/pack.json")
    assert str(caught.value) == "fractions/pack.json is not valid JSON: a comma before } on line 4."
