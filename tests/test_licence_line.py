"""The licence line of pack and lesson pages: written in Python, so escaping is its own job."""

from __future__ import annotations

from types import SimpleNamespace

from flask import Flask

from hub.web.template_globals import licence_line

HOSTILE = '<script>alert("x")</script> & Co'


def _pack(**fields: object) -> SimpleNamespace:
    values = {"title": "Fractions", "version": "3", "license": "CC-BY-4.0", "attribution": None}
    return SimpleNamespace(**{**values, **fields})


def _line(app: Flask, pack: SimpleNamespace, lesson: object = None, language: str = "en") -> str:
    with app.test_request_context("/", headers={"Accept-Language": language}):
        return str(licence_line(pack, lesson))


def test_every_part_a_pack_or_lesson_states_is_escaped(app: Flask) -> None:
    lesson = SimpleNamespace(meta={"author": HOSTILE, "license": HOSTILE})
    line = _line(app, _pack(title=HOSTILE, attribution=HOSTILE, version=HOSTILE), lesson)
    assert "<script>" not in line
    assert line.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co") == 4
    assert line.startswith('<p class="licence">') and line.endswith("</p>")


def test_the_lessons_own_licence_and_names_come_first_each_name_once(app: Flask) -> None:
    pack = _pack(attribution="Pack Team")
    lesson = SimpleNamespace(meta={"license": "CC0-1.0", "attribution": "Asha", "author": "ASHA"})
    assert _line(app, pack, lesson) == (
        '<p class="licence">Licence: CC0-1.0 · <bdi>Asha</bdi> · Fractions 3</p>'
    )
    plain = SimpleNamespace(meta=None)
    assert _line(app, pack, plain) == (
        '<p class="licence">Licence: CC-BY-4.0 · <bdi>Pack Team</bdi> · Fractions 3</p>'
    )


def test_a_missing_licence_is_said_in_the_readers_language(app: Flask) -> None:
    line = _line(app, _pack(license=None), language="fr")
    assert line == '<p class="licence">Licence: non précisée · Fractions 3</p>'
