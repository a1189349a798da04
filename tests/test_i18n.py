"""Languages: complete catalogs, the locale choice, the picker, numbers and dates, RTL markup,
every page in every language, and the CLI's messages."""

from __future__ import annotations

import html
import importlib.machinery
import importlib.util
import re
import tomllib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import flask_babel
import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from hub.cli.common import prepare_data_dir
from hub.cli.main import main
from hub.core.db import connected
from hub.core.settings import load_config
from hub.core.translate import UI_LANGUAGES, console_language
from hub.learning.reports import assign
from hub.people.models import ClassGroup, Learner, StaffUser
from hub.web import i18n
from hub.web.app import create_app
from hub.web.i18n import COOKIE
from tests.conftest import ROOT

LANGUAGES = UI_LANGUAGES
SCRIPT = ROOT / "scripts" / "i18n"
FOOTER = "Learning Hub works without the internet: everything here comes from this hub."


def load_script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("i18n_script", str(SCRIPT))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


i18n_script = load_script()


def catalog(language: str) -> Catalog:
    with i18n_script.po_path(language).open("rb") as file:
        return read_po(file, locale=language)


def translated(language: str, msgid: str) -> str:
    return catalog(language)[msgid].string


# ------------------------------------------------------------------------------ catalogs


@pytest.fixture(scope="module")
def fresh_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The messages the sources hold right now (not the committed .pot)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    i18n_script.extract(pot)
    return pot


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_is_complete_and_its_placeholders_match(language, fresh_template) -> None:
    """Run `scripts/i18n` and translate what it lists when this fails (docs/translating.md)."""
    assert i18n_script.catalog_problems(language, fresh_template) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_committed_mo_files_are_compiled_from_the_po_files(language) -> None:
    assert i18n_script.stale_compiled(language) == []


def test_the_committed_template_has_every_message(fresh_template) -> None:
    def ids(path: Path) -> set:
        with path.open("rb") as file:
            return {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(file) if m.id}

    assert ids(fresh_template) == ids(i18n_script.POT)


def test_the_checker_finds_missing_fuzzy_and_changed_placeholders() -> None:
    check = i18n_script.message_problems
    assert check(Message("Hello, %(name)s!", ""), 2) == ["missing: 'Hello, %(name)s!'"]
    assert check(Message("Hi", "Salut", flags={"fuzzy"}), 2) == ["fuzzy: 'Hi'"]
    assert check(Message("Hello, %(name)s!", "Bonjour, %(nom)s !"), 2)
    assert check(Message("%(n)d s", "%(n)s s"), 2)  # %d is not %s
    assert check(Message("Hello, %(name)s!", "Bonjour, %(name)s !"), 2) == []
    lessons = ("%(num)d lesson in %(pack)s", "%(num)d lessons in %(pack)s")
    assert check(Message(lessons, ("une leçon dans %(pack)s", "%(num)d leçons")), 2)
    assert check(Message(lessons, ("une leçon dans %(pack)s", "")), 2)
    assert check(Message(lessons, ("%(num)d leçon de %(pack)s", "%(num)d leçons de %(x)s")), 2)
    assert (
        check(Message(lessons, ("une leçon dans %(pack)s", "%(num)d leçons dans %(pack)s")), 2)
        == []
    )


def test_arabic_catalog_has_the_corrected_plural_formula() -> None:
    """Babel writes a formula that swaps "many" (11-99) and "other" (100-102); babel #816."""
    assert catalog("ar").plural_forms == i18n_script.ARABIC_PLURALS
    assert Catalog(locale="ar").plural_forms != i18n_script.ARABIC_PLURALS  # still broken


def test_compiled_catalogs_ship_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = config["tool"]["setuptools"]["package-data"]["hub"]
    assert {"translations/**/*.mo", "translations/**/*.po"} <= set(shipped)
    for language in LANGUAGES:
        assert i18n_script.po_path(language).with_suffix(".mo").is_file()


# ------------------------------------------------------------------------------ a hub to visit


class Hub:
    def __init__(self, app: Flask, ids: dict[str, object]) -> None:
        self.app = app
        self.ids = ids

    def client(self, language: str | None = None, who: str | None = None) -> FlaskClient:
        client = self.app.test_client()
        if language:
            client.set_cookie(COOKIE, language)
        if who == "learner":
            signed = client.post("/api/session", json={"username": "amina-juma", "pin": "2580"})
        elif who in ("coach", "operator"):
            body = {"username": self.ids[who], "password": "password-123"}
            signed = client.post("/api/session", json=body)
        else:
            return client
        assert signed.status_code == 201, signed.json
        return client


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    data = tmp_path / "data"
    app = create_app(prepare_data_dir(load_config(data, {"load_samples": True}, environ={})))
    with connected():
        group = ClassGroup.named("4A", create=True)
        amina = Learner.add("Amina Juma", pin="2580")
        group.add_learner(amina)
        coach = StaffUser.add("Grace Coach", "coach", "password-123")
        operator = StaffUser.add("Omar Operator", "operator", "password-123")
        assign(group, "fractions-en", lesson_id="fractions-quiz", by=coach.username)
        ids = {
            "class": group.id,
            "learner": amina.id,
            "coach": coach.username,
            "operator": operator.username,
            "coach_id": coach.id,
        }
    yield Hub(app, ids)


def lesson_urls(client: FlaskClient) -> list[str]:
    urls = []
    for pack in client.get("/api/packs").json["packs"]:
        urls.append(pack["url"])
        urls += [lesson["url"] for lesson in client.get(f"/api/packs/{pack['id']}").json["lessons"]]
    return urls


def operator_pages(app: Flask) -> list[str]:
    """Every page an operator can open without arguments (not the API, files or OS probes)."""
    skip = ("api.", "captive.", "static.", "health.", "share.", "language.", "neighbours.")
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.arguments
        and not rule.endpoint.startswith(skip)
        and not rule.rule.endswith(".csv")
        and not rule.rule.startswith("/api/")
    )


def pages_for(hub: Hub, who: str | None) -> list[str]:
    ids = hub.ids
    common = ["/", "/search?q=water", "/no-such-page"]
    if who is None:
        return [
            *common,
            "/signin",
            "/signin/staff",
            f"/signin/class/{ids['class']}",
            "/signin/learner/amina-juma",
        ]
    if who == "learner":
        return common
    if who == "coach":
        return [
            "/coach/",
            f"/coach/classes/{ids['class']}",
            f"/coach/classes/{ids['class']}?pack=fractions-en",
            f"/coach/classes/{ids['class']}/assign?pack=fractions-en",
            f"/coach/learners/{ids['learner']}",
            f"/coach/classes/{ids['class']}/questions/fractions-en/fractions-quiz",
        ]
    return [
        *operator_pages(hub.app),
        f"/admin/learners/{ids['learner']}",
        f"/admin/classes/{ids['class']}",
        f"/admin/users/{ids['coach_id']}",
    ]


def words(text: str) -> str:
    """Runs of whitespace (no-break spaces too) as one space."""
    return " ".join(text.split())


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return words(html.unescape(re.sub(r"<[^>]+>", " ", page)))


def english_left(page: str, language: str) -> list[str]:
    """Interface sentences still in English on a page that should speak `language`."""
    text = visible_text(page)
    left = []
    for message in catalog(language):
        source = message.id
        if not isinstance(source, str) or "%" in source or len(source) < 16:
            continue
        if message.string and words(message.string) != words(source) and source in text:
            left.append(source)
    return left


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("who", [None, "learner", "coach", "operator"])
def test_every_page_renders_in_every_language(hub: Hub, language: str, who: str | None) -> None:
    client = hub.client(language, who)
    urls = pages_for(hub, who) + (lesson_urls(client) if who in (None, "learner") else [])
    footer = words(translated(language, FOOTER))
    for url in urls:
        response = client.get(url)
        page = response.text
        assert response.status_code < 500, (url, page[-2000:])
        if response.mimetype != "text/html" or response.status_code in (301, 302, 303):
            continue
        direction = "rtl" if language == "ar" else "ltr"
        assert f'<html lang="{language}" dir="{direction}">' in page, url
        assert footer in visible_text(page), url
        assert english_left(page, language) == [], url


def test_an_exercise_is_graded_in_the_readers_language(hub: Hub) -> None:
    client = hub.client("fr", "learner")
    url = "/lessons/fractions-en/fractions-quiz"
    page = client.get(url).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    client.post(url + "/quiz", data={"csrf_token": token, "after": "0"})
    page = client.get(url + "/quiz").text
    action = re.search(r'<form class="quiz" method="post" action="([^"]+)"', page)[1]
    question = re.search(r'name="question" value="([^"]+)"', page)[1]
    fields = {"csrf_token": token, "question": question, "answer": "0"}  # 1/2: not quite
    graded = client.post(action, data=fields, follow_redirects=True).text
    assert "Pas tout à fait." in graded


# ------------------------------------------------------------------------------ locale choice


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.text)[1]


def test_accept_language_then_the_default(tmp_path: Path) -> None:
    app = create_app(
        prepare_data_dir(
            load_config(
                tmp_path / "d", {"load_samples": False, "default_language": "sw"}, environ={}
            )
        )
    )
    client = app.test_client()
    assert html_lang(client.get("/")) == "sw"
    assert html_lang(client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"})) == "sw"
    assert html_lang(client.get("/", headers={"Accept-Language": "pt-BR,pt;q=0.9"})) == "pt"
    assert html_lang(client.get("/", headers={"Accept-Language": "de, ar;q=0.5"})) == "ar"


def test_an_unknown_default_language_falls_back_to_english(tmp_path: Path) -> None:
    app = create_app(
        prepare_data_dir(
            load_config(
                tmp_path / "d", {"load_samples": False, "default_language": "xx"}, environ={}
            )
        )
    )
    assert html_lang(app.test_client().get("/")) == "en"


def test_the_picker_beats_the_browser(client: FlaskClient) -> None:
    chosen = client.get("/language?lang=es&next=/signin", headers={"Accept-Language": "fr"})
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/signin"
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=es;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert html_lang(client.get("/", headers={"Accept-Language": "fr"})) == "es"


def test_a_learners_saved_language_beats_the_picker(hub: Hub) -> None:
    client = hub.client("fr", "learner")
    with hub.app.app_context(), connected():
        Learner.update(language="sw-KE").where(Learner.id == hub.ids["learner"]).execute()
    try:
        assert html_lang(client.get("/", headers={"Accept-Language": "es"})) == "sw"
    finally:
        with connected():
            Learner.update(language="").where(Learner.id == hub.ids["learner"]).execute()


def test_a_learner_who_picks_a_language_keeps_it_on_any_device(hub: Hub) -> None:
    client = hub.client(None, "learner")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)[1]
    try:
        picked = client.post("/language", data={"lang": "ar", "next": "/", "csrf_token": token})
        assert picked.status_code == 303
        with connected():
            assert Learner.get_by_id(hub.ids["learner"]).language == "ar"
        other_phone = hub.client("en", "learner")
        assert html_lang(other_phone.get("/")) == "ar"
    finally:
        with connected():
            Learner.update(language="").where(Learner.id == hub.ids["learner"]).execute()


def test_a_picker_post_without_its_token_changes_nothing(hub: Hub) -> None:
    client = hub.client(None, "learner")
    refused = client.post("/language", data={"lang": "ar", "next": "/"})
    assert refused.status_code == 400
    with connected():
        assert Learner.get_by_id(hub.ids["learner"]).language == ""


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "http:/evil", "\\\\evil", "javascript:x"],
)
def test_the_picker_only_sends_back_to_this_hub(client: FlaskClient, target: str) -> None:
    response = client.get("/language", query_string={"lang": "fr", "next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_the_picker_refuses_a_language_it_has_no_catalog_for(client: FlaskClient) -> None:
    response = client.get("/language?lang=de&next=/")
    assert response.status_code == 400 and "Set-Cookie" not in response.headers
    assert "no translation" in response.text


@pytest.mark.parametrize("url", ["/", "/signin", "/no-such-page"])
def test_the_picker_is_on_every_page_and_needs_no_javascript(client: FlaskClient, url: str) -> None:
    page = client.get(url, headers={"Accept-Language": "sw"}).text
    form = re.search(r'<form method="get" action="/language">.*?</form>', page, re.S)[0]
    buttons = re.findall(r'<button name="lang" value="(\w+)" lang="(\w+)" dir="(\w+)"', form)
    assert [b[0] for b in buttons] == list(LANGUAGES)
    assert ("ar", "ar", "rtl") in buttons and ("sw", "sw", "ltr") in buttons
    assert f'name="next" value="{url}"' in form
    assert ">العربية<" in form and ">Kiswahili<" in form and ">Français<" in form
    assert (
        "<script" not in re.search(r'<details class="language-picker">.*?</details>', page, re.S)[0]
    )


def test_signed_in_people_pick_with_a_post_form(hub: Hub) -> None:
    page = hub.client(None, "coach").get("/coach/").text
    assert '<form method="post" action="/language">' in page
    assert re.search(r'action="/language">\s*<input type="hidden" name="csrf_token"', page)


def test_json_errors_speak_the_readers_language(client: FlaskClient) -> None:
    response = client.get("/api/packs/nope", headers={"Accept-Language": "fr"})
    assert response.status_code == 404
    assert response.json["error"]["message"] == "Aucun paquet 'nope' n'est installé."
    unknown = client.get("/api/nothing-here", headers={"Accept-Language": "es"})
    assert unknown.json["error"]["message"] == translated(
        "es", "There is nothing at this address. Check the address, or go back."
    )


def test_responses_that_vary_by_language_also_vary_by_the_picker(app: Flask) -> None:
    @app.get("/vary-probe")
    def probe():
        return "x", 200, {"Vary": "Accept-Language"}

    assert "Cookie" in app.test_client().get("/vary-probe").headers["Vary"]


# ------------------------------------------------------------------------------ the library


def first_language_section(page: str) -> str:
    return re.search(r'<section class="language" lang="([^"]+)">', page)[1]


@pytest.mark.parametrize("language, first", [("fr", "fr"), ("sw", "sw"), ("en", "en")])
def test_the_library_puts_the_chosen_language_first(hub: Hub, language: str, first: str) -> None:
    page = hub.client(language).get("/", headers={"Accept-Language": "en"}).text
    assert first_language_section(page) == first


def test_a_lesson_in_another_language_says_so(hub: Hub) -> None:
    client = hub.client("fr")
    swahili = client.get("/lessons/afya-usafi-sw/kunawa-mikono").text
    notice = re.search(r'<p class="card notice language-notice".*?</p>', swahili, re.S)[0]
    assert "Cette leçon n'existe qu'en swahili. Voir les leçons en français" in visible_text(notice)
    assert 'href="/?lang=fr"' in notice
    french = client.get("/lessons/cycle-de-leau-fr/le-cycle-de-l-eau").text
    assert "language-notice" not in french
    arabic = hub.client("ar").get("/lessons/cycle-de-leau-fr/le-cycle-de-l-eau").text
    notice = re.search(r'<p class="card notice language-notice".*?</p>', arabic, re.S)[0]
    assert "الفرنسية" in notice and "href=" not in notice  # no Arabic lessons to point to


def test_lesson_content_keeps_its_own_direction_in_an_rtl_page(hub: Hub) -> None:
    page = hub.client("ar").get("/lessons/fractions-en/what-is-a-fraction").text
    assert '<html lang="ar" dir="rtl">' in page
    assert re.search(r'<article class="lesson[^"]*" lang="en" dir="ltr"', page)


# ------------------------------------------------------------------------------ plurals, numbers


@pytest.mark.parametrize(
    "n, expected",
    [
        (0, "لا دروس"),
        (1, "درس واحد"),
        (2, "درسان"),
        (3, "3 دروس"),
        (10, "10 دروس"),
        (11, "11 درسًا"),
        (99, "99 درسًا"),
        (100, "100 درس"),
        (102, "102 درس"),
        (111, "111 درسًا"),
    ],
)
def test_arabic_plurals_use_the_right_form(app: Flask, n: int, expected: str) -> None:
    with app.test_request_context(headers={"Accept-Language": "ar"}):
        assert flask_babel.ngettext("%(num)d lesson", "%(num)d lessons", n) == expected


def in_locale(app: Flask, language: str):
    return app.test_request_context(headers={"Accept-Language": language})


def test_numbers_dates_and_lengths_follow_the_locale(app: Flask) -> None:
    moment = int(datetime(2026, 3, 4, 14, 5).timestamp() * 1000)
    with in_locale(app, "en"):
        assert i18n.percent(0.5) == "50%" and i18n.percent(None) == ""
        assert i18n.local_time(moment) == "Mar 4, 2026, 2:05\u202fPM"
        assert i18n.clock(95) == "1:35" and i18n.clock(3723) == "1:02:03"
        assert i18n.number(1234.5) == "1,234.5"
    with in_locale(app, "fr"):
        assert i18n.percent(0.5) == "50\xa0%"
        assert i18n.local_time(moment) == "4 mars 2026, 14:05"
        assert i18n.number(1234.5) == "1\u202f234,5"
    with in_locale(app, "ar"):
        assert "50" in i18n.percent(0.5) and "%" in i18n.percent(0.5)
        assert "2026" in i18n.local_time(moment) and "م" in i18n.local_time(moment)
    with in_locale(app, "sw"):
        assert i18n.local_time(moment) == "4 Mac 2026 14:05"
    assert i18n.sortable_time(moment) == "2026-03-04 14:05"


def test_language_names() -> None:
    assert i18n.language_name("sw") == "Kiswahili"
    assert i18n.language_name("ar") == "العربية"
    assert i18n.language_name("zz-not-a-language") == "zz-not-a-language"
    assert i18n.language_name_in("sw", "fr") == "swahili"
    assert i18n.text_direction("ar") == "rtl" and i18n.text_direction("fr") == "ltr"
    assert i18n.text_direction("???") == "ltr"


def test_the_language_table_is_what_babel_says() -> None:
    """Against the locked Babel (requirements/), so a Babel release cannot break a fresh clone;
    run `scripts/i18n languages` after `scripts/lock` moves Babel on."""
    assert i18n.LANGUAGE_TABLE.read_text(encoding="utf-8") == i18n_script.language_table()


def test_naming_languages_loads_no_locale_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The picker names six languages on every page; Babel would load a locale for each."""
    from babel import localedata

    codes = ("pt-BR", "sr_Latn", "fa", "ur-PK", "sw")
    expected = {}
    for code in codes:
        locale = Locale.parse(code.replace("-", "_"))
        own = locale.get_display_name(locale)
        expected[code] = (own[:1].upper() + own[1:], locale.text_direction)

    def refuse(name: str, merge_inherited: bool = True) -> dict:
        raise AssertionError(f"locale data for {name} was loaded")

    monkeypatch.setattr(localedata, "load", refuse)
    i18n.language_name.cache_clear()
    i18n.text_direction.cache_clear()
    for code in codes:
        assert (i18n.language_name(code), i18n.text_direction(code)) == expected[code]


# ------------------------------------------------------------------------------ the CLI


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "fr_FR.UTF-8", "LC_ALL": "ar_EG.UTF-8"}, "ar"),
        ({"LANG": "sw_KE", "LC_MESSAGES": "pt_BR.utf8"}, "pt"),
        ({"LANG": "C.UTF-8", "LEARNHUB_DEFAULT_LANGUAGE": "es"}, "es"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_the_console_language(environ: dict[str, str], expected: str) -> None:
    assert console_language(environ) == expected


def test_cli_messages_speak_the_console_language(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["content", "list", "--data", str(tmp_path / "data")]
    quiet = {"LC_ALL": None, "LC_MESSAGES": None, "LEARNHUB_LOAD_SAMPLES": "false"}
    french = runner.invoke(main, args, env={**quiet, "LANG": "fr_FR.UTF-8"})
    assert french.exit_code == 0 and french.output.strip() == "La bibliothèque est vide."
    english = runner.invoke(main, args, env={**quiet, "LANG": "C.UTF-8"})
    assert english.output.strip() == "The library is empty."
    swahili = runner.invoke(
        main,
        ["content", "remove", "nope", "--data", str(tmp_path / "data")],
        env={**quiet, "LANG": "sw_TZ.UTF-8"},
    )
    assert swahili.exit_code == 1
    assert "Hakuna kifurushi chenye kitambulisho 'nope' kilichowekwa." in swahili.output
