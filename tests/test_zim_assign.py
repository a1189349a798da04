"""A coach assigns a ZIM article like a lesson, through a real hub: the article page's form
(CSRF-checked, coaches only), the class page listing it, the learner's home showing it with a
link to the article on the hub, and reading it marking it done."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from html import unescape

import pytest

from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.people.models import ClassGroup
from hub.web.app import create_app
from tests.conftest import LiveServer
from tests.progress_helpers import Session, add_coach, add_learner, prepare_hub
from tests.zim_helpers import RAY

pytestmark = [pytest.mark.server]

ZIM = "wikipedia_en_ray_charles"
ARTICLE = f"/zims/{ZIM}/read/A/Ray_Charles"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("zim-assign") / "data"
    prepare_hub(data, packs=[RAY], samples=False)
    create_app(prepare_data_dir(load_config(data, {"load_samples": False}, environ={})))
    with connected():
        add_coach()
        add_learner("Zim Learner", class_name="Readers")
        add_learner("Other Learner", class_name="Others")
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def _page(session: Session, path: str) -> tuple[int, str]:
    try:
        with session.opener.open(session.base_url + path, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read().decode()


def _post_form(session: Session, path: str, fields: dict[str, str]) -> tuple[int, str, str]:
    """(status, final URL, body), following the 303 as a browser does."""
    data = urllib.parse.urlencode(fields).encode()
    try:
        with session.opener.open(session.base_url + path, data=data, timeout=30) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, "", err.read().decode()


def _form_fields(html: str) -> dict[str, str]:
    form = re.search(r'<form class="zim-assign".*?</form>', html, re.S)
    assert form, "no assign form on the page"
    fields = {
        name: unescape(value)
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0))
    }
    return fields


def _coach(hub: LiveServer) -> Session:
    session = Session(hub.url)
    status, body = session.call(
        "POST", "/api/session", {"username": "coach-carter", "password": "coach-password"}
    )
    assert status == 201, body
    return session


def test_a_coach_assigns_a_zim_article_and_the_learner_reads_it(hub: LiveServer) -> None:
    coach = _coach(hub)
    status, html = _page(coach, ARTICLE)
    assert status == 200
    fields = _form_fields(html)
    assert fields["pack_id"] == f"zim:{ZIM}" and fields["lesson_id"] == "A/Ray_Charles"
    with connected():
        readers = ClassGroup.named("Readers")
    assert readers is not None
    status, url, page = _post_form(
        coach, "/coach/assignments", fields | {"class_id": str(readers.id)}
    )
    assert status == 200 and url.endswith(f"/coach/classes/{readers.id}#assignments")
    assert "Ray Charles" in page and "Library article" in page

    learner = Session(hub.url)
    learner.sign_in("zim-learner")
    status, home = _page(learner, "/")
    assert status == 200
    assert f'href="{ARTICLE}"' in home and "Not started" in home
    status, _ = _page(learner, ARTICLE)  # reading it is all an article asks
    assert status == 200
    status, home = _page(learner, "/")
    assert "Done" in home.split('id="assigned-title"')[1]

    other = Session(hub.url)
    other.sign_in("other-learner")
    assert ARTICLE not in _page(other, "/")[1]  # the other class was not given it


def test_the_form_needs_its_csrf_token_and_a_coach(hub: LiveServer) -> None:
    coach = _coach(hub)
    fields = _form_fields(_page(coach, ARTICLE)[1])
    forged = fields | {"csrf_token": "forged", "class_id": "1"}
    status, _, body = _post_form(coach, "/coach/assignments", forged)
    assert status == 400 and "This form has expired" in body
    learner = Session(hub.url)
    learner.sign_in("zim-learner")
    assert 'class="zim-assign"' not in _page(learner, ARTICLE)[1]
    token = re.search(r'name="csrf_token" value="([^"]+)"', _page(learner, "/")[1])
    assert token, "no form with a token on the learner's home"
    mine = fields | {"class_id": "1", "csrf_token": token.group(1)}
    assert _post_form(learner, "/coach/assignments", mine)[0] == 403


def test_only_articles_of_the_library_can_be_assigned(hub: LiveServer) -> None:
    coach = _coach(hub)
    fields = _form_fields(_page(coach, ARTICLE)[1]) | {"class_id": "1"}
    for pack_id, lesson_id in (
        (f"zim:{ZIM}", "A/No_such_article"),
        ("zim:no_such_zim", "A/Ray_Charles"),
        (f"zim:{ZIM}", "A/" + "x" * 80),
    ):
        status, _, body = _post_form(
            coach, "/coach/assignments", fields | {"pack_id": pack_id, "lesson_id": lesson_id}
        )
        assert status == 400 and "not in the library" in body, (pack_id, lesson_id, status)
    assert _post_form(coach, "/coach/assignments", fields | {"class_id": "x"})[0] == 400
    assert _post_form(coach, "/coach/assignments", fields | {"class_id": "999"})[0] == 404
