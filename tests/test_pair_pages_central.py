"""Central's partner classes page (/pairs) through a real waitress server: staff see the
classes hubs sent, pair two of them, see the coaches' open proposals and end a pairing; a
stranger, a form without its token and hostile picks change nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sync.bundle import PartSpec
from sync.central.db import central_db
from sync.central.service import Central
from tests.central_helpers import CentralServer, FakeHub, uid
from tests.security_client import Client, central_with_staff
from tests.test_partners_core import classes, propose, seek

pytestmark = pytest.mark.server


@dataclass
class Site:
    server: CentralServer
    a: FakeHub
    b: FakeHub
    class_a: str
    class_b: str
    proposal: str

    def staff(self) -> Client:
        client = Client(self.server.url)
        signed = client.post_form("/signin", {"username": "zawadi", "password": "a good password"})
        assert signed.status in (302, 303), signed.text
        return client


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Hub Mwanga's 4A and hub Faraja's 5B and 5C at central; 4A looks for a partner and 5C
    proposed to it."""
    root = tmp_path_factory.mktemp("pairs")
    data = root / "central"
    central = Central.open(data, None)
    central_db.connect(reuse_if_open=True)
    a = FakeHub(root / "hub-a", "Mwanga").enrol()
    b = FakeHub(root / "hub-b", "Faraja").enrol()
    class_a, class_b, class_c = uid(), uid(), uid()
    central.apply(a.bundle(roster=classes(a, **{"4A": class_a})))
    central.apply(b.bundle(roster=classes(b, **{"5B": class_b, "5C": class_c})))
    letters = [PartSpec("letters", "letters", records=[seek(class_a)])]
    central.apply(a.bundle(parts=letters, letters=2))
    offer = propose(class_c, class_a, note="We like football")
    central.apply(b.bundle(parts=[PartSpec("letters", "letters", records=[offer])], letters=2))
    central.close()
    server = central_with_staff(data)
    try:
        server.wait_until_ready()
        yield Site(server, a, b, class_a, class_b, offer["uid"])
    finally:
        server.stop()


def value(site: Site, class_uid: str, hub: FakeHub) -> str:
    return f"{class_uid}@{hub.hub_id}"


def test_a_stranger_is_sent_to_sign_in(site: Site) -> None:
    client = Client(site.server.url)
    assert client.get("/pairs").status == 302
    client.get("/signin")
    refused = client.post_form(
        "/pairs",
        {"one": value(site, site.class_a, site.a), "other": value(site, site.class_b, site.b)},
        token_from="/signin",
    )
    assert refused.status == 401 and "<pre" not in refused.text


def test_staff_see_the_classes_and_the_open_proposal(site: Site) -> None:
    page = site.staff().get("/pairs")
    assert page.status == 200
    assert 'name="viewport" content="width=device-width' in page.text  # a phone's width
    assert "4A · Mwanga" in page.text and "5B · Faraja" in page.text
    proposal = re.search(rf'<tr id="proposal-{site.proposal}">.*?</tr>', page.text, re.S)
    assert proposal and "5C" in proposal[0] and "4A" in proposal[0]
    assert "We like football" in proposal[0]


@pytest.mark.parametrize(
    "form",
    [
        {"one": "x", "other": "y"},  # not a pick
        {"one": "0" * 32 + "@nohub", "other": "0" * 32 + "@nohub"},
    ],
)
def test_hostile_picks_are_one_sentence(site: Site, form: dict[str, str]) -> None:
    reply = site.staff().post_form("/pairs", form)
    assert reply.status == 400 and "Pick two classes" in reply.text
    assert "Traceback" not in reply.text


def test_two_classes_of_one_hub_are_not_paired(site: Site) -> None:
    form = {"one": value(site, site.class_b, site.b), "other": value(site, site.class_b, site.b)}
    reply = site.staff().post_form("/pairs", form)
    assert reply.status == 400 and "two different hubs" in reply.text


def test_a_class_named_with_a_hub_that_does_not_hold_it(site: Site) -> None:
    form = {"one": value(site, site.class_a, site.b), "other": value(site, site.class_b, site.a)}
    reply = site.staff().post_form("/pairs", form)
    assert reply.status == 400 and "holds no class" in reply.text


def test_a_form_without_its_token_changes_nothing(site: Site) -> None:
    staff = site.staff()
    form = {"one": value(site, site.class_a, site.a), "other": value(site, site.class_b, site.b)}
    before = staff.get("/pairs").text.count('<tr id="pair-')
    reply = staff.request("POST", "/pairs", form=form)
    assert reply.status in (400, 403)
    assert staff.get("/pairs").text.count('<tr id="pair-') == before


def test_staff_pair_and_end_a_pairing(site: Site) -> None:
    staff = site.staff()
    form = {"one": value(site, site.class_a, site.a), "other": value(site, site.class_b, site.b)}
    made = staff.post_form("/pairs", form)
    assert made.status == 303
    page = staff.get("/pairs").text
    row = re.search(r'<tr id="pair-([0-9a-f]{32})">(.*?)</tr>', page, re.S)
    assert row and "4A" in row[2] and "5B" in row[2] and "Mwanga" in row[2]
    assert "<td>0</td>" in row[2]  # no letters yet
    assert staff.post_form("/pairs", form).status == 303  # twice: still one pairing
    assert len(re.findall(r'<tr id="pair-', staff.get("/pairs").text)) == 1
    assert staff.post_form("/pairs/" + "f" * 32 + "/end", {}, token_from="/pairs").status == 404
    ended = staff.post_form(f"/pairs/{row[1]}/end", {}, token_from="/pairs")
    assert ended.status == 303
    after = re.search(rf'<tr id="pair-{row[1]}">(.*?)</tr>', staff.get("/pairs").text, re.S)
    assert after and "ended" in after[1] and "<form" not in after[1]
