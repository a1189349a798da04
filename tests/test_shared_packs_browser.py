"""Shared packs (#18 part 1) on real servers: two hubs (`learnhub serve`) and a central
(`learnhub central serve`, SQLite; the record paths run on PostgreSQL too in
test_shared_packs_central and the end-to-end test). A coach shares, stops sharing and picks
on /coach/shared in Chromium on a 360 px phone; staff accept and decline with a reason on
central's /shared. Learners, visitors and forms without their token are refused. The
screenshots in docs/coach.md and docs/central.md come from here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import PHONE, doc_shot, fits_phone
from tests.central_helpers import CentralServer
from tests.conftest import LiveServer
from tests.security_client import Client, central_with_staff
from tests.test_shared_packs_e2e import Central, hub_cli, installed, make_hub, own_pack

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.timeout(600)]
PACK = "own-fractions"
COACH_PASSWORD = "coach-password"


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.central = Central(root / "central", None)
        self.central_server: CentralServer = central_with_staff(self.central.data)
        self.central_server.wait_until_ready()
        self.hub_a, self.hub_b = root / "hub-a", root / "hub-b"
        make_hub(self.hub_a, "Mwanga School", self.central, root)
        make_hub(self.hub_b, "Faraja School", self.central, root)
        hub_cli(self.hub_a, "content", "import", str(own_pack(root / "pack-v1", "1.0.0")))
        for data in (self.hub_a, self.hub_b):
            hub_cli(data, "users", "add", "Neema", "--role", "coach", "--password", COACH_PASSWORD)
        hub_cli(self.hub_a, "learners", "add", "Amina Juma", "--pin", "1234")
        quiet = {"LEARNHUB_LOAD_SAMPLES": "false"}
        self.server_a, self.server_b = LiveServer(self.hub_a, quiet), LiveServer(self.hub_b, quiet)
        for server in (self.server_a, self.server_b):
            server.wait_until_ready()

    def sync(self, hub: Path) -> None:
        hub_cli(hub, "sync", "push", self.central_server.url)

    def stop(self) -> None:
        for server in (self.server_a, self.server_b, self.central_server):
            server.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    made = World(tmp_path_factory.mktemp("shared-browser"))
    try:
        yield made
    finally:
        made.stop()


def coach(server: LiveServer) -> Client:
    client = Client(server.url)
    form = {"username": "neema", "password": COACH_PASSWORD}
    assert client.post_form("/signin/staff", form).status in (302, 303)
    return client


def phone_page(browser: Any, url: str, signin: str, username: str, password: str) -> Any:
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(url + signin)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    return page


def on_screen(page: Any, selector: str) -> bool:
    """Within the phone's width: not past the right edge of a table that scrolls sideways."""
    box = page.locator(selector).bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def row_text(page: Any, selector: str) -> str:
    return " ".join(page.inner_text(selector).split())


def test_visitors_and_learners_are_refused(world: World) -> None:
    visitor = Client(world.server_a.url)
    assert visitor.get("/coach/shared").status == 401
    learner = Client(world.server_a.url)
    assert learner.sign_in("amina-juma", pin="1234").status == 201
    assert learner.get("/coach/shared").status == 403
    token = learner.token("/signin")
    sent = learner.request("POST", f"/coach/shared/{PACK}/share", form={"csrf_token": token})
    assert sent.status == 403
    staff_page = Client(world.central_server.url).get("/shared")
    assert staff_page.status in (302, 303) and "/signin" in staff_page.headers["Location"]
    posted = Client(world.central_server.url).request("POST", f"/shared/x/{PACK}/accept", form={})
    assert posted.status in (302, 303, 400, 401, 403)
    assert world.central.offers() == {}


def test_a_form_without_its_token_is_refused(world: World) -> None:
    client = coach(world.server_a)
    assert client.request("POST", f"/coach/shared/{PACK}/share", form={}).status == 400
    assert "Not shared" in client.get("/coach/shared").text


def test_share_review_pick_decline_and_stop_on_a_phone(world: World, browser: Any) -> None:
    a = phone_page(browser, world.server_a.url, "/signin/staff", "neema", COACH_PASSWORD)
    a.goto(world.server_a.url + "/coach/shared")
    a.click(f"#own-{PACK} button")
    assert "Goes to central with the next sync" in row_text(a, f"#own-{PACK}")
    world.sync(world.hub_a)

    staff = phone_page(browser, world.central_server.url, "/signin", "zawadi", "a good password")
    staff.goto(world.central_server.url + "/shared")
    assert "Neema Mushi" in row_text(staff, f"#offer-{PACK}")
    assert "Mwanga School (Arusha)" in row_text(staff, f"#offer-{PACK}")
    assert fits_phone(staff)
    assert on_screen(staff, f"#offer-{PACK} button:has-text('Accept')")
    assert on_screen(staff, f"#offer-{PACK} button:has-text('Decline')")
    assert on_screen(staff, f"#offer-{PACK} input[name=reason]")
    staff.evaluate(f"document.getElementById('offer-{PACK}').scrollIntoView()")
    doc_shot(staff, "central-shared")
    with staff.expect_navigation():
        staff.click(f"#offer-{PACK} button:has-text('Accept')")
    assert "In the catalog" in row_text(staff, f"#offer-{PACK}")

    world.sync(world.hub_a)
    world.sync(world.hub_b)
    a.goto(world.server_a.url + "/coach/shared")
    assert "In the shared catalog" in row_text(a, f"#own-{PACK}")
    assert "Mwanga School (Arusha)" in row_text(a, f"#catalog-{PACK}")
    assert fits_phone(a)
    doc_shot(a, "coach-shared")

    b = phone_page(browser, world.server_b.url, "/signin/staff", "neema", COACH_PASSWORD)
    b.goto(world.server_b.url + "/coach/shared")
    b.click(f"#catalog-{PACK} button")
    assert "Picked" in row_text(b, f"#catalog-{PACK}")
    world.sync(world.hub_b)
    assert installed(world.hub_b, PACK) == "1.0.0"

    # A new version, declined with a reason the school reads after its next sync.
    hub_cli(world.hub_a, "content", "import", str(own_pack(world.root / "pack-v2", "1.1.0")))
    world.sync(world.hub_a)
    staff.goto(world.central_server.url + "/shared")
    staff.fill(f"#offer-{PACK} input[name=reason]", "Lesson 2 has no pictures")
    with staff.expect_navigation():
        staff.click(f"#offer-{PACK} button:has-text('Decline')")
    assert "Declined: Lesson 2 has no pictures" in row_text(staff, f"#offer-{PACK}")
    world.sync(world.hub_a)
    a.goto(world.server_a.url + "/coach/shared")
    assert "Declined by central: Lesson 2 has no pictures" in row_text(a, f"#own-{PACK}")

    a.click(f"#own-{PACK} button:has-text('Stop sharing')")
    assert "Not shared" in row_text(a, f"#own-{PACK}")
    world.sync(world.hub_a)
    assert world.central.offers()[PACK]["status"] == "withdrawn"


def test_a_decline_needs_a_reason(world: World) -> None:
    # After the journey nothing is pending: a decline of any pack is refused in one sentence.
    staff = Client(world.central_server.url)
    form = {"username": "zawadi", "password": "a good password"}
    assert staff.post_form("/signin", form).status in (302, 303)
    token = re.search(r'name="csrf_token" value="([^"]+)"', staff.get("/shared").text)
    assert token
    hub_id = next(iter(world.central.offers().values()))["hub_id"]
    sent = staff.request(
        "POST", f"/shared/{hub_id}/{PACK}/decline", form={"csrf_token": token[1], "reason": ""}
    )
    assert sent.status == 400
