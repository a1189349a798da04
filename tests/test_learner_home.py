"""A learner's start page (continue where you left off, work assigned to their class) and the
hooks lesson pages give progress.js and the reading's reporter."""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.core.db import connected
from hub.learning.learner_home import learner_home
from hub.people.models import Assignment, ClassGroup, Learner
from tests.content_helpers import sample_files, sample_manifest, write_pack_dir
from tests.progress_helpers import add_coach, add_learner, sign_in, sign_in_staff

PACK = "fractions-en"


@pytest.fixture
def hub(app: Flask, tmp_path: Path) -> Flask:
    """The sample pack; Amina in class 4B, Baraka in no class."""
    outcome = app.extensions["library"].import_paths(
        [write_pack_dir(tmp_path / "pack", sample_manifest(), sample_files())]
    )
    assert outcome[0].error is None, outcome[0].error
    with connected():
        add_learner("Amina Juma", class_name="4B")
        add_learner("Baraka Ali")
    return app


def client_for(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    sign_in(client, username)
    return client


def report(client: FlaskClient, lesson_id: str, **fields: object) -> None:
    body = {"pack_id": PACK, "lesson_id": lesson_id, "type": "progress", **fields}
    assert client.post("/api/progress", json=body).status_code == 201


def assign(class_name: str, lesson_id: str | None = None, topic_id: str | None = None) -> None:
    with connected():
        group = ClassGroup.named(class_name, create=True)
        Assignment.create(
            class_group=group,
            pack_id=PACK,
            lesson_id=lesson_id,
            topic_id=topic_id,
            assigned_by="coach-carter",
        )


def section(html: str, title: str) -> str:
    """The <section> whose heading is `title` ('' when there is none)."""
    match = re.search(
        rf"<section[^>]*>\s*<h2[^>]*>{re.escape(title)}</h2>(.*?)</section>", html, re.S
    )
    return match[1] if match else ""


def test_visitors_see_only_the_library(hub: Flask) -> None:
    page = hub.test_client().get("/").text
    assert "Continue where you left off" not in page and "learner.css" not in page
    assert "<h1>Library</h1>" in page


def test_a_new_learner_is_told_where_to_start(hub: Flask) -> None:
    page = client_for(hub, "baraka-ali").get("/").text
    assert "Pick a lesson from the library below" in page
    assert "Continue where you left off" not in page and "Assigned to your class" not in page
    assert page.index("Pick a lesson") < page.index("<h1>Library</h1>")
    assert "css/learner.css" in page


def test_continue_lists_started_lessons_newest_first_with_bars(hub: Flask) -> None:
    amina = client_for(hub, "amina-juma")
    report(amina, "intro-video", progress=0.4, time_spent=30)
    report(amina, "halves", progress=0.25, time_spent=10)
    report(amina, "pie-game", type="completed", time_spent=60)  # finished: not "continue"
    page = amina.get("/").text
    shown = section(page, "Continue where you left off")
    assert shown.index("Halves") < shown.index("What is a fraction?")
    assert "Pie game" not in shown
    # A native <progress>: a bar without JavaScript or inline styles.
    assert re.search(r'<progress max="100" value="25"[^>]*>25%</progress>', shown)
    assert re.search(r'<progress max="100" value="40"[^>]*>40%</progress>', shown)
    assert 'href="/lessons/fractions-en/halves"' in shown
    assert page.index("Continue where you left off") < page.index("<h1>Library</h1>")


def test_continue_skips_lessons_no_longer_installed(hub: Flask) -> None:
    amina = client_for(hub, "amina-juma")
    report(amina, "halves", progress=0.5)
    lib = hub.extensions["library"]
    with connected():
        lib.remove(PACK)
    page = amina.get("/").text
    assert "Halves" not in page and "Pick a lesson" in page


def test_a_topic_assignment_lists_its_lessons_with_their_status(hub: Flask) -> None:
    assign("4B", topic_id="intro")  # halves, intro-video, and its sub-topic's check-1
    amina = client_for(hub, "amina-juma")
    report(amina, "halves", type="completed")
    report(amina, "intro-video", progress=0.3)
    page = amina.get("/").text
    shown = section(page, "Assigned to your class")
    assert "Introduction" in shown and "1 of 3 done" in shown
    items = re.findall(r'<li class="status-([a-z_]+)"><a href="[^"]+"[^>]*>([^<]+)</a>', shown)
    assert items == [
        ("completed", "Halves"),
        ("in_progress", "What is a fraction?"),
        ("not_started", "Check"),
    ]
    assert '<progress max="3" value="1"' in shown


def test_the_first_card_is_the_one_lesson_to_do_next(hub: Flask) -> None:
    assign("4B", topic_id="intro")
    amina = client_for(hub, "amina-juma")
    card = section(amina.get("/").text, "Do this next")
    assert 'href="/lessons/fractions-en/halves"' in card  # nothing started: the first assigned
    assert "this week" not in card
    report(amina, "halves", type="completed")
    report(amina, "pie-game", type="completed")
    report(amina, "intro-video", progress=0.3)
    card = section(amina.get("/").text, "Do this next")
    assert 'href="/lessons/fractions-en/intro-video"' in card  # the one left unfinished
    assert "You finished 2 lessons this week." in card


def test_the_week_counts_only_lessons_finished_in_the_last_seven_days(hub: Flask) -> None:
    amina = client_for(hub, "amina-juma")
    report(amina, "halves", type="completed")
    with connected():
        learner = Learner.get(Learner.username == "amina-juma")
        assert learner_home(learner).done_this_week == 1
        eight_days_on = int(time.time() * 1000) + 8 * 24 * 3600 * 1000
        assert learner_home(learner, now_ms=eight_days_on).done_this_week == 0


def test_signing_out_asks_first(hub: Flask) -> None:
    assert hub.test_client().get("/signout").status_code == 303  # nobody to sign out
    amina = client_for(hub, "amina-juma")
    page = amina.get("/signout").text
    assert "Are you Amina Juma?" in page and 'method="post" action="/signout"' in page
    assert amina.get("/api/progress/me").status_code == 200  # still in


def test_a_lesson_assignment_shows_once_even_if_set_for_two_classes(hub: Flask) -> None:
    with connected():
        amina = Learner.by_username("amina-juma")
        ClassGroup.named("Reading club", create=True).add_learner(amina)
    assign("4B", lesson_id="check-1")
    assign("Reading club", lesson_id="check-1")
    amina = client_for(hub, "amina-juma")
    answers = {"q1": 1, "q2": [0, 2], "q3": 0.5, "q4": "eau"}
    url = f"/api/lessons/{PACK}/check-1/attempts"
    assert amina.post(url, json={"answers": answers}).status_code == 201
    shown = section(amina.get("/").text, "Assigned to your class")
    assert shown.count(">Check</a>") == 1 and "Done" in shown


def test_other_classes_assignments_and_missing_lessons_are_not_shown(hub: Flask) -> None:
    assign("5A", lesson_id="halves")  # not Amina's class
    assign("4B", lesson_id="removed-lesson")
    page = client_for(hub, "amina-juma").get("/").text
    assert "Assigned to your class" not in page
    assert "Assigned to your class" not in client_for(hub, "baraka-ali").get("/").text


def test_filtering_the_library_hides_the_learner_sections(hub: Flask) -> None:
    amina = client_for(hub, "amina-juma")
    report(amina, "halves", progress=0.5)
    assert "Continue where you left off" in amina.get("/").text
    assert "Continue where you left off" not in amina.get("/?lang=en").text


def test_a_coach_sees_the_plain_library(hub: Flask) -> None:
    with connected():
        coach = add_coach()
    client = hub.test_client()
    sign_in_staff(client, coach.username)
    page = client.get("/").text
    assert "Continue where you left off" not in page and "Pick a lesson" not in page


# --- hooks on lesson pages -------------------------------------------------------------------


def test_lesson_pages_are_marked_for_tracking_only_for_learners(hub: Flask) -> None:
    visitor = hub.test_client().get("/lessons/fractions-en/intro-video").text
    assert "data-track" not in visitor and "progress.js" not in visitor
    page = client_for(hub, "amina-juma").get("/lessons/fractions-en/intro-video").text
    article = re.search(r"<article [^>]*>", page)[0]
    assert 'data-track="1"' in article and 'data-pack="fractions-en"' in article
    assert 'data-lesson="intro-video"' in article and 'data-kind="video"' in article
    assert 'data-report="/api/progress"' in article
    assert re.search(r'<script defer src="/static/js/progress\.js\?v=[0-9a-f]+"></script>', page)
    with connected():
        coach = add_coach()
    client = hub.test_client()
    sign_in_staff(client, coach.username)
    assert "data-track" not in client.get("/lessons/fractions-en/intro-video").text


def test_a_finished_lesson_says_done_and_offers_the_next_to_its_learner_only(hub: Flask) -> None:
    amina = client_for(hub, "amina-juma")
    page = amina.get("/lessons/fractions-en/halves").text
    assert re.search(r'<p class="done-note" hidden>', page)  # shown by progress.js on finishing
    report(amina, "halves", type="completed")
    page = amina.get("/lessons/fractions-en/halves").text
    assert '<p class="done-note">Done ✓</p>' in page
    assert re.search(
        r'<p class="onward"><a class="button primary next-lesson" '
        r'href="/lessons/fractions-en/intro-video">',
        page,
    )
    visitor = hub.test_client().get("/lessons/fractions-en/halves").text
    assert "done-note" not in visitor and "next-lesson" not in visitor


def test_a_video_resumes_at_the_second_last_reported(hub: Flask) -> None:
    amina = client_for(hub, "amina-juma")
    assert "data-resume" not in amina.get("/lessons/fractions-en/intro-video").text
    report(amina, "intro-video", progress=0.1, position=4.0)
    report(amina, "intro-video", progress=0.2, position=12.5)
    page = amina.get("/lessons/fractions-en/intro-video").text
    assert 'data-resume="12.5"' in page and 'preload="none"' in page
    assert "data-resume" not in hub.test_client().get("/lessons/fractions-en/intro-video").text


def test_the_reading_frame_allows_scripts_but_not_its_origin(hub: Flask) -> None:
    page = hub.test_client().get("/lessons/fractions-en/halves").text
    frame = re.search(r"<iframe [^>]*>", page)[0]
    assert 'sandbox="allow-scripts allow-popups"' in frame and "allow-same-origin" not in page


def test_a_reading_carries_the_reporter_and_a_csp_allowing_only_it(hub: Flask) -> None:
    client = hub.test_client()
    response = client.get("/files/fractions-en/halves/index.html")
    assert response.status_code == 200
    body = response.text
    assert body.startswith("<!doctype html><h1>Halves</h1>")  # the pack's page, untouched
    script = re.search(r'<script src="(/static/js/article-reporter\.js\?v=[0-9a-f]+)" defer>', body)
    assert script and body.rstrip().endswith("</script>")
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["sandbox"] == "allow-scripts allow-popups"
    assert directives["script-src"] == "http://localhost/static/js/article-reporter.js"
    assert "'unsafe-inline'" not in directives["script-src"]
    for name, value in (("object-src", "'none'"), ("connect-src", "'none'")):
        assert directives[name] == value
    assert directives["frame-src"] == "'self'" and directives["base-uri"] == "'none'"
    assert client.get(script[1]).status_code == 200


def test_a_reading_revalidates_and_gzips(hub: Flask) -> None:
    client = hub.test_client()
    url = "/files/fractions-en/halves/index.html"
    plain = client.get(url)
    assert client.get(url, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert gzip.decompress(zipped.data).decode() == plain.text
    head = client.head(url)
    assert head.status_code == 200 and head.data == b""


def test_a_hostile_host_header_gets_no_script_at_all(hub: Flask) -> None:
    client = hub.test_client()
    response = client.get(
        "/files/fractions-en/halves/index.html", headers={"Host": "x; script-src *"}
    )
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'none'" in policy and "allow-scripts" not in policy
    assert "article-reporter" not in response.text


def test_other_pack_files_keep_the_strict_policy(hub: Flask) -> None:
    client = hub.test_client()
    svg = client.get("/files/fractions-en/halves/pie.svg")
    assert "script-src 'none'" in svg.headers["Content-Security-Policy"]
    assert b"article-reporter" not in svg.data
