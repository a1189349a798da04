"""/admin/neighbours: operators only; lists the hubs the advertiser hears, the packs a hub
shares, and runs a copy in the background with a page that follows it without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.core.db import connected
from hub.library.models import Pack
from hub.neighbours.discovery import Neighbour
from hub.people.models import StaffUser
from tests.content_helpers import PACK_ID, sample_manifest
from tests.test_admin import csrf
from tests.test_share_fetch import FakeNeighbour, pack_files
from tests.waiting import eventually

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
OTHER_ID = "zyxwvutsrqponmlkjiha"


class FakeAdvertiser:
    state = "announced"
    names = ["Learning Hub \u2013 Test", "Test"]
    addresses = ["192.168.4.1"]

    def __init__(self, neighbours: list[Neighbour]) -> None:
        self._neighbours = neighbours

    def neighbours(self) -> list[Neighbour]:
        return self._neighbours


def neighbour(url: str, sharing: bool = True, name: str = "Mwanga <School>") -> Neighbour:
    host, port = url.removeprefix("http://").split(":")
    return Neighbour(name, OTHER_ID, (host,), int(port), "0.1.0", 1, sharing, "/api")


@pytest.fixture
def fake() -> Iterator[FakeNeighbour]:
    server = FakeNeighbour(sample_manifest(), pack_files())
    yield server
    server.close()


def sign_in(client: FlaskClient, role: str) -> None:
    with connected():
        StaffUser.add(f"Staff {role.title()}", role, "a-long-secret")
    body = {"username": f"staff-{role}", "password": "a-long-secret"}
    assert client.post("/api/session", json=body).status_code == 201


@pytest.fixture
def operator(app: Flask, client: FlaskClient, fake: FakeNeighbour) -> FlaskClient:
    app.extensions["advertiser"] = FakeAdvertiser([neighbour(fake.url)])
    sign_in(client, "operator")
    return client


@pytest.mark.parametrize("path", ["/admin/neighbours/", "/admin/neighbours/copy"])
def test_operators_only(app: Flask, client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 401
    sign_in(client, "coach")
    assert client.get(path).status_code == 403
    refused = client.post("/admin/neighbours/copy", data={"csrf_token": csrf(client)})
    assert refused.status_code == 403


def test_lists_neighbours_from_the_advertiser(operator: FlaskClient, fake: FakeNeighbour):
    page = operator.get("/admin/neighbours/")
    assert page.status_code == 200
    assert "Mwanga &lt;School&gt;" in page.text  # a neighbour's name is data, never markup
    assert f'data-hub-id="{OTHER_ID}"' in page.text
    assert "Announced as Learning Hub \u2013 Test, Test at 192.168.4.1." in page.text
    assert "Other hubs may not copy this hub" in page.text
    assert "/admin/neighbours/packs?url=http" in page.text


def test_without_an_advertiser_the_page_browses_briefly(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.web.views import neighbours as view

    asked = []
    monkeypatch.setattr(view, "browse", lambda seconds, own_hub_id: asked.append(own_hub_id) or [])
    sign_in(client, "operator")
    page = client.get("/admin/neighbours/")
    assert page.status_code == 200 and "No other hub answered" in page.text
    assert asked == [app.extensions["keys"].hub_id]  # this hub does not list itself
    assert "is not announced on the network" in page.text


def finished_copy(operator: FlaskClient) -> Any:
    """The copy page once the copy has finished; until then it refreshes itself."""

    def finished() -> Any:
        page = operator.get("/admin/neighbours/copy")
        if 'data-finished="yes"' in page.text:
            return page
        assert '<meta http-equiv="refresh"' in page.text
        return None

    return eventually(finished, 20)


def test_copy_from_the_page(operator: FlaskClient, fake: FakeNeighbour) -> None:
    packs = operator.get("/admin/neighbours/packs", query_string={"url": fake.url, "name": "X"})
    assert packs.status_code == 200
    assert f'value="{PACK_ID}"' in packs.text and "not installed" in packs.text
    token = TOKEN.search(packs.text)[1]
    started = operator.post(
        "/admin/neighbours/copy", data={"csrf_token": token, "url": fake.url, "pack": PACK_ID}
    )
    assert started.status_code == 302 and started.location.endswith("/admin/neighbours/copy")
    status = finished_copy(operator)
    assert f'data-pack-id="{PACK_ID}" data-result="installed"' in status.text
    assert '<meta http-equiv="refresh"' not in status.text
    with connected():
        assert Pack.by_id(PACK_ID) is not None
    again = operator.get("/admin/neighbours/packs", query_string={"url": fake.url})
    assert "the same version" in again.text
    assert re.search(rf'value="{PACK_ID}" id="pack-1" disabled', again.text)


def test_a_refused_copy_is_shown(operator: FlaskClient, fake: FakeNeighbour) -> None:
    fake.doc["id"] = "someone-else"
    token = TOKEN.search(operator.get("/admin/neighbours/").text)[1]
    operator.post(
        "/admin/neighbours/copy", data={"csrf_token": token, "url": fake.url, "pack": PACK_ID}
    )
    page = finished_copy(operator)
    assert 'data-result="refused"' in page.text
    assert "when asked for" in page.text


def test_copy_needs_the_form_token(operator: FlaskClient, fake: FakeNeighbour) -> None:
    response = operator.post("/admin/neighbours/copy", data={"url": fake.url, "pack": PACK_ID})
    assert response.status_code == 400
    assert fake.requests == []


def test_copy_needs_a_pack(operator: FlaskClient, fake: FakeNeighbour) -> None:
    token = TOKEN.search(operator.get("/admin/neighbours/").text)[1]
    response = operator.post("/admin/neighbours/copy", data={"csrf_token": token, "url": fake.url})
    assert response.status_code == 302 and "/admin/neighbours/packs" in response.location


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://", "127.0.0.1:1"])
def test_bad_or_unreachable_addresses_come_back_as_a_sentence(
    operator: FlaskClient, url: str
) -> None:
    response = operator.get("/admin/neighbours/packs", query_string={"url": url})
    assert response.status_code == 302
    page = operator.get(response.location)
    assert re.search(r"is not the address of a hub|Could not reach the hub", page.text)


def test_sharing_off_neighbour_is_explained(operator: FlaskClient, fake: FakeNeighbour) -> None:
    fake.sharing = False
    response = operator.get("/admin/neighbours/packs", query_string={"url": fake.url})
    page = operator.get(response.location)
    assert "does not share its packs" in page.text
