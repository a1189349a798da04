"""Central's /shared review form, every hostile way in (#18 part 1): an action that is neither
accept nor decline, a hub or a pack with no offer waiting, a form without its token, a visitor.
Each is refused in one sentence with its status and leaves the offer waiting; the two real
actions still work. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub.central.app import create_central_app
from sync.central.models import SharedOffer
from sync.central.service import Central
from sync.central.staff import add_staff
from tests.central_helpers import FakeHub
from tests.test_shared_packs_central import PACK, blobs, offer, send, stamp

pytest_plugins = ["tests.central_fixtures"]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def hub_a(tmp_path: Any, central: Central) -> FakeHub:
    hub = FakeHub(tmp_path / "hub-a", "Mwanga School").enrol()
    hub.have = {PACK: "1.0.0"}
    send(central, hub, [offer(hub, stamp())], blobs())
    return hub


@pytest.fixture
def staff(central: Central) -> Any:
    client = create_central_app(central).test_client()
    add_staff("Zawadi", "a good password")
    form = {"username": "zawadi", "password": "a good password", "csrf_token": token(client)}
    assert client.post("/signin", data=form).status_code == 302
    return client


def token(client: Any) -> str:
    match = TOKEN.search(client.get("/signin").get_data(as_text=True))
    if match is None:
        with client.session_transaction() as session:
            return str(session.get("csrf", ""))
    return match[1]


def status(hub: FakeHub) -> str:
    row = SharedOffer.of(hub.hub_id, PACK)
    assert row is not None
    return str(row.status)


def review(client: Any, path: str, **form: str) -> tuple[int, str]:
    answer = client.post(path, data={"csrf_token": token(client), **form})
    return answer.status_code, answer.get_data(as_text=True)


def test_an_unknown_action_is_404_and_declines_nothing(staff: Any, hub_a: FakeHub) -> None:
    for action in ("approve", "delete", "DECLINE", "accept%20"):
        code, text = review(staff, f"/shared/{hub_a.hub_id}/{PACK}/{action}", reason="why")
        assert code == 404, (action, text[:300])
        assert "There is no such action." in text and "Traceback" not in text
    assert status(hub_a) == "pending"


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_an_unknown_hub_or_pack_is_404(staff: Any, hub_a: FakeHub, action: str) -> None:
    unknown_hub = f"/shared/{'0' * 16}/{PACK}/{action}"
    for path in (unknown_hub, f"/shared/{hub_a.hub_id}/own-nope/{action}"):
        code, text = review(staff, path, reason="Lesson 2 has no pictures")
        assert code == 404, (path, text[:300])
        assert "waits for review" in text and "Traceback" not in text
    assert status(hub_a) == "pending"


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_a_form_without_its_token_changes_nothing(staff: Any, hub_a: FakeHub, action: str) -> None:
    path = f"/shared/{hub_a.hub_id}/{PACK}/{action}"
    assert staff.post(path, data={"reason": "why"}).status_code == 400
    assert staff.post(path, data={"reason": "why", "csrf_token": "forged"}).status_code == 400
    assert status(hub_a) == "pending"


def test_a_visitor_is_sent_to_sign_in(central: Central, hub_a: FakeHub) -> None:
    visitor = create_central_app(central).test_client()
    answer = visitor.post(f"/shared/{hub_a.hub_id}/{PACK}/accept", data={"csrf_token": "x"})
    assert answer.status_code in (302, 303, 400, 401, 403)
    assert status(hub_a) == "pending"


def test_decline_then_accept_a_new_version_still_work(
    staff: Any, hub_a: FakeHub, central: Central
) -> None:
    code, _ = review(staff, f"/shared/{hub_a.hub_id}/{PACK}/decline", reason="No pictures")
    assert code == 302 and status(hub_a) == "declined"
    hub_a.have = {PACK: "1.1.0"}
    send(central, hub_a, [offer(hub_a, stamp(1000), "1.1.0")], [])
    code, _ = review(staff, f"/shared/{hub_a.hub_id}/{PACK}/accept")
    assert code == 302 and status(hub_a) == "accepted"
