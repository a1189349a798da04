"""No open redirects (docs/security.md): every `next=` on the hub and on central sends the
reader to a path on the same server, however the hostile value is spelled, against real
servers. A Location is judged as a browser reads it: tabs and newlines dropped, "\\" as "/"."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator

import pytest

from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.people.models import ClassGroup, Learner, StaffUser
from hub.web.app import create_app
from tests.central_helpers import CentralServer
from tests.conftest import LiveServer
from tests.security_client import Client, Reply, central_with_staff

HOSTILE = [
    "//evil.example/x",
    "///evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\x00/evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "http:evil.example",
    "HTTPS:\\\\evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/%09/evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "/%252F/evil.example",
    "/%0d%0a/evil.example",
]
SAFE = "/search?q=fractions&page=2"


def lands_on(location: str, base_url: str) -> str:
    """The host a browser at `base_url` goes to when it follows `location`."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("\x00 ").replace("\\", "/")
    return urllib.parse.urlsplit(urllib.parse.urljoin(base_url + "/a/page", cleaned)).netloc


def _where(reply: Reply, base_url: str, route: str = "") -> str:
    assert reply.status in (302, 303), (route, reply.status, reply.text[:200])
    location = reply.headers["Location"]
    assert (
        location.startswith("/")
        and lands_on(location, base_url) == urllib.parse.urlsplit(base_url).netloc
    ), (route, location)
    return location


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("redirects") / "data"
    app = create_app(prepare_data_dir(load_config(data, {"load_samples": False}, environ={})))
    with app.app_context(), connected():
        ClassGroup.named("Class 4", create=True).add_learner(Learner.add("Amina Juma", pin="1234"))
        StaffUser.add("Coach Carter", "coach", "coach-password")
    server = LiveServer(data, env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralServer]:
    server = central_with_staff(tmp_path_factory.mktemp("central") / "data")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def _language(hub: LiveServer, target: str) -> Reply:
    return Client(hub.url).get(f"/language?lang=fr&next={_q(target)}")


def _language_signed_in(hub: LiveServer, target: str) -> Reply:
    learner = Client(hub.url)
    assert learner.sign_in("amina-juma", pin="1234").status == 201
    form = {"lang": "fr", "next": target}
    return learner.post_form("/language", form, token_from="/signin")


def _learner_signin(hub: LiveServer, target: str) -> Reply:
    page = "/signin/learner/amina-juma"
    return Client(hub.url).post_form(f"{page}?next={_q(target)}", {"pin": "1234"}, page)


def _staff_signin(hub: LiveServer, target: str) -> Reply:
    form = {"username": "coach-carter", "password": "coach-password"}
    return Client(hub.url).post_form(f"/signin/staff?next={_q(target)}", form, "/signin/staff")


ON_THE_HUB = [_language, _language_signed_in, _learner_signin, _staff_signin]


@pytest.mark.server
def test_every_hostile_next_ends_on_the_hub(hub: LiveServer) -> None:
    assert lands_on("/\\evil.example", hub.url) == "evil.example"  # the judge sees attacks
    for route in ON_THE_HUB:
        for target in HOSTILE:
            _where(route(hub, target), hub.url, route.__name__)


@pytest.mark.server
def test_a_next_on_the_hub_is_followed(hub: LiveServer) -> None:
    for route in ON_THE_HUB:
        assert _where(route(hub, SAFE), hub.url, route.__name__) == SAFE, route.__name__


@pytest.mark.server
def test_the_learners_sign_in_pages_carry_next_to_the_end(hub: LiveServer) -> None:
    phone = Client(hub.url)
    page = phone.get(f"/signin?next={_q(SAFE)}").text
    for _ in range(2):  # the class, then the name
        link = re.search(r'class="tile" href="([^"]+)"', page)[1].replace("&amp;", "&")
        page = phone.get(link).text
    action = re.search(r'<form class="card signin" method="post" action="([^"]+)"', page)[1]
    action = action.replace("&amp;", "&")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    landed = phone.request("POST", action, form={"pin": "1234", "csrf_token": token})
    assert _where(landed, hub.url) == SAFE


@pytest.mark.server
def test_a_page_that_needs_sign_in_comes_back_after_it(hub: LiveServer) -> None:
    coach = Client(hub.url)
    refused = coach.get("/coach/?class=1")
    link = re.search(r'href="(/signin\?next=[^"]+)"', refused.text)
    assert refused.status == 401 and link, refused.text[-600:]
    staff_link = re.search(r'href="(/signin/staff\?next=[^"]+)"', coach.get(link[1]).text)
    page = staff_link[1].replace("&amp;", "&")
    form = {"username": "coach-carter", "password": "coach-password"}
    assert _where(coach.post_form(page, form, "/signin/staff"), hub.url) == "/coach/?class=1"


def _central_signin(central: CentralServer, target: str) -> Reply:
    form = {"username": "zawadi", "password": "a good password"}
    return Client(central.url).post_form(f"/signin?next={_q(target)}", form, "/signin")


@pytest.mark.server
def test_every_hostile_next_ends_on_central(central: CentralServer) -> None:
    for target in HOSTILE:
        _where(_central_signin(central, target), central.url, "central")
    assert _where(_central_signin(central, SAFE), central.url) == SAFE
