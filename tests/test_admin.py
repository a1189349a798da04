"""/admin: the first operator from the setup code, then staff, learners, classes and the roster
import through the operator's pages, with hostile input on every form and every wrong role."""

from __future__ import annotations

import csv
import http.cookiejar
import io
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.routing import Rule
from werkzeug.test import encode_multipart

from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.people.models import ClassGroup, Learner, StaffUser
from hub.people.roster import add_class, add_learner
from tests.conftest import LiveServer

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "operator-pw"


def token_from(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return TOKEN.search(page.text)[1]


def csrf(client: FlaskClient) -> str:
    """The session's form token (what every page's forms carry)."""
    with client.session_transaction() as session:
        return session.setdefault("csrf", "test-token")


def post(client: FlaskClient, path: str, **data: object):
    return client.post(path, data={"csrf_token": csrf(client), **data})


def staff_sign_in(client: FlaskClient, username: str, password: str) -> None:
    data = {"csrf_token": token_from(client, "/signin/staff"), "username": username}
    response = client.post("/signin/staff", data={**data, "password": password})
    assert response.status_code == 303, response.text


def in_db(query):
    with connected():
        return query() if callable(query) else list(query)


@pytest.fixture
def operator(app: Flask, client: FlaskClient) -> FlaskClient:
    with connected():
        StaffUser.add("Olive Operator", "operator", PASSWORD)
    staff_sign_in(client, "olive-operator", PASSWORD)
    return client


@pytest.fixture
def classes(app: Flask) -> dict[str, int]:
    with connected():
        return {name: add_class(name).id for name in ("4A", "4B")}


# --- the first operator -----------------------------------------------------------------


def test_first_operator_from_the_setup_code(app: Flask, client: FlaskClient) -> None:
    code = app.extensions["setup_code"]
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", code)
    assert client.get("/admin/").status_code == 401
    token = token_from(client, "/admin/setup")
    form = {"csrf_token": token, "name": "Grace Operator", "password": "a-long-secret"}
    wrong = client.post("/admin/setup", data={**form, "code": "0000-0000-0000", "password2": ""})
    assert wrong.status_code == 403 and "not right" in wrong.text
    typed = code.lower().replace("-", " ")  # copied by hand, in any case and spacing
    done = client.post("/admin/setup", data={**form, "code": typed, "password2": "a-long-secret"})
    assert done.status_code == 303 and done.location == "/admin/"
    welcome = client.get("/admin/")
    assert welcome.status_code == 200 and "grace-operator" in welcome.text
    # The code is spent: the page is gone, for everyone, even with the right code.
    assert app.extensions["setup_code"] is None
    assert client.get("/admin/setup").status_code == 404
    form["csrf_token"] = csrf(client)  # signing in started a new session, with a new token
    again = client.post("/admin/setup", data={**form, "code": code, "password2": form["password"]})
    assert again.status_code == 404
    # A new visit signs in with what was chosen, and lands on /admin.
    other = app.test_client()
    assert other.get("/admin/").status_code == 401
    staff_sign_in(other, "grace-operator", "a-long-secret")
    assert other.get("/admin/").status_code == 200
    assert [u.role for u in in_db(StaffUser.select())] == ["operator"]


def test_wrong_setup_codes_are_throttled(app: Flask, client: FlaskClient) -> None:
    form = {"csrf_token": token_from(client, "/admin/setup"), "name": "Eve"}
    form |= {"password": "password1", "password2": "password1"}
    for _ in range(app.config["LEARNHUB"].signin_tries_per_minute):
        assert client.post("/admin/setup", data={**form, "code": "AAAA"}).status_code == 403
    blocked = client.post("/admin/setup", data={**form, "code": app.extensions["setup_code"]})
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert in_db(StaffUser.select()) == []


def test_setup_form_refuses_bad_input_and_keeps_the_code(app: Flask, client: FlaskClient) -> None:
    code = app.extensions["setup_code"]
    base = {"csrf_token": token_from(client, "/admin/setup"), "code": code, "name": "Op"}
    cases = [
        ({"name": "", "password": "password1", "password2": "password1"}, "cannot be empty"),
        ({"name": "x" * 10_000, "password": "password1", "password2": "password1"}, "100"),
        ({"password": "short", "password2": "short"}, "at least 8"),
        ({"password": "password1", "password2": "password2"}, "not the same"),
    ]
    for fields, message in cases:
        response = client.post("/admin/setup", data={**base, **fields})
        assert response.status_code == 400 and message in response.text
    forged = client.post("/admin/setup", data={**base, "csrf_token": "forged"})
    assert forged.status_code == 400 and "expired" in forged.text
    assert in_db(StaffUser.select()) == []
    assert app.extensions["setup_code"] == code


def test_an_operator_made_elsewhere_voids_the_code(app: Flask, client: FlaskClient) -> None:
    assert client.get("/admin/setup").status_code == 200
    with connected():
        StaffUser.add("Console Operator", "operator", "password1")  # learnhub users add
    assert client.get("/admin/setup").status_code == 404
    assert app.extensions["setup_code"] is None


def test_a_coach_alone_does_not_void_the_code(app: Flask, client: FlaskClient) -> None:
    with connected():
        StaffUser.add("Coach", "coach", "password1")
    assert client.get("/admin/setup").status_code == 200


def test_a_hub_with_an_operator_starts_without_a_code(config, app: Flask) -> None:
    from hub.web.app import create_app

    with connected():
        StaffUser.add("Op", "operator", "password1")
    restarted = create_app(prepare_data_dir(config))
    assert restarted.extensions["setup_code"] is None
    assert restarted.test_client().get("/admin/setup").status_code == 404


# --- who may see /admin -----------------------------------------------------------------


def admin_rules(app: Flask) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.") and rule.endpoint != "admin.setup"
    ]


def url_of(rule: Rule) -> str:
    return re.sub(r"<int:\w+>", "1", rule.rule)


def every_admin_request(app: Flask) -> Iterator[tuple[str, str]]:
    for rule in admin_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url_of(rule)


def test_every_admin_page_is_guarded(app: Flask, client: FlaskClient) -> None:
    requests = list(every_admin_request(app))
    assert len(requests) >= 18
    with connected():
        StaffUser.add("Coach Carol", "coach", "coach-pw1")
        add_learner("Lulu", pin="1234")
    for method, url in requests:
        response = client.open(url, method=method, data={"csrf_token": csrf(client)})
        assert response.status_code == 401, (method, url)
    coach = app.test_client()
    staff_sign_in(coach, "coach-carol", "coach-pw1")
    learner = app.test_client()
    signed = learner.post(
        "/signin/learner/lulu",
        data={"csrf_token": token_from(learner, "/signin/learner/lulu"), "pin": "1234"},
    )
    assert signed.status_code == 303
    for who in (coach, learner):
        for method, url in requests:
            response = who.open(url, method=method, data={"csrf_token": csrf(who)})
            assert response.status_code == 403, (method, url)
    assert in_db(lambda: Learner.select().count()) == 1


def test_wrong_csrf_changes_nothing(operator: FlaskClient, classes: dict[str, int]) -> None:
    forms = {
        "/admin/users": {"name": "X", "role": "coach", "password": "password1"},
        "/admin/learners": {"name": "X"},
        "/admin/classes": {"name": "X"},
        "/admin/classes/1/rename": {"name": "X"},
        "/admin/classes/1/delete": {"confirm": "1"},
    }
    for path, data in forms.items():
        for token in ("forged", None):
            sent = {**data, **({"csrf_token": token} if token else {})}
            response = operator.post(path, data=sent)
            assert response.status_code == 400 and "expired" in response.text, path
    assert [g.name for g in in_db(ClassGroup.ordered)] == ["4A", "4B"]
    assert in_db(lambda: Learner.select().count()) == 0
    assert in_db(lambda: StaffUser.select().count()) == 1


# --- staff accounts ---------------------------------------------------------------------


def test_add_a_coach_who_can_then_sign_in(app: Flask, operator: FlaskClient) -> None:
    form = {
        "name": "Ms Achieng",
        "role": "coach",
        "password": "coach-pw1",
        "password2": "coach-pw1",
    }
    added = post(operator, "/admin/users", **form)
    assert added.status_code == 303
    listing = operator.get("/admin/users").text
    assert "Ms Achieng" in listing and "ms-achieng" in listing
    coach = app.test_client()
    staff_sign_in(coach, "ms-achieng", "coach-pw1")
    assert coach.get("/coach/").status_code == 200 and coach.get("/admin/").status_code == 403


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "cannot be empty"),
        ({"name": "x" * 10_000}, "at most 100 characters"),
        ({"name": "Olive  Operator"}, "There is already a user called"),
        ({"role": "admin"}, "The role must be coach or operator"),
        ({"role": ""}, "The role must be coach or operator"),
        ({"password": "short", "password2": "short"}, "at least 8 characters"),
        ({"password2": "different1"}, "not the same"),
        ({"password": "p" * 10_000, "password2": "p" * 10_000}, "at most 256"),
    ],
)
def test_bad_staff_forms(operator: FlaskClient, fields: dict, message: str) -> None:
    form = {"name": "New Coach", "role": "coach", "password": "password1", "password2": "password1"}
    response = post(operator, "/admin/users", **{**form, **fields})
    assert response.status_code == 400 and message in response.text
    assert in_db(lambda: StaffUser.select().count()) == 1


def test_change_a_password_and_remove_an_account(app: Flask, operator: FlaskClient) -> None:
    with connected():
        coach = StaffUser.add("Coach", "coach", "old-password")
        me = StaffUser.by_username("olive-operator")
    assert operator.get(f"/admin/users/{coach.id}").status_code == 200
    short = post(operator, f"/admin/users/{coach.id}/password", password="x", password2="x")
    assert short.status_code == 400
    changed = post(
        operator, f"/admin/users/{coach.id}/password", password="new-pass1", password2="new-pass1"
    )
    assert changed.status_code == 303
    staff_sign_in(app.test_client(), "coach", "new-pass1")
    myself = post(operator, f"/admin/users/{me.id}/delete")
    assert myself.status_code == 400 and "your own account" in myself.text
    assert post(operator, f"/admin/users/{coach.id}/delete").status_code == 303
    assert in_db(lambda: StaffUser.by_username("coach")) is None
    assert operator.get("/admin/users/999").status_code == 404


# --- learners ---------------------------------------------------------------------------


def test_add_a_learner_with_pin_language_and_classes(
    app: Flask, operator: FlaskClient, classes: dict[str, int]
) -> None:
    response = operator.post(
        "/admin/learners",
        data={
            "csrf_token": csrf(operator),
            "name": "Amina Juma",
            "pin": "2580",
            "language": "sw",
            "class": [str(classes["4A"]), str(classes["4B"])],
        },
    )
    assert response.status_code == 303
    listing = operator.get("/admin/learners").text
    assert "Amina Juma" in listing and "amina-juma" in listing and "4A, 4B" in listing
    with connected():
        amina = Learner.by_username("amina-juma")
        assert amina.language == "sw" and amina.check_pin("2580")
    child = app.test_client()
    token = token_from(child, "/signin/learner/amina-juma")
    data = {"csrf_token": token, "pin": "2580"}
    assert child.post("/signin/learner/amina-juma", data=data).status_code == 303


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "A name cannot be empty."),
        ({"name": "   "}, "A name cannot be empty."),
        ({"name": "x" * 10_000}, "at most 100 characters"),
        ({"pin": "12ab"}, "A PIN is 4 to 6 digits."),
        ({"pin": "123"}, "A PIN is 4 to 6 digits."),
        ({"pin": "1234567"}, "A PIN is 4 to 6 digits."),
        ({"language": "<script>"}, "A language is a code"),
        ({"class": "999"}, "does not exist any more"),
        ({"class": "abc"}, "does not exist any more"),
    ],
)
def test_bad_learner_forms(operator: FlaskClient, fields: dict, message: str) -> None:
    response = post(operator, "/admin/learners", **{"name": "Amina", **fields})
    assert response.status_code == 400 and message in response.text
    assert in_db(lambda: Learner.select().count()) == 0


def test_names_are_shown_as_text(operator: FlaskClient) -> None:
    post(operator, "/admin/learners", name="<script>alert(1)</script>")
    page = operator.get("/admin/learners").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_edit_a_learner(app: Flask, operator: FlaskClient, classes: dict[str, int]) -> None:
    with connected():
        learner = add_learner("Joseph", pin="1111")
    url = f"/admin/learners/{learner.id}"
    assert "Joseph" in operator.get(url).text
    edit = {"name": "Joseph M", "language": "fr", "class": str(classes["4B"]), "pin": "2222"}
    assert post(operator, url, **edit).status_code == 303
    with connected():
        fresh = Learner.get_by_id(learner.id)
        assert (fresh.display_name, fresh.language) == ("Joseph M", "fr")
        assert fresh.check_pin("2222") and [g.name for g in fresh.classes()] == ["4B"]
    bad = post(operator, url, name="Joseph M", pin="12ab")
    assert bad.status_code == 400 and "A PIN is 4 to 6 digits." in bad.text
    both = post(operator, url, name="Joseph M", pin="3333", remove_pin="1")
    assert both.status_code == 400 and "not both" in both.text
    assert in_db(lambda: Learner.get_by_id(learner.id).check_pin("2222"))
    assert post(operator, url, name="Joseph M", remove_pin="1").status_code == 303
    with connected():
        fresh = Learner.get_by_id(learner.id)
        assert fresh.pin_hash is None and fresh.classes() == []
    assert operator.get("/admin/learners/999").status_code == 404


def test_filter_search_and_pages(operator: FlaskClient, classes: dict[str, int]) -> None:
    with connected():
        group = ClassGroup.get_by_id(classes["4A"])
        for n in range(105):
            add_learner(f"Pupil {n:03d}", classes=[group] if n < 3 else [])
        add_learner("Zawadi")
    first = operator.get("/admin/learners").text
    assert "106 learners" in first and "Pupil 000" in first and "Zawadi" not in first
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = operator.get("/admin/learners?page=2").text
    assert "Zawadi" in second and "Pupil 000" not in second
    in_class = operator.get(f"/admin/learners?class={classes['4A']}").text
    assert "3 learners" in in_class and "Pupil 003" not in in_class
    found = operator.get("/admin/learners?q=zaw").text
    assert "1 learner" in found and "Zawadi" in found
    for odd in ("?page=-5", "?page=abc", "?class=abc", "?q=%25_%25", "?page=99999"):
        assert operator.get("/admin/learners" + odd).status_code == 200


# --- classes ----------------------------------------------------------------------------


def test_add_rename_and_delete_a_class(operator: FlaskClient) -> None:
    assert post(operator, "/admin/classes", name="Grade 4").status_code == 303
    [group] = in_db(ClassGroup.ordered)
    with connected():
        learner = add_learner("Amina", classes=[group])
    url = f"/admin/classes/{group.id}"
    assert "Amina" in operator.get(url).text
    assert post(operator, f"{url}/rename", name="Grade 4 East").status_code == 303
    assert "Grade 4 East" in operator.get("/admin/classes").text
    unconfirmed = post(operator, f"{url}/delete")
    assert unconfirmed.status_code == 400 and in_db(ClassGroup.ordered)
    assert post(operator, f"{url}/delete", confirm="1").status_code == 303
    assert in_db(ClassGroup.ordered) == []
    assert in_db(lambda: Learner.get_by_id(learner.id).display_name) == "Amina"
    assert operator.get(url).status_code == 404


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "A class name cannot be empty."),
        ("x" * 10_000, "at most 60 characters"),
        ("4a", "There is already a class called 4A."),
        ("A|B", "cannot contain"),
    ],
)
def test_bad_class_names(operator: FlaskClient, classes: dict[str, int], name: str, message):
    added = post(operator, "/admin/classes", name=name)
    assert added.status_code == 400 and message in added.text
    renamed = post(operator, f"/admin/classes/{classes['4B']}/rename", name=name)
    assert renamed.status_code == 400 and message in renamed.text
    assert [g.name for g in in_db(ClassGroup.ordered)] == ["4A", "4B"]


def test_class_membership(operator: FlaskClient, classes: dict[str, int]) -> None:
    with connected():
        amina, joseph = add_learner("Amina"), add_learner("Joseph")
    url = f"/admin/classes/{classes['4A']}"
    assert post(operator, f"{url}/members", learner=str(amina.id)).status_code == 303
    page = operator.get(url).text
    assert "Remove from the class" in page and page.index("Amina") < page.index("<select")
    assert post(operator, f"{url}/members", learner="999").status_code == 400
    assert post(operator, f"{url}/members/{amina.id}/remove").status_code == 303
    assert post(operator, f"{url}/members/{joseph.id}/remove").status_code == 303  # not a member
    with connected():
        assert ClassGroup.get_by_id(classes["4A"]).learners() == []


# --- roster import and export -----------------------------------------------------------


def upload(client: FlaskClient, data: bytes, action: str = "import", name: str = "roster.csv"):
    # Encoded in memory: the test client's own temp file for big bodies is never closed.
    fields = {
        "csrf_token": csrf(client),
        "action": action,
        "file": FileStorage(io.BytesIO(data), name),
    }
    boundary, body = encode_multipart(MultiDict(fields))
    content_type = f"multipart/form-data; boundary={boundary}"
    return client.post("/admin/import", data=body, content_type=content_type)


ROSTER = "name;class;pin;language\r\nAmina Juma;4A;2580;sw\r\nZoé Martin;CM1|4A;;fr\r\n"


def test_import_check_then_import_then_again(operator: FlaskClient) -> None:
    data = ("\ufeff" + ROSTER).encode()
    checked = upload(operator, data, action="check")
    assert checked.status_code == 200 and "Learners to add: 2" in checked.text
    assert in_db(lambda: Learner.select().count()) == 0
    done = upload(operator, data)
    assert done.status_code == 200 and "Learners added: 2" in done.text
    assert "New classes: 4A, CM1" in done.text
    again = upload(operator, data)
    assert "Learners added: 0" in again.text and "left as they are): 2" in again.text
    assert in_db(lambda: Learner.select().count()) == 2


def test_a_bad_roster_lists_every_line_and_imports_nothing(operator: FlaskClient) -> None:
    bad = "name,class,pin\nAmina,4A,2580\n,4A,\nJoseph,4A,12ab\n" + "x" * 10_000 + ",4A,\n"
    response = upload(operator, bad.encode())
    assert response.status_code == 400
    assert "The file has 3 problems; nothing was imported." in response.text
    for line in (
        "line 3: a name cannot be empty.",
        "line 4: a PIN is 4 to 6 digits.",
        "line 5: a name can have at most 100 characters.",
    ):
        assert line in response.text
    assert in_db(lambda: Learner.select().count()) == 0
    assert in_db(ClassGroup.ordered) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV text file"),
        ("name\nZoé\n".encode("latin-1"), "line 2: this is not UTF-8 text"),
        (b"Amina,4A,2580\n", "line 1: the first line must be the header"),
        (b"name,class,age\nAmina,4A,9\n", "unknown column &#34;age&#34;"),
        (b"", "The file is empty"),
    ],
)
def test_hostile_roster_files(operator: FlaskClient, data: bytes, message: str) -> None:
    response = upload(operator, data)
    assert response.status_code == 400 and message in response.text
    assert in_db(lambda: Learner.select().count()) == 0


def test_roster_size_limits(operator: FlaskClient) -> None:
    just_over = b"name\n" + b"x" * (1024 * 1024)
    response = upload(operator, just_over)
    assert response.status_code == 400 and "larger than 1 MB" in response.text
    huge = b"name\n" + b"x" * (3 * 1024 * 1024)
    response = upload(operator, huge)
    assert response.status_code == 413 and "larger than 1 MB" in response.text
    no_file = post(operator, "/admin/import", action="import")
    assert no_file.status_code == 400 and "Choose a CSV file" in no_file.text


def test_export_escapes_formulas(operator: FlaskClient) -> None:
    upload(operator, b"name,class\n\"=cmd|' /C calc'!A0\",@SUM(1)\nAmina,4A\n")
    assert in_db(lambda: Learner.get(Learner.username == "cmd-c-calc-a0").display_name) == (
        "=cmd|' /C calc'!A0"
    )
    exported = operator.get("/admin/learners.csv")
    assert exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows == [
        ["name", "class", "pin", "language"],
        ["'=cmd|' /C calc'!A0", "'@SUM(1)", "", ""],
        ["Amina", "4A", "", ""],
    ]
    again = upload(operator, exported.data)
    assert "Learners added: 0" in again.text


# --- status -----------------------------------------------------------------------------


def test_status_counts_packs_learners_and_events(
    app: Flask, operator: FlaskClient, tmp_path: Path
) -> None:
    from tests.content_helpers import write_pack_dir

    with connected():
        amina = add_learner("Amina")
        app.extensions["events"].record(amina.id, "p", "l", "viewed", {"progress": 0.5})
        app.extensions["events"].record(amina.id, "p", "l", "completed", {})
    outcome = app.extensions["library"].import_paths([write_pack_dir(tmp_path / "pack")])
    assert outcome[0].error is None
    page = operator.get("/admin/").text
    for field, value in (("packs", 1), ("learners", 1), ("events", 2), ("staff", 1)):
        assert f'id="status-{field}">{value}<' in page, field


def test_status_shows_each_caches_memory_within_its_budget(
    app: Flask, operator: FlaskClient
) -> None:
    operator.get("/")  # something kept
    page = operator.get("/admin/").text
    caches = re.search(r'id="status-caches">(.*?)</dd>', page, re.S)[1]
    total, *lines = caches.split("<br>")
    assert len(lines) == 5  # lesson details, pages, parsed files, search answers, responses
    used, budget = (float(n) for n in re.findall(r"([\d.]+) (?:of|MB)", total))
    assert 0 <= used <= budget
    each = [float(re.findall(r"([\d.]+) MB", line)[0]) for line in lines]
    assert abs(sum(each) - used) <= 0.1 * len(each)  # rounded to tenths


# --- a real server and a real browser ---------------------------------------------------


@pytest.mark.server
def test_setup_code_from_the_log_of_a_real_server(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        server.wait_until_ready()
        code = re.search(r"enter the code ([0-9A-F-]{14})", server.log.read_text())[1]
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        with opener.open(server.url + "/admin/setup", timeout=10) as page:
            token = TOKEN.search(page.read().decode())[1]
        form = {"csrf_token": token, "code": code, "name": "Real Op"}
        form |= {"password": "password1", "password2": "password1"}
        body = urllib.parse.urlencode(form).encode()
        with opener.open(server.url + "/admin/setup", data=body, timeout=10) as landed:
            assert landed.url == server.url + "/admin/" and "real-op" in landed.read().decode()
        with pytest.raises(urllib.error.HTTPError) as gone:
            opener.open(server.url + "/admin/setup", timeout=10)
        assert gone.value.code == 404
        gone.value.close()
    finally:
        server.stop()


@pytest.mark.server
@pytest.mark.browser
def test_admin_pages_work_without_javascript_on_a_360px_phone(tmp_path: Path) -> None:
    from playwright import sync_api

    from tests.browser import PHONE, fits_phone, launch, shot

    server = LiveServer(tmp_path / "data", env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        server.wait_until_ready()
        code = re.search(r"enter the code ([0-9A-F-]{14})", server.log.read_text())[1]
        with sync_api.sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport=PHONE, java_script_enabled=False)
            page = context.new_page()
            failures: list[str] = []
            page.on("response", lambda r: r.status >= 500 and failures.append(r.url))
            page.goto(server.url + "/admin/setup")
            page.fill("#code", code)
            page.fill("#name", "Phone Operator")
            page.fill("#password", "password1")
            page.fill("#password2", "password1")
            page.click("main button[type=submit]")
            assert page.url == server.url + "/admin/"
            page.goto(server.url + "/admin/classes")
            page.fill("#name", "Class 4A with a rather long name for a phone")
            page.click("form.admin-form button[type=submit]")
            page.goto(server.url + "/admin/learners")
            page.fill("#name", "Amina Juma Mwangi Wanjiru Otieno Achieng")
            page.fill("#pin", "2580")
            page.check("input[name=class]")
            page.click("form.admin-form button[type=submit]")
            assert "Amina Juma" in page.content() and "amina-juma" in page.content()
            for path in (
                "/admin/",
                "/admin/learners",
                "/admin/learners/1",
                "/admin/classes",
                "/admin/classes/1",
                "/admin/import",
                "/admin/users",
                "/admin/users/1",
            ):
                page.goto(server.url + path)
                assert fits_phone(page), path
                shot(page, "admin" + path.replace("/", "-").rstrip("-"))
            assert not failures, failures
            browser.close()
    finally:
        server.stop()
