"""Every route, walked with every role: who gets 401, who gets 403, who gets in."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.core.db import connected
from hub.people.models import ClassGroup, Learner, StaffUser
from tests.test_admin import csrf

ROLES = ("anonymous", "learner", "coach", "operator")
PASSWORD = "correct horse battery"

# Which roles may use the routes under each prefix; anything else must be 401 (nobody
# signed in) or 403 (signed in with the wrong role).
ALLOWED = {
    "/admin/setup": set(ROLES),  # the first-run page guards itself with the setup code
    "/admin": {"operator"},
    "/coach": {"coach", "operator"},
    "/api/progress": {"learner"},
    "/api/lessons/<pack_id>/<lesson_id>/attempts": {"learner"},
}
VALUES = {"pack_id": "fractions-en", "lesson_id": "halves", "path": "x"}


@pytest.fixture
def people(app: Flask) -> Flask:
    with app.app_context(), connected():
        learner = Learner.add("Amina Juma", pin="1234")
        ClassGroup.named("Class 4", create=True).add_learner(learner)
        StaffUser.add("Coach Carol", "coach", PASSWORD)
        StaffUser.add("Olu Operator", "operator", PASSWORD)
    return app


def signed_in(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    credentials = {
        "learner": {"username": "amina-juma", "pin": "1234"},
        "coach": {"username": "coach-carol", "password": PASSWORD},
        "operator": {"username": "olu-operator", "password": PASSWORD},
    }.get(role)
    if credentials:
        assert client.post("/api/session", json=credentials).status_code == 201
    return client


def guarded_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(rule, method, the prefix that rules it) for every guarded route."""
    found = []
    for rule in app.url_map.iter_rules():
        prefix = next(
            (p for p in sorted(ALLOWED, key=len, reverse=True) if rule.rule.startswith(p)), None
        )
        if prefix is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.rule, method, prefix))
    return found


def fill(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(VALUES.get(m[1], "1")), rule)


def test_the_walk_covers_the_guarded_faces(people: Flask) -> None:
    prefixes = {prefix for _, _, prefix in guarded_rules(people)}
    assert {"/admin", "/coach", "/api/progress"} <= prefixes
    assert len(guarded_rules(people)) >= 10


@pytest.mark.parametrize("role", ROLES)
def test_every_guarded_route_checks_the_role(people: Flask, role: str) -> None:
    client = signed_in(people, role)
    wrong = []
    for rule, method, prefix in guarded_rules(people):
        url = fill(rule)
        is_json = url.startswith("/api/")
        # A form carries the session's token, so that the walk reaches the role check.
        body = {"json": {}} if is_json else {"data": {"csrf_token": csrf(client)}}
        response = client.open(url, method=method, **(body if method != "GET" else {}))
        allowed = role in ALLOWED[prefix]
        expected = "in" if allowed else (401 if role == "anonymous" else 403)
        got = response.status_code
        if (expected == "in" and got in (401, 403)) or (expected != "in" and got != expected):
            wrong.append(f"{method} {url} as {role}: {got} (expected {expected})")
    assert not wrong, "\n".join(wrong)


def test_a_removed_or_demoted_account_loses_its_session(people: Flask) -> None:
    coach = signed_in(people, "coach")
    operator = signed_in(people, "operator")
    assert coach.get("/coach/").status_code == 200
    with people.app_context(), connected():
        StaffUser.delete().where(StaffUser.username == "coach-carol").execute()
        StaffUser.update(role="coach").where(StaffUser.username == "olu-operator").execute()
    assert coach.get("/coach/").status_code == 401
    assert operator.get("/admin/").status_code == 401
