"""Coach reports: the grid, learner detail, question difficulty, assignments, CSV and SVG."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter
from werkzeug.security import generate_password_hash

from hub.core.db import connected, db
from hub.learning import reports
from hub.library.models import Lesson, PackFile
from hub.people import models as people
from hub.people.models import Assignment, ClassGroup, Learner, StaffUser
from hub.web import charts
from hub.web.views.coach import attachment, safe_cell
from tests.content_helpers import EXERCISE, PACK_ID, sample_files, sample_manifest, write_pack_dir
from tests.test_admin import csrf

HOSTILE_PROMPT = 'Which is <b>one</b> half & "why"?'
COACH_PASSWORD = "coach-pass-1"
SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class School:
    app: Flask
    class_4b: int
    class_5a: int
    amina: int  # needs help on check-1, completed halves
    zoe: int  # in progress on the video, mastered check-1
    formula: int  # a name that is a spreadsheet formula; never started anything
    bo: int  # in 5A, not 4B

    def record(self, learner: int, lesson: str, kind: str, **fields: object) -> None:
        with connected():
            self.app.extensions["events"].record(learner, PACK_ID, lesson, kind, fields)

    def attempt(self, learner: int, correct: dict[str, bool], mastered: bool = False) -> None:
        score = sum(correct.values()) / len(correct)
        self.record(learner, "check-1", "attempt", score=score, correct=correct, mastered=mastered)


def answers(q1: bool, q2: bool, q3: bool, q4: bool) -> dict[str, bool]:
    return {"q1": q1, "q2": q2, "q3": q3, "q4": q4}


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap password hashes: these tests are about reports, and scrypt was most of their time."""
    monkeypatch.setattr(
        people, "hash_secret", lambda secret: generate_password_hash(secret, "pbkdf2:sha256:1000")
    )


@pytest.fixture
def school(app: Flask, tmp_path: Path) -> School:
    exercise = copy.deepcopy(EXERCISE)
    exercise["questions"][0]["prompt"] = HOSTILE_PROMPT
    files = {**sample_files(), "check-1.json": json.dumps(exercise).encode()}
    manifest = sample_manifest()
    manifest["lessons"][3]["title"] = "=Pie game"  # a formula, to prove CSV cells are safe
    outcome = app.extensions["library"].import_paths(
        [write_pack_dir(tmp_path / "pack", manifest, files)]
    )
    assert outcome[0].error is None, outcome[0].error
    with connected():
        StaffUser.add("Cara Coach", "coach", COACH_PASSWORD)
        StaffUser.add("Otto Operator", "operator", "operator-pass-1")
        group, other = ClassGroup.named("4B", create=True), ClassGroup.named("5A", create=True)
        people = {
            "amina": Learner.add("Amina Juma", pin="1234"),
            "zoe": Learner.add("Zoë Ñandú"),
            "formula": Learner.add('=HYPERLINK("http://evil.example","x")'),
        }
        for learner in people.values():
            group.add_learner(learner)
        bo = Learner.add("Bo")
        other.add_learner(bo)
    found = School(app, group.id, other.id, bo=bo.id, **{k: v.id for k, v in people.items()})
    found.record(found.amina, "halves", "completed", progress=1.0, time_spent=120)
    found.attempt(found.amina, answers(False, False, True, False))
    found.attempt(found.amina, answers(True, False, True, False))
    found.attempt(found.amina, answers(False, False, True, True))
    found.record(found.zoe, "intro-video", "progress", progress=0.4, time_spent=30)
    found.attempt(found.zoe, answers(True, True, True, True), mastered=True)
    found.attempt(found.bo, answers(False, False, False, False))
    return found


def sign_in(client: FlaskClient, username: str, **secret: str) -> None:
    response = client.post("/api/session", json={"username": username, **secret})
    assert response.status_code == 201, response.text


@pytest.fixture
def coach(school: School) -> FlaskClient:
    client = school.app.test_client()
    sign_in(client, "cara-coach", password=COACH_PASSWORD)
    return client


def token(client: FlaskClient, path: str = "/coach/") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)[1]


def assign(client: FlaskClient, class_id: int, **target: str):
    data = {"csrf_token": token(client), "pack_id": PACK_ID, **target}
    return client.post(f"/coach/classes/{class_id}/assignments", data=data)


class TableReader(HTMLParser):
    """The rows of the first <table class="grid">: (row header text, [cell classes], [texts])."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str], list[str]]] = []
        self.headers: list[str] = []
        self._where: list[str] = []
        self._text = ""
        self._in_grid = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "table" and "grid" in (attributes.get("class") or ""):
            self._in_grid = True
        if not self._in_grid:
            return
        if tag in ("thead", "tbody", "tfoot"):
            self._where.append(tag)
        elif tag == "tr" and self._where[-1:] == ["tbody"]:
            self.rows.append(("", [], []))
        elif tag in ("th", "td"):
            self._text = ""
            if tag == "td" and self._where[-1:] == ["tbody"]:
                self.rows[-1][1].append(attributes.get("class") or "")

    def handle_endtag(self, tag: str) -> None:
        if not self._in_grid:
            return
        if tag == "table":
            self._in_grid = False
        elif tag in ("thead", "tbody", "tfoot"):
            self._where.pop()
        elif tag in ("th", "td"):
            text = " ".join(self._text.split())
            if self._where[-1:] == ["thead"]:
                self.headers.append(text)
            elif self._where[-1:] == ["tbody"] and tag == "th":
                self.rows[-1] = (text, self.rows[-1][1], self.rows[-1][2])
            elif self._where[-1:] == ["tbody"]:
                self.rows[-1][2].append(text)

    def handle_data(self, data: str) -> None:
        self._text += data


def read_grid(html: str) -> TableReader:
    reader = TableReader()
    reader.feed(html)
    return reader


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(found) for found in re.findall(r"<svg.*?</svg>", html, re.S)]


def coach_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, URL) of the coach blueprint, with made-up ids."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("coach."):
                continue
            values = {
                arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x"
                for arg in rule.arguments
            }
            url = url_for(rule.endpoint, **values)
            found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


# ------------------------------------------------------------------------------- roles


def test_every_coach_route_wants_a_coach(school: School) -> None:
    routes = coach_routes(school.app)
    assert len(routes) >= 9 and ("POST", "/coach/classes/1/assignments") in routes
    anonymous = school.app.test_client()
    learner = school.app.test_client()
    sign_in(learner, "amina-juma", pin="1234")
    for method, url in routes:
        # With the session's token: the role is checked, not the form's token.
        sent = anonymous.open(url, method=method, data={"csrf_token": csrf(anonymous)})
        assert sent.status_code == 401, (method, url)
        sent = learner.open(url, method=method, data={"csrf_token": csrf(learner)})
        assert sent.status_code == 403, (method, url)


def test_operators_may_look_too(school: School) -> None:
    client = school.app.test_client()
    sign_in(client, "otto-operator", password="operator-pass-1")
    assert client.get(f"/coach/classes/{school.class_4b}").status_code == 200
    assert client.get(f"/coach/learners/{school.amina}.csv").status_code == 200


def test_unknown_things_are_404(coach: FlaskClient, school: School) -> None:
    assert coach.get("/coach/classes/999").status_code == 404
    assert coach.get("/coach/learners/999").status_code == 404
    assert coach.get(f"/coach/classes/{school.class_4b}?pack=nope").status_code == 404
    questions = f"/coach/classes/{school.class_4b}/questions/{PACK_ID}"
    assert coach.get(f"{questions}/halves").status_code == 404  # not an exercise
    assert coach.get(f"{questions}/nope").status_code == 404


# ------------------------------------------------------------------------------- assignments


def test_assigning_a_topic_expands_to_its_lessons_and_sub_topics(
    coach: FlaskClient, school: School
) -> None:
    response = assign(coach, school.class_4b, topic_id="intro")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/coach/classes/{school.class_4b}#assignments")
    assert assign(coach, school.class_4b, lesson_id="pie-game").status_code == 303
    assert assign(coach, school.class_4b, topic_id="intro").status_code == 303  # twice: one row
    with connected():
        rows = Assignment.for_class(ClassGroup.get_by_id(school.class_4b))
        assert [(a.topic_id, a.lesson_id, a.assigned_by) for a in rows] == [
            (None, "pie-game", "cara-coach"),
            ("intro", None, "cara-coach"),
        ]
        items = reports.assigned_items(ClassGroup.get_by_id(school.class_4b))
        lessons = [lesson.lesson_id for lesson in reports.assigned_lessons(items)]
    # "practice" is a sub-topic of "intro": its exercise comes with it, after intro's own lessons
    assert lessons == ["halves", "intro-video", "check-1", "pie-game"]
    grid = read_grid(coach.get(f"/coach/classes/{school.class_4b}").text)
    assert grid.headers[1:] == ["Halves", "What is a fraction?", "Check Questions", "=Pie game"]


def test_assigning_a_sub_topic_alone(coach: FlaskClient, school: School) -> None:
    assign(coach, school.class_4b, topic_id="practice")
    grid = read_grid(coach.get(f"/coach/classes/{school.class_4b}").text)
    assert grid.headers[1:] == ["Check Questions"]


def test_assignment_page_lists_topics_and_lessons(coach: FlaskClient, school: School) -> None:
    page = coach.get(f"/coach/classes/{school.class_4b}/assign").text
    assert f'<option value="{PACK_ID}"' in page
    page = coach.get(f"/coach/classes/{school.class_4b}/assign?pack={PACK_ID}").text
    assert page.count('name="topic_id"') == 2 and page.count('name="lesson_id"') == 4
    assign(coach, school.class_4b, lesson_id="halves")
    page = coach.get(f"/coach/classes/{school.class_4b}/assign?pack={PACK_ID}").text
    assert page.count('name="lesson_id"') == 3 and "Assigned" in page


@pytest.mark.parametrize(
    "target",
    [
        {"lesson_id": "nope"},
        {"topic_id": "nope"},
        {"pack_id": "nope", "lesson_id": "halves"},
        {},
        {"lesson_id": "halves", "topic_id": "intro"},
    ],
)
def test_bad_assignments_are_refused_in_one_sentence(
    coach: FlaskClient, school: School, target: dict[str, str]
) -> None:
    response = assign(coach, school.class_4b, **target)
    assert response.status_code == 400
    message = re.search(r"<p>([^<]+)</p>", response.text)[1]
    assert message.endswith(".") and message.count(".") == 1 and "Traceback" not in response.text
    with connected():
        assert Assignment.select().count() == 0


def test_removing_an_assignment(coach: FlaskClient, school: School) -> None:
    assign(coach, school.class_4b, topic_id="intro")
    with connected():
        assignment_id = Assignment.get().id
    other = f"/coach/classes/{school.class_5a}/assignments/{assignment_id}/remove"
    assert coach.post(other, data={"csrf_token": token(coach)}).status_code == 404
    mine = f"/coach/classes/{school.class_4b}/assignments/{assignment_id}/remove"
    page = coach.get(f"/coach/classes/{school.class_4b}").text
    assert f'action="{mine}"' in page
    assert coach.post(mine, data={"csrf_token": token(coach)}).status_code == 303
    with connected():
        assert Assignment.select().count() == 0
    assert coach.post(mine, data={"csrf_token": token(coach)}).status_code == 404


def test_forms_without_the_csrf_token_change_nothing(coach: FlaskClient, school: School) -> None:
    assign(coach, school.class_4b, topic_id="intro")
    with connected():
        assignment_id = Assignment.get().id
    url = f"/coach/classes/{school.class_4b}/assignments"
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        response = coach.post(url, data={**data, "pack_id": PACK_ID, "lesson_id": "halves"})
        assert response.status_code == 400 and "This form has expired" in response.text
        remove = coach.post(f"{url}/{assignment_id}/remove", data=data)
        assert remove.status_code == 400
    with connected():
        assert [a.topic_id for a in Assignment.select()] == ["intro"]


def test_an_assignment_gone_from_the_library_is_shown_not_fatal(
    coach: FlaskClient, school: School
) -> None:
    with connected():
        Assignment.create(
            class_group=school.class_4b, pack_id="old-pack", lesson_id="gone", assigned_by="x"
        )
    page = coach.get(f"/coach/classes/{school.class_4b}").text
    assert "No longer in the library" in page and "old-pack / gone" in page
    assert "Nothing is assigned to this class yet." in page  # the grid has no lessons


# ------------------------------------------------------------------------------- the grid


def test_grid_statuses(coach: FlaskClient, school: School) -> None:
    assign(coach, school.class_4b, topic_id="intro")
    page = coach.get(f"/coach/classes/{school.class_4b}").text
    grid = read_grid(page)
    rows = {name: (classes, texts) for name, classes, texts in grid.rows}
    # learners by name (the formula sorts first), escaped, never run
    assert list(rows) == ['=HYPERLINK("http://evil.example","x")', "Amina Juma", "Zoë Ñandú"]
    assert rows["Amina Juma"][0] == ["cell-completed", "cell-not_started", "cell-needs_help"]
    assert rows["Zoë Ñandú"][0] == ["cell-not_started", "cell-in_progress", "cell-completed"]
    assert set(rows['=HYPERLINK("http://evil.example","x")'][0]) == {"cell-not_started"}
    # words as well as colours: every cell says its status
    # a scored lesson (the quiz check-1) shows its best score, as the learner's page does
    assert rows["Amina Juma"][1] == ["✓ Completed", "○ Not started", "! Needs help 50%"]
    assert rows["Zoë Ñandú"][1][2] == "✓ Completed 100%"
    assert rows["Zoë Ñandú"][1][1] == "◔ In progress 40%"
    legend = re.search(r'<ul class="legend".*?</ul>', page, re.S)[0]
    for label in ("Not started", "In progress", "Needs help", "Completed"):
        assert label in legend
    assert 'class="grid-box" role="region"' in page  # scrolls inside its box on a phone
    assert "1 of 3" in page and "1 needs help" in page  # the per-lesson footer


def test_grid_for_a_whole_pack(coach: FlaskClient, school: School) -> None:
    page = coach.get(f"/coach/classes/{school.class_4b}?pack={PACK_ID}").text
    grid = read_grid(page)
    assert grid.headers[1:] == [
        "Halves",
        "What is a fraction?",
        "Check Questions",
        "=Pie game",
    ]
    assert f'<option value="{PACK_ID}" selected>' in page


def test_grid_reads_in_the_same_number_of_queries_for_any_class_size(
    coach: FlaskClient, school: School, monkeypatch: pytest.MonkeyPatch
) -> None:
    assign(coach, school.class_4b, topic_id="intro")
    url = f"/coach/classes/{school.class_4b}"

    def queries() -> int:
        count = 0
        real = db.execute_sql

        def counting(*args, **kwargs):
            nonlocal count
            count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(db, "execute_sql", counting)
        assert coach.get(url).status_code == 200
        monkeypatch.undo()
        return count

    few = queries()
    with connected():
        group = ClassGroup.get_by_id(school.class_4b)
        for n in range(12):
            learner = Learner.add(f"Extra {n}")
            group.add_learner(learner)
    for learner_id in range(school.bo + 1, school.bo + 13):
        school.record(learner_id, "halves", "progress", progress=0.5, time_spent=5)
        school.record(learner_id, "intro-video", "completed", progress=1.0)
    assert len(read_grid(coach.get(url).text).rows) == 15
    assert queries() == few <= 10  # class, assignments, packs, topics (2), learners, rows, packs


def test_class_list_counts(coach: FlaskClient, school: School) -> None:
    assign(coach, school.class_4b, topic_id="intro")
    page = coach.get("/coach/").text
    card = re.search(r"4B</a>.*?</li>", page, re.S)[0]
    assert "3 learners" in card and "1 assignment" in card and "1 needs help" in card
    card = re.search(r"5A</a>.*?</li>", page, re.S)[0]
    assert "1 learner" in card and "0 assignments" in card and "need" not in card


def test_class_without_learners(coach: FlaskClient, school: School) -> None:
    with connected():
        empty = ClassGroup.named("Empty", create=True)
    page = coach.get(f"/coach/classes/{empty.id}").text
    assert "This class has no learners yet." in page


# ------------------------------------------------------------------------------- CSV


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads UTF-8
    assert b"\r\n" in response.data
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def test_grid_csv(coach: FlaskClient, school: School) -> None:
    assign(coach, school.class_4b, topic_id="intro")
    assign(coach, school.class_4b, lesson_id="pie-game")
    response = coach.get(f"/coach/classes/{school.class_4b}/grid.csv")
    rows = read_csv(response)
    disposition = response.headers["Content-Disposition"]
    assert disposition == (
        "attachment; filename=\"progress-4B.csv\"; filename*=UTF-8''progress-4B.csv"
    )
    assert rows[0] == [
        "Learner",
        "User name",
        "Halves",
        "What is a fraction?",
        "Check",
        "'=Pie game",
        "Completed",
        "Needs help",
    ]
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example","x")'
    assert set(rows[1][2:6]) == {"Not started"} and rows[1][6:] == ["0", "0"]
    assert rows[2] == [
        "Amina Juma",
        "amina-juma",
        "Completed",
        "Not started",
        "Needs help 50%",
        "Not started",
        "1",
        "1",
    ]
    assert rows[3] == [
        "Zoë Ñandú",
        "zoe-nandu",
        "Not started",
        "In progress 40%",
        "Completed 100%",
        "Not started",
        "1",
        "0",
    ]
    assert len(rows) == 4
    # a pack's whole grid names the pack in the file name
    by_pack = coach.get(f"/coach/classes/{school.class_4b}/grid.csv?pack={PACK_ID}")
    assert 'filename="progress-4B-fractions-en.csv"' in by_pack.headers["Content-Disposition"]


def test_learner_csv(coach: FlaskClient, school: School) -> None:
    school.record(school.zoe, "pie-game", "progress", progress=0.25, time_spent=90)
    assign(coach, school.class_4b, topic_id="intro")
    response = coach.get(f"/coach/learners/{school.zoe}.csv")
    rows = read_csv(response)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="learner-Zoe-Nandu.csv"; ')
    assert disposition.endswith("filename*=UTF-8''learner-Zo%C3%AB%20%C3%91and%C3%BA.csv")
    assert rows[0][:4] == ["Pack", "Lesson ID", "Lesson", "Status"]
    by_lesson = {row[1]: row for row in rows[1:]}
    assert by_lesson["pie-game"][2:8] == ["'=Pie game", "In progress", "25", "", "0", "1.5"]
    assert by_lesson["check-1"][3:7] == ["Completed", "100", "100", "1"]
    assert by_lesson["intro-video"][3:5] == ["In progress", "40"]
    assert by_lesson["halves"][3] == "Not started"  # assigned, never opened


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("a=1", "a=1"),
        ("Zoë", "Zoë"),
        (None, ""),
        (3, 3),
    ],
)
def test_csv_cells_never_run_as_formulas(value: object, safe: object) -> None:
    assert safe_cell(value) == safe


def test_download_names_are_safe_and_keep_accents() -> None:
    header = attachment('learner-a/b\\"c\nÉlodie')
    assert header.startswith('attachment; filename="learner-a-b-c-Elodie.csv"; filename*=')
    assert "\n" not in header and "%2F" not in header and "%C3%89lodie" in header
    assert attachment("日本").startswith('attachment; filename="export.csv"')


# ------------------------------------------------------------------------------- learner detail


def test_learner_detail(coach: FlaskClient, school: School) -> None:
    assign(coach, school.class_4b, topic_id="intro")
    page = coach.get(f"/coach/learners/{school.amina}").text
    lessons = re.search(r'<table class="detail">.*?</table>', page, re.S)[0]
    cells = [
        " ".join(re.sub(r"<[^>]+>", " ", c).split())
        for c in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", lessons, re.S)
    ]
    rows = [cells[n : n + 7] for n in range(7, len(cells), 7)]
    by_title = {row[0]: row for row in rows}
    assert by_title["Check"][1:5] == ["! Needs help", "0%", "50%", "3"]
    assert by_title["Halves"][1:3] == ["✓ Completed", "100%"] and by_title["Halves"][5] == "2 min"
    assert by_title["What is a fraction?"][1] == "○ Not started"  # assigned, waiting
    assert len(rows) == 3
    # the recent quiz answers, newest first, with the prompts (escaped)
    attempts = re.findall(r'<section class="card attempt">.*?</section>', page, re.S)
    assert len(attempts) == 3
    assert "Score 50%" in attempts[0]
    assert "Which is &lt;b&gt;one&lt;/b&gt; half &amp; &#34;why&#34;?" in attempts[0]
    assert "<b>one</b>" not in page
    marks = re.findall(r'<li class="(right|wrong)">', attempts[0])
    assert marks == ["wrong", "wrong", "right", "right"]  # exercise order: q1..q4
    assert "4B" in page and f'href="/coach/learners/{school.amina}.csv"' in page
    chart = svgs(page)[0]
    assert chart.find(f"{SVG}title").text == "Lessons by status"


def test_learner_with_nothing_yet(coach: FlaskClient, school: School) -> None:
    page = coach.get(f"/coach/learners/{school.formula}").text
    assert "No lessons started yet, and nothing assigned." in page
    assert "No quiz answers yet." in page
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;x&#34;)" in page


# ------------------------------------------------------------------------------- questions


def test_question_difficulty(coach: FlaskClient, school: School) -> None:
    with connected(), school.app.test_request_context():
        report = reports.question_stats(
            ClassGroup.get_by_id(school.class_4b), Lesson.find(PACK_ID, "check-1")
        )
    assert (report.attempts, report.learners) == (4, 2)  # Bo's attempt is in another class
    assert [(q.question_id, q.correct, q.answered) for q in report.questions] == [
        ("q1", 2, 4),
        ("q2", 1, 4),
        ("q3", 4, 4),
        ("q4", 2, 4),
    ]
    assert [q.share for q in report.questions] == [0.5, 0.25, 1.0, 0.5]
    assert report.questions[0].prompt == HOSTILE_PROMPT
    page = coach.get(f"/coach/classes/{school.class_4b}/questions/{PACK_ID}/check-1").text
    assert "4 attempts" in page and "2 learners" in page
    assert "<b>one</b>" not in page and "&lt;b&gt;one&lt;/b&gt;" in page
    chart = svgs(page)[0]
    assert chart_labels(chart)[0] == f"1. {HOSTILE_PROMPT}"  # wrapped on two lines, all of it
    assert chart_values(chart) == ["50% (2 of 4)", "25% (1 of 4)", "100% (4 of 4)", "50% (2 of 4)"]
    widths = [r.get("width") for r in chart.iter(f"{SVG}rect")][1::2]
    assert widths == ["34%", "17%", "68%", "34%"]  # of the column: never wider than the page
    # The page's font size, not a drawing scaled to the column's width.
    assert chart.get("width") == "100%" and chart.get("viewBox") is None
    assert chart.get("height").endswith("em") and chart.get("font-size") is None


def test_blank_answers_of_old_attempts_are_not_answered_not_wrong(
    coach: FlaskClient, school: School
) -> None:
    # Before #14 a blank counted as wrong; `answered` kept only the answers given: two, right.
    correct = {"q1": False, "q2": True, "q3": False, "q4": True}
    school.record(
        school.formula,
        "check-1",
        "attempt",
        score=0.5,
        correct=correct,
        answered=[True, True],
        mastered=False,
    )
    page = coach.get(f"/coach/learners/{school.formula}").text
    marks = re.findall(r'<li class="(right|wrong|blank)"><span class="mark">([^<]+)<', page)
    assert marks == [("blank", "○ Not answered"), ("right", "✓ Right")] * 2
    # One answer wrong as well: which were blank cannot be told, so nothing is said to be.
    school.record(
        school.formula,
        "check-1",
        "attempt",
        score=0.25,
        correct=correct | {"q4": False},
        answered=[True, False],
        mastered=False,
    )
    latest = re.findall(
        r'<section class="card attempt">.*?</section>',
        coach.get(f"/coach/learners/{school.formula}").text,
        re.S,
    )[0]
    assert "Not answered" not in latest and latest.count("✗ Wrong") == 3
    with connected(), school.app.test_request_context():
        group = ClassGroup.named("Formula's class", create=True)
        group.add_learner(Learner.get_by_id(school.formula))
        report = reports.question_stats(group, Lesson.find(PACK_ID, "check-1"))
    answered = {q.question_id: (q.correct, q.answered) for q in report.questions}
    assert answered == {"q1": (0, 1), "q2": (2, 2), "q3": (0, 1), "q4": (1, 2)}


def test_question_difficulty_before_any_answer(coach: FlaskClient, school: School) -> None:
    with connected():
        quiet = ClassGroup.named("Quiet", create=True)
    page = coach.get(f"/coach/classes/{quiet.id}/questions/{PACK_ID}/check-1").text
    assert "0 attempts" in page and page.count("<td>no answers yet</td>") == 4
    svgs(page)


def test_questions_link_from_the_grid(coach: FlaskClient, school: School) -> None:
    assign(coach, school.class_4b, lesson_id="check-1")
    page = coach.get(f"/coach/classes/{school.class_4b}").text
    assert f'href="/coach/classes/{school.class_4b}/questions/{PACK_ID}/check-1"' in page


# ------------------------------------------------------------------------------- charts


def test_class_chart_counts_every_cell(coach: FlaskClient, school: School) -> None:
    assign(coach, school.class_4b, topic_id="intro")
    page = coach.get(f"/coach/classes/{school.class_4b}").text
    (chart,) = svgs(page)
    assert chart.get("role") == "img" and chart.find(f"{SVG}title").text == "Lessons by status"
    desc = chart.find(f"{SVG}desc").text
    assert desc == (
        "Not started: 5 (56%); In progress: 1 (11%); Needs help: 1 (11%); Completed: 2 (22%)"
    )
    assert "<style" not in page and "style=" not in page  # the page CSP allows no inline style


def test_charts_escape_text_and_stay_well_formed() -> None:
    hostile = "</text><script>alert(\"x\")</script> & 'quotes' and more words"
    svg = str(charts.bar_chart([charts.Bar(hostile, 0.3, "<3 & >2", "#123456")], hostile, "a&b"))
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == hostile
    assert root.find(f"{SVG}script") is None and "<script>" not in svg
    assert chart_values(root) == ["<3 & >2"]
    lines = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    assert len(lines) == 2 and all(len(line) <= charts.LINE_CHARS for line in lines)
    assert "".join(lines) == hostile  # all of it, on two lines: nothing clipped
    longer = ET.fromstring(
        str(charts.bar_chart([charts.Bar(hostile * 2, 1, "x", "#123")], "", "b"))
    )
    (label,) = chart_labels(longer)
    assert len(label) <= charts.MAX_LABEL + 2 and label.endswith("…")  # told whole in <title>
    assert root.find(f"{SVG}g/{SVG}title").text == f"{hostile}: <3 & >2"


def test_status_chart_with_nothing_to_count() -> None:
    labels = {"completed": "Completed", "needs_help": "Needs help"}
    root = ET.fromstring(str(charts.status_chart({}, labels, "Empty", "e")))
    assert chart_labels(root) == ["Completed", "Needs help"]
    assert chart_values(root) == ["0 (0%)", "0 (0%)"]
    assert {r.get("width") for r in root.iter(f"{SVG}rect")} == {"68%", "0%"}


def chart_labels(chart: ET.Element) -> list[str]:
    """Each bar's label, its lines joined again."""
    return [
        " ".join(t.text or "" for t in bar.iter(f"{SVG}text") if t.get("class") == "chart-label")
        for bar in chart.iter(f"{SVG}g")
    ]


def chart_values(chart: ET.Element) -> list[str]:
    return [t.text or "" for t in chart.iter(f"{SVG}text") if t.get("class") == "chart-value"]


def test_coach_pages_link_their_stylesheet(coach: FlaskClient, school: School) -> None:
    for url in (
        "/coach/",
        f"/coach/classes/{school.class_4b}",
        f"/coach/classes/{school.class_4b}/assign",
        f"/coach/learners/{school.zoe}",
    ):
        page = coach.get(url).text
        css = re.search(r'href="(/static/css/coach\.css\?v=[0-9a-f]+)"', page)[1]
        assert coach.get(css).status_code == 200


# ------------------------------------------------------------------------------- damaged data


def test_odd_attempt_fields_from_other_hubs_are_skipped(coach: FlaskClient, school: School) -> None:
    for fields in ({"correct": "garbage"}, {"correct": None}, {"correct": ["q1"]}, {}):
        school.record(school.zoe, "check-1", "attempt", **fields)
    with connected(), school.app.test_request_context():
        report = reports.question_stats(
            ClassGroup.get_by_id(school.class_4b), Lesson.find(PACK_ID, "check-1")
        )
    assert report.attempts == 8 and [q.answered for q in report.questions] == [4, 4, 4, 4]
    page = coach.get(f"/coach/learners/{school.zoe}")
    assert page.status_code == 200 and page.text.count('class="card attempt"') == 5


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_reports_survive_a_damaged_exercise_file(
    coach: FlaskClient, school: School, damage: str
) -> None:
    with connected():
        pack_file = PackFile.find(PACK_ID, "check-1.json")
    blob = school.app.extensions["library"].store.path(pack_file.sha256)
    blob.chmod(0o644)
    if damage == "missing":
        blob.unlink()
    else:
        blob.write_bytes(b"{not json")
    page = coach.get(f"/coach/classes/{school.class_4b}/questions/{PACK_ID}/check-1")
    assert page.status_code == 200
    # the prompts are gone with the file: the questions show by id
    assert re.findall(r'<th scope="row">([^<]+)</th>', page.text) == ["q1", "q2", "q3", "q4"]
    assert coach.get(f"/coach/learners/{school.amina}").status_code == 200
