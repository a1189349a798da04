"""Letters in Chromium on a 360 px phone: a learner of 5B reads the letter from 4A and answers
with a photo; their coach approves the answer. The two pictures are the coach guide's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hub.core.db import connected
from hub.learning import letters
from hub.learning.letter_models import ClassPartner, Letter
from hub.people.models import ClassGroup, Learner
from tests.browser import PHONE, doc_shot, fits_phone
from tests.letters_helpers import PASSWORD, PIN, Hub, carry_letter, open_hub, paired_hubs, png

pytestmark = pytest.mark.server
FROM_4A = "Habari 5B! Sisi ni darasa la 4A. Tunapenda mpira wa miguu. Nyinyi mnapenda nini?"


@pytest.fixture(scope="module")
def hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Hub]]:
    with paired_hubs(tmp_path_factory.mktemp("letters-browser")) as (a, b):
        open_hub(a.data)
        with connected():
            group = ClassGroup.get(ClassGroup.name == "4A")
            [partner] = ClassPartner.active_of(group.uid)
            writer = Learner.get(Learner.display_name == "Amina")
            store = letters.store_of(a.data)
            sent = letters.compose(
                store, writer, group, partner.partner_class_uid, FROM_4A, "sw", [png()]
            )
            letters.decide(sent, approve=True)
        carry_letter(a.data, b.data)
        open_hub(b.data)
        with connected():
            letters.decide(Letter.get(Letter.uid == sent.uid), approve=True)
        yield a, b


def phone_page(browser: Any, hub: Hub) -> Any:
    return browser.new_context(viewport=PHONE, base_url=hub.url).new_page()


def test_a_class_reads_and_answers_on_a_phone(browser: Any, hubs: tuple[Hub, Hub]) -> None:
    _, b = hubs
    page = phone_page(browser, b)
    page.goto("/signin/learner/chiku")
    page.fill("#pin", PIN)
    page.click("main button[type=submit]")
    page.click("header >> text=Letters")
    assert FROM_4A in page.inner_text(".letter.theirs")
    assert page.eval_on_selector(".letter.theirs img", "img => img.naturalWidth") == 160
    page.fill("#letter-text", "Hello 4A! We like football too, and singing. What do you eat?")
    page.select_option("#letter-language", "en")
    page.set_input_files(
        "#letter-photos", files=[{"name": "us.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.click("text=Give it to my teacher")
    assert "waiting for your teacher" in page.inner_text(".letter.ours")
    assert page.eval_on_selector(".letter.ours img", "img => img.naturalWidth") == 160
    assert fits_phone(page)
    page.locator(".letter.ours").scroll_into_view_if_needed()
    doc_shot(page, "letters-class")
    page.context.close()


def test_the_coach_approves_on_a_phone(browser: Any, hubs: tuple[Hub, Hub]) -> None:
    _, b = hubs
    page = phone_page(browser, b)
    page.goto("/signin/staff")
    page.fill("#username", "coach-of-5b")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.click("header >> text=Letters")
    assert "We like football too" in page.inner_text(".approval")
    assert fits_phone(page)
    doc_shot(page, "letters-approve")
    page.click("button[value=approve]")
    assert "goes to the partner class with the next sync" in page.inner_text("main")
    assert "No letters are waiting." in page.inner_text("main")
    page.context.close()
