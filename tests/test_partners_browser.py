"""Partner classes in Chromium on a 360 px phone: the coach's letters page with a class
looking, the directory and a proposal to answer; and central's /pairs page. The pictures are
the coach and central guides'."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sync.bundle import PartSpec
from sync.central.db import central_db
from sync.central.service import Central
from tests.browser import PHONE, doc_shot, fits_phone
from tests.central_helpers import FakeHub
from tests.security_client import central_with_staff
from tests.test_partner_pages import Site
from tests.test_partner_pages import site as site
from tests.test_partners_core import classes, propose, seek

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_the_coach_finds_a_partner_on_a_phone(browser: Any, site: Site) -> None:
    page = browser.new_context(viewport=PHONE, base_url=site.server.url).new_page()
    page.goto("/signin/staff")
    page.fill("#username", "coach-of-4a")
    page.fill("#password", "a coach's password")
    page.click("main button[type=submit]")
    page.goto("/coach/letters")
    page.fill(f"#languages-{site.class_uid}", "sw, en")
    page.fill(f"#grade-{site.class_uid}", "Grade 4, ages 9 to 10")
    page.fill(f"#note-{site.class_uid}", "We like maths and football.")
    page.click("text=Look for a partner class")
    assert "is looking for a partner class" in page.inner_text("main")
    assert fits_phone(page)
    page.locator("#proposals").scroll_into_view_if_needed()
    doc_shot(page, "letters-find-partner")
    page.click(f"#proposal-{site.incoming} button[value=accept]")
    assert "Accepted" in page.inner_text("main")
    page.context.close()


@pytest.fixture(scope="module")
def central_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("pairs-browser")
    central = Central.open(root / "central", None)
    central_db.connect(reuse_if_open=True)
    a = FakeHub(root / "a", "Mwanga Primary").enrol()
    b = FakeHub(root / "b", "Faraja School").enrol()
    one, other, third = "a" * 32, "b" * 32, "c" * 32
    central.apply(a.bundle(roster=classes(a, **{"4A": one})))
    central.apply(b.bundle(roster=classes(b, **{"5B": other, "5C": third})))
    central.apply(a.bundle(parts=[PartSpec("letters", "letters", records=[seek(one)])], letters=2))
    offer = [propose(third, one, note="We would like to write to you")]
    central.apply(b.bundle(parts=[PartSpec("letters", "letters", records=offer)], letters=2))
    central.close()
    server = central_with_staff(root / "central")
    try:
        server.wait_until_ready()
        yield server.url
    finally:
        server.stop()


def test_staff_pair_classes_on_a_phone(browser: Any, central_url: str) -> None:
    page = browser.new_context(viewport=PHONE, base_url=central_url).new_page()
    page.goto("/signin")
    page.fill("#username", "zawadi")
    page.fill("#password", "a good password")
    page.click("main button[type=submit]")
    page.goto("/pairs")
    page.select_option("#pair-one", label="4A · Mwanga Primary")
    page.select_option("#pair-other", label="5B · Faraja School")
    page.click(".pair-form button[type=submit]")
    assert "The classes are partners" in page.inner_text("main")
    assert "We would like to write to you" in page.inner_text("#proposals-table")
    assert fits_phone(page)
    page.locator("#pairings").scroll_into_view_if_needed()
    doc_shot(page, "central-pairs")
    page.context.close()
