"""CSRF is checked in one place (hub.web.csrf.protect): every route of the hub and of central
that changes state, walked from the url_map, refuses a request that does not show it came from
our own pages, before its view runs, unless the route is on the short exempt list; and the
list names no route that is gone. A route added tomorrow is walked too."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

from hub.central.app import create_central_app
from hub.web import csrf
from sync.central.service import Central

TOKEN = "the-sessions-token"
FOREIGN = "http://evil.example"
# What a refusal may say: a form without the session's token, a JSON call that is not JSON or
# comes from another site (the rule hub.people.auth.check_json_call kept for /api/).
REFUSALS = {"csrf_failed": 400, "json_required": 415, "cross_origin": 403}


@pytest.fixture
def central_app(tmp_path: Path) -> Iterator[Flask]:
    central = Central.open(tmp_path / "central", None)
    try:
        yield create_central_app(central)
    finally:
        central.close()


@pytest.fixture
def apps(app: Flask, central_app: Flask) -> list[Flask]:
    return [app, central_app]


Route = tuple[str, str, str]  # (endpoint, method, url)


def state_changing(app: Flask) -> list[Route]:
    found = []
    for rule in app.url_map.iter_rules():
        url = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule.rule)
        for method in sorted((rule.methods or set()) & csrf.STATE_CHANGING):
            found.append((rule.endpoint, method, url))
    return found


def record_views(app: Flask) -> list[str]:
    """Views replaced by stand-ins that only note they ran: a refused request reached no
    view, so nothing changed; one let through shows the rule is not refusing everything."""
    ran: list[str] = []
    for endpoint, view in list(app.view_functions.items()):

        @functools.wraps(view)  # keeps what the view declared for protect (larger_form)
        def stand_in(*args: Any, _endpoint: str = endpoint, **kwargs: Any) -> tuple[str, int]:
            ran.append(_endpoint)
            return "", 204

        app.view_functions[endpoint] = stand_in
    return ran


def with_token(app: Flask) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf"] = TOKEN
    return client


# What a page on another site can make a browser send (cookies included), and what a stale
# form sends.
FORGED: dict[str, dict[str, Any]] = {
    "form without a token": {"data": {"name": "x"}},
    "form with a wrong token": {"data": {"csrf_token": "forged", "name": "x"}},
    "form with an empty token": {"data": {"csrf_token": ""}},
    "plain text": {"data": "{}", "content_type": "text/plain"},
    "JSON from another site": {"json": {}, "headers": {"Origin": FOREIGN}},
    "JSON from another site, with the token": {
        "json": {"csrf_token": TOKEN},
        "headers": {"Origin": FOREIGN},
    },
}


def honest(url: str) -> dict[str, Any]:
    """What our own pages send: a form with the session's token, or JSON under /api/."""
    if url.startswith("/api/"):
        return {"json": {}, "headers": {"Origin": "http://localhost"}}
    return {"data": {"csrf_token": TOKEN}}


def unguarded(app: Flask) -> list[str]:
    """Every way a state-changing route of `app` is not guarded as promised."""
    ran = record_views(app)
    client = with_token(app)
    wrong = []
    for endpoint, method, url in state_changing(app):
        if endpoint in csrf.EXEMPT:
            continue
        for name, forged in FORGED.items():
            ran.clear()
            headers = {"Accept": "application/json", **forged.get("headers", {})}
            response = client.open(url, method=method, **{**forged, "headers": headers})
            error = (response.get_json(silent=True) or {}).get("error", {})
            code, message = error.get("code"), error.get("message", "")
            if ran or REFUSALS.get(code) != response.status_code:
                wrong.append(f"{method} {url}, {name}: {response.status_code} {code}")
            elif not message or "\n" in message:
                wrong.append(f"{method} {url}, {name}: not a one-line error: {message!r}")
        ran.clear()
        client.open(url, method=method, **honest(url))
        if ran != [endpoint]:
            wrong.append(f"{method} {url}: our own page's request did not get through")
    return wrong


def test_every_state_changing_route_refuses_a_forged_request(apps: list[Flask]) -> None:
    hub_routes, central_routes = (state_changing(app) for app in apps)
    assert len(hub_routes) >= 30 and len(central_routes) >= 7  # the walk sees the routes
    for app in apps:
        assert not unguarded(app), "\n".join(unguarded(app))


def test_the_exempt_list_is_short_explained_and_current(apps: list[Flask]) -> None:
    routes = {endpoint for app in apps for endpoint, _, _ in state_changing(app)}
    stale = set(csrf.EXEMPT) - routes
    assert not stale, f"exempt but no such state-changing route: {sorted(stale)}"
    assert len(csrf.EXEMPT) <= 6
    for endpoint, reason in csrf.EXEMPT.items():
        assert reason.strip() and "\n" not in reason, endpoint


def test_exempt_routes_reach_their_own_check(central_app: Flask) -> None:
    """The sync API is signed by hub keys, not a session: protect lets even a forged request
    through to the route, which checks the signature (tests/test_central_web.py)."""
    ran = record_views(central_app)
    client = central_app.test_client()
    exempt = [route for route in state_changing(central_app) if route[0] in csrf.EXEMPT]
    for endpoint, method, url in exempt:
        ran.clear()
        client.open(url, method=method, data=b"x", headers={"Origin": FOREIGN})
        assert ran == [endpoint], url


def test_a_route_added_tomorrow_is_walked_and_one_left_unguarded_fails(app: Flask) -> None:
    def add_something() -> tuple[str, int]:
        return "", 204

    app.add_url_rule("/admin/added-by-a-test", "added_by_a_test", add_something, methods=["POST"])
    assert ("added_by_a_test", "POST", "/admin/added-by-a-test") in state_changing(app)
    assert not unguarded(app)  # covered without anyone remembering a call
    # Left unguarded, as a hand-placed check forgotten on it would leave it: the walk fails.
    hooks = app.before_request_funcs[None]
    hooks[hooks.index(csrf.protect)] = skipping("added_by_a_test", csrf.protect)
    found = unguarded(app)
    assert found and all(line.startswith("POST /admin/added-by-a-test,") for line in found)


def skipping(endpoint: str, guard: Callable[[], None]) -> Callable[[], None]:
    def guard_but_one() -> None:
        if request.endpoint != endpoint:
            guard()

    return guard_but_one
