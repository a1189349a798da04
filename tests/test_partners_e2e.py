"""Two coaches agree on partner classes through central, end to end: two real hubs and a real
central (SQLite and PostgreSQL). Hub A's 4A looks for a partner; hub B's coach sees it in the
directory after a sync and proposes 5B, withdraws that proposal and proposes again (A's
coach reads the first as withdrawn); A's coach accepts; central pairs the classes; then a
letter of 4A travels to 5B. Once by USB folders only, once over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.core.db import connected
from hub.learning import letters, partners
from hub.learning.letter_models import ClassPartner, Letter
from hub.learning.partner_models import PartnerListing, PartnerProposal
from hub.people.models import ClassGroup, Learner
from tests.test_letters_e2e import Carry, enrol, letter_on, open_hub

pytestmark = [pytest.mark.server, pytest.mark.timeout(400)]  # 14 syncs, each 3 processes
pytest_plugins = ["tests.central_fixtures", "tests.letters_fixtures"]


def test_partners_agreed_then_a_letter(
    two_hubs: tuple[Path, Path, Path, str | None], tmp_path: Path, carry: Carry
) -> None:
    a, b, central_data, url = two_hubs
    _agree_and_write(a, b, central_data, url, tmp_path, carry)


def _words(data: Path, uid: str) -> str:
    open_hub(data)
    with connected():
        return partners.status_words(PartnerProposal.get_by_id(uid))


def _agree_and_write(
    a: Path, b: Path, central_data: Path, url: str | None, tmp_path: Path, carry: Carry
) -> None:
    enrol(a, central_data, url, tmp_path)
    enrol(b, central_data, url, tmp_path)
    carry(b)  # B's classes reach central first
    open_hub(a)
    with connected():
        partners.seek(
            ClassGroup.get(ClassGroup.name == "4A"), "sw, en", "Grade 4", "Tunapenda hisabati"
        )
    carry(a)  # 4A (and A's roster) reach central: 4A is listed
    carry(b)  # B hears the directory

    open_hub(b)
    with connected():
        [listing] = PartnerListing.ordered()
        assert listing.class_name == "4A" and listing.hub_name  # the hub's enrolled name
        assert listing.language_list() == ["sw", "en"] and listing.note == "Tunapenda hisabati"
        first = partners.propose(
            ClassGroup.get(ClassGroup.name == "5B"), listing.class_uid, "First try"
        ).uid
    carry(b)  # the proposal reaches central
    assert _words(b, first) == "proposed, waiting for the other coach"
    open_hub(b)
    with connected():  # B's coach takes it back and proposes again with a better note
        partners.withdraw_proposal(PartnerProposal.get_by_id(first))
        proposal = partners.propose(
            ClassGroup.get(ClassGroup.name == "5B"), listing.class_uid, "Hello"
        )
        uid = proposal.uid
    carry(b)  # the withdrawal, then the new proposal, reach central
    assert _words(b, first) == "withdrawn"
    carry(a)  # and A's coach sees both

    assert _words(a, first) == "withdrawn by the other coach"
    open_hub(a)
    with connected():
        assert not partners.waiting_for_answer(PartnerProposal.get_by_id(first))
        incoming = PartnerProposal.get_by_id(uid)
        assert partners.waiting_for_answer(incoming)
        assert (incoming.partner_class, incoming.note) == ("5B", "Hello")
        partners.answer(incoming, accept=True)
    carry(a)  # the answer reaches central, which pairs; A's reply carries the pairing
    carry(b)  # B hears the pairing and the proposal's end
    assert _words(a, uid) == "paired" and _words(b, uid) == "paired"

    open_hub(b)
    with connected():
        assert PartnerListing.select().count() == 0  # 4A stopped looking when it accepted

    open_hub(a)
    with connected():
        group = ClassGroup.get(ClassGroup.name == "4A")
        [partner] = ClassPartner.active_of(group.uid)
        assert partner.partner_class == "5B"
        writer = Learner.get(Learner.display_name == "Learner of Mwanga")
        store = letters.store_of(a)
        letter = letters.compose(
            store, writer, group, partner.partner_class_uid, "Habari 5B!", "sw", []
        )
        letters.decide(letter, approve=True)
        letter_uid = letter.uid
    carry(a)
    carry(b)
    open_hub(b)
    with connected():
        arrived = Letter.get(Letter.uid == letter_uid)
        assert arrived.text == "Habari 5B!" and arrived.state == "waiting"
    carry(b)
    carry(a)
    assert letter_on(a, letter_uid).state == "delivered"
    carry(a)  # nothing moves twice
    assert _words(a, uid) == "paired"
