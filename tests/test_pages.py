"""Pages and API through the app: library order, topics, navigation, exercises, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.cli.common import prepare_data_dir
from tests.content_helpers import sample_files, sample_manifest, write_pack_dir
from tests.test_admin import csrf


@pytest.fixture
def library(app: Flask, tmp_path: Path) -> Flask:
    """The test app with an English pack and a French one."""
    lib = app.extensions["library"]
    french = sample_manifest(id="fractions-fr", title="Les fractions", language="fr")
    french["subjects"] = ["mathématiques"]
    for name, manifest in (("en", sample_manifest()), ("fr", french)):
        outcome = lib.import_paths([write_pack_dir(tmp_path / name, manifest, sample_files())])
        assert outcome[0].error is None, outcome[0].error
    return app


@pytest.fixture
def browse(library: Flask) -> FlaskClient:
    return library.test_client()


def headings(html: str) -> list[str]:
    return re.findall(r"<h2>([^<]+)</h2>", html)


def test_home_puts_the_readers_language_first(browse: FlaskClient) -> None:
    french_first = browse.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}).text
    assert headings(french_first) == ["Français", "English"]
    english_first = browse.get("/", headers={"Accept-Language": "en"}).text
    assert headings(english_first) == ["English", "Français"]


def test_home_filters_by_language_and_subject(browse: FlaskClient) -> None:
    page = browse.get("/?lang=fr").text
    assert "Les fractions" in page and ">Fractions<" not in page
    page = browse.get("/?subject=mathematics").text
    assert ">Fractions<" in page and "Les fractions" not in page
    page = browse.get("/?subject=<script>alert(1)</script>").text
    assert "<script>alert" not in page and "No packs match" in page


def test_pack_page_shows_the_topic_tree(browse: FlaskClient) -> None:
    page = browse.get("/packs/fractions-en").text
    assert "<h2>Introduction</h2>" in page and "<h3>Practice</h3>" in page
    assert page.index("Halves") < page.index("What is a fraction?") < page.index("Check")
    assert "More lessons" in page and "Pie game" in page  # a lesson in no topic


def test_previous_and_next_within_the_topic(browse: FlaskClient) -> None:
    page = browse.get("/lessons/fractions-en/halves").text
    assert 'rel="next" href="/lessons/fractions-en/intro-video"' in page
    assert 'rel="prev"' not in page
    body = browse.get("/api/lessons/fractions-en/intro-video").json
    assert body["previous"]["lesson_id"] == "halves" and body["next"] is None


def test_every_kind_is_rendered(browse: FlaskClient) -> None:
    assert "<iframe" in browse.get("/lessons/fractions-en/halves").text
    video = browse.get("/lessons/fractions-en/intro-video").text
    assert "<video" in video and '<track kind="subtitles" srclang="en"' in video
    assert "A fraction is a part." in video  # the transcript, readable without playing
    assert (
        'sandbox="allow-scripts allow-popups"' in browse.get("/lessons/fractions-en/pie-game").text
    )
    assert "Licence: CC-BY-4.0" in browse.get("/lessons/fractions-en/check-1").text


def test_posting_to_a_reading_is_refused(browse: FlaskClient) -> None:
    # With the session's token: the reading refuses the post, not the CSRF check.
    response = browse.post("/lessons/fractions-en/halves", data={"csrf_token": csrf(browse)})
    assert response.status_code == 405


def test_api_lists_packs_and_hides_answers(browse: FlaskClient) -> None:
    packs = browse.get("/api/packs").json["packs"]
    assert {p["id"] for p in packs} == {"fractions-en", "fractions-fr"}
    detail = browse.get("/api/packs/fractions-en").json
    assert detail["topics"][0]["topics"][0]["lessons"] == ["check-1"]
    quiz = browse.get("/api/lessons/fractions-en/check-1").json
    assert quiz["exercise"]["mastery"] == {"correct": 2, "of": 3}
    assert "answer" not in str(quiz["exercise"]["questions"])


@pytest.mark.parametrize(
    "path",
    [
        "/lessons/fractions-en/nope",
        "/lessons/no-pack/halves",
        "/packs/" + "x" * 5000,
        "/files/fractions-en/../../../etc/passwd",
        "/files/fractions-en/%2e%2e/secret",
        "/blobs/not-a-hash",
        "/blobs/" + "0" * 64,
        "/apps/fractions-en/halves/index.html",
        "/apps/fractions-en/pie-game/../../etc/passwd",
        "/apps/fractions-en/pie-game/missing.js",
    ],
)
def test_unknown_or_hostile_paths_are_404(browse: FlaskClient, path: str) -> None:
    response = browse.get(path)
    assert response.status_code == 404
    assert "Traceback" not in response.text


def test_app_files_come_from_inside_the_zip(browse: FlaskClient) -> None:
    response = browse.get("/apps/fractions-en/pie-game/app.js")
    assert response.status_code == 200 and response.data == b"1;"
    etag = response.headers["ETag"]
    again = browse.get("/apps/fractions-en/pie-game/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_unexpected_error_is_a_friendly_500(config, caplog: pytest.LogCaptureFixture) -> None:
    from hub.web.app import create_app

    app = create_app(prepare_data_dir(config))

    def broken() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/broken", view_func=broken)
    app.add_url_rule("/api/broken", view_func=broken)
    client = app.test_client()
    page = client.get("/broken")
    assert page.status_code == 500
    assert "Something went wrong" in page.text and "a bug" not in page.text
    body = client.get("/api/broken")
    assert body.status_code == 500 and body.json["error"]["code"] == "internal_server_error"
    assert "a bug" in caplog.text  # the operator's log keeps the detail


def test_pages_follow_a_library_change_made_by_another_process(
    browse: FlaskClient, config, tmp_path: Path
) -> None:
    """Pages are cached until the library changes, wherever the change was made."""
    from click.testing import CliRunner

    from hub.cli.main import main

    assert "Later pack" not in browse.get("/").text
    assert browse.get("/lessons/fractions-en/halves").status_code == 200
    later = write_pack_dir(
        tmp_path / "later", sample_manifest(id="later-pack", title="Later pack"), sample_files()
    )
    runner = CliRunner()
    data = str(config.data_dir)
    assert runner.invoke(main, ["content", "import", "--data", data, str(later)]).exit_code == 0
    assert "Later pack" in browse.get("/").text
    assert runner.invoke(main, ["content", "remove", "--data", data, "fractions-en"]).exit_code == 0
    assert browse.get("/lessons/fractions-en/halves").status_code == 404
