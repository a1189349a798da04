"""Finding a partner class on the coach's letters page, through a real hub server: the coach
marks a class as looking (and stops), proposes to a class in the directory (and withdraws
the proposal), and answers a proposal; a refused form comes back on the coach page with its
error beside the form, what the coach typed kept and status 400; a learner or a form without
its token changes nothing."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.core.db import connected
from hub.learning import partners
from hub.learning.partner_models import PartnerProposal, PartnerSeek
from hub.people.models import ClassGroup
from sync.letters import MAX_NOTE
from tests.central_helpers import uid
from tests.conftest import LiveServer
from tests.letters_helpers import make_hub, open_hub, signed_in
from tests.security_client import Client

pytestmark = pytest.mark.server


@dataclass
class Site:
    data: Path
    server: LiveServer
    class_uid: str  # 4A, this hub's
    listed: str  # 5B on another hub, in the directory
    incoming: str  # a proposal from 6C on another hub to 4A

    def coach(self) -> Client:
        return signed_in(self.server.url, "coach of 4a")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("partners") / "data"
    class_uid = make_hub(data, "4A", "Amina")
    listed, incoming = uid(), uid()
    open_hub(data)
    with connected():
        entry: dict[str, Any] = {"class_uid": listed, "class": "5B", "hub": "Faraja"}
        entry.update(region="Pwani", languages=["sw"], grade="Grade 5", note="We sing")
        partners.take_directory({"t": "directory", "entries": [entry]})
        partners.take_proposal(
            {
                "t": "proposal",
                "uid": incoming,
                "from_class": uid(),
                "from_name": "6C",
                "from_hub": "Upendo",
                "to_class": class_uid,
                "note": "Let us write",
                "state": "proposed",
            }
        )
    server = LiveServer(data)
    try:
        server.wait_until_ready()
        yield Site(data, server, class_uid, listed, incoming)
    finally:
        server.stop()


def on_hub(site: Site) -> None:
    open_hub(site.data)


def coach_page_again(reply: Any, words: str) -> None:
    """The coach's letters page, with the refused form's error in one sentence, 400."""
    assert reply.status == 400 and "Traceback" not in reply.text
    assert "Letters between partner classes" in reply.text  # the page, not an error page
    [alert] = re.findall(r'<p class="card error" role="alert">(.*?)</p>', reply.text, re.S)
    assert words in alert and "\n" not in alert.strip()


def beside(page: str, anchor: str) -> str:
    """The card holding the element with id `anchor` (a section or list item)."""
    found = re.search(rf'id="{anchor}">(.*?)</(section|li)>', page, re.S)
    assert found, anchor
    return found[1]


def other_class(site: Site) -> str:
    on_hub(site)
    with connected():
        return str(ClassGroup.get(ClassGroup.name == "4A-other").uid)


def test_the_page_shows_the_directory_and_the_proposal(site: Site) -> None:
    page = site.coach().get("/coach/letters")
    assert page.status == 200
    listing = re.search(rf'id="listing-{site.listed}">(.*?)</li>', page.text, re.S)
    assert listing and "5B" in listing[1] and "Faraja" in listing[1] and "Pwani" in listing[1]
    assert "We sing" in listing[1] and "Propose a pairing" in listing[1]
    proposal = re.search(rf'id="proposal-{site.incoming}">(.*?)</li>', page.text, re.S)
    assert proposal and "6C" in proposal[1] and "waiting for your answer" in proposal[1]


def test_a_class_looks_for_a_partner_and_stops(site: Site) -> None:
    coach = site.coach()
    form = {"class_uid": site.class_uid, "languages": "sw, en", "grade": "Grade 4", "note": "Hi"}
    made = coach.post_form("/coach/partners/seek", form, token_from="/coach/letters")
    assert made.status == 303
    page = coach.get("/coach/letters").text
    assert "Looking for a partner class" in page and "sw, en" in page
    stop = {"class_uid": site.class_uid}
    assert (
        coach.post_form("/coach/partners/withdraw", stop, token_from="/coach/letters").status == 303
    )
    on_hub(site)
    with connected():
        assert PartnerSeek.get_by_id(site.class_uid).active == 0


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({"languages": "", "grade": "", "note": ""}, 400, "language codes"),
        ({"languages": "sw", "grade": "", "note": "x" * (MAX_NOTE + 1)}, 400, "at most"),
        ({"languages": "<script>", "grade": "", "note": ""}, 400, "not a language code"),
        ({"class_uid": "nope", "languages": "sw"}, 404, "no such class"),
    ],
)
def test_a_bad_seek_is_one_sentence(
    site: Site, form: dict[str, str], status: int, words: str
) -> None:
    form = {"class_uid": site.class_uid, **form}
    reply = site.coach().post_form("/coach/partners/seek", form, token_from="/coach/letters")
    assert reply.status == status and words in reply.text and "Traceback" not in reply.text
    if status == 400:
        coach_page_again(reply, words)
        card = beside(reply.text, f"seek-{site.class_uid}")
        assert 'id="refused"' in card and words in card


def test_a_refused_seek_keeps_what_the_coach_typed(site: Site) -> None:
    typed = {"languages": "sw, <en>", "grade": "Grade 4 & 5", "note": 'We "sing" <b>loud</b>'}
    form = {"class_uid": site.class_uid, **typed}
    reply = site.coach().post_form("/coach/partners/seek", form, token_from="/coach/letters")
    coach_page_again(reply, "not a language code")
    card = beside(reply.text, f"seek-{site.class_uid}")
    assert (
        f'name="languages" required maxlength="60" value="{html.escape(typed["languages"])}"'
        in card
    )
    assert f'value="{html.escape(typed["grade"])}"' in card
    assert f">{html.escape(typed['note'], quote=False)}</textarea>" in card.replace("&#34;", '"')
    assert "<b>loud</b>" not in reply.text  # kept as text, never as markup
    on_hub(site)
    with connected():
        assert PartnerSeek.get_by_id(site.class_uid).active == 0  # nothing changed


def test_a_coach_proposes_once(site: Site) -> None:
    coach = site.coach()
    form = {"class_uid": site.class_uid, "listed": site.listed, "note": "Hello"}
    assert (
        coach.post_form("/coach/partners/propose", form, token_from="/coach/letters").status == 303
    )
    again = coach.post_form("/coach/partners/propose", form, token_from="/coach/letters")
    assert again.status == 400 and "already proposed" in again.text
    stranger = {**form, "listed": uid()}
    gone = coach.post_form("/coach/partners/propose", stranger, token_from="/coach/letters")
    assert gone.status == 400 and "no longer looking" in gone.text
    page = coach.get("/coach/letters").text
    assert "goes with the next sync" in page


def test_a_refused_proposal_keeps_the_class_and_the_note(site: Site) -> None:
    other, note = other_class(site), "x" * (MAX_NOTE + 1)
    form = {"class_uid": other, "listed": site.listed, "note": note}
    reply = site.coach().post_form("/coach/partners/propose", form, token_from="/coach/letters")
    coach_page_again(reply, "at most")
    card = beside(reply.text, f"listing-{site.listed}")
    assert 'id="refused"' in card and f">{note}</textarea>" in card
    assert f'<option value="{other}" selected>' in card
    assert f'<option value="{site.class_uid}">' in card  # the other choice, not picked
    gone = {**form, "listed": uid(), "note": "Hi"}
    vanished = site.coach().post_form("/coach/partners/propose", gone, token_from="/coach/letters")
    coach_page_again(vanished, "no longer looking")  # no form to stand beside: said on top
    assert 'id="refused"' not in vanished.text
    on_hub(site)
    with connected():
        assert PartnerProposal.select().where(PartnerProposal.class_uid == other).count() == 0


def test_the_coach_withdraws_a_proposal_while_it_is_open(site: Site) -> None:
    on_hub(site)
    with connected():
        [mine] = PartnerProposal.select().where(PartnerProposal.direction == "out")
    coach = site.coach()
    card = beside(coach.get("/coach/letters").text, f"proposal-{mine.uid}")
    assert "Withdraw the proposal" in card
    path = f"/coach/partners/proposals/{mine.uid}/withdraw"
    assert coach.post_form(path, {}, token_from="/coach/letters").status == 303
    page = coach.get("/coach/letters").text
    card = beside(page, f"proposal-{mine.uid}")
    assert "withdrawn" in card and "Withdraw the proposal" not in card
    again = coach.post_form(path, {}, token_from="/coach/letters")
    coach_page_again(again, "no longer open")
    assert 'id="refused"' in beside(again.text, f"proposal-{mine.uid}")
    theirs = f"/coach/partners/proposals/{site.incoming}/withdraw"  # not this coach's to take back
    coach_page_again(coach.post_form(theirs, {}, token_from="/coach/letters"), "no longer open")
    missing = coach.post_form(
        f"/coach/partners/proposals/{uid()}/withdraw", {}, token_from="/coach/letters"
    )
    assert missing.status == 404
    learner = signed_in(site.server.url, "amina")
    assert learner.post_form(path, {}, token_from="/letters").status == 403
    on_hub(site)
    with connected():
        assert PartnerProposal.get_by_id(mine.uid).answer == "withdraw"
        assert PartnerProposal.get_by_id(site.incoming).answer == ""
    sent = partners_outgoing(site)
    assert [r for r in sent if r["t"] in ("propose", "withdraw")] == []  # it never left


def partners_outgoing(site: Site) -> list[dict[str, Any]]:
    on_hub(site)
    with connected():
        return partners.outgoing().records


def test_learners_and_forms_without_a_token_change_nothing(site: Site) -> None:
    learner = signed_in(site.server.url, "amina")
    form = {"decision": "accept"}
    refused = learner.post_form(
        f"/coach/partners/proposals/{site.incoming}", form, token_from="/letters"
    )
    assert refused.status == 403
    coach = site.coach()
    coach.get("/coach/letters")
    no_token = coach.request("POST", f"/coach/partners/proposals/{site.incoming}", form=form)
    assert no_token.status in (400, 403)
    on_hub(site)
    with connected():
        assert PartnerProposal.get_by_id(site.incoming).answer == ""


def test_the_coach_accepts_a_proposal_once(site: Site) -> None:
    coach = site.coach()
    path = f"/coach/partners/proposals/{site.incoming}"
    assert coach.post_form(path, {"decision": "accept"}, token_from="/coach/letters").status == 303
    again = coach.post_form(path, {"decision": "decline"}, token_from="/coach/letters")
    coach_page_again(again, "already answered")
    assert 'id="refused"' in beside(again.text, f"proposal-{site.incoming}")
    missing = coach.post_form(f"/coach/partners/proposals/{uid()}", {}, token_from="/coach/letters")
    assert missing.status == 404
    page = coach.get("/coach/letters").text
    assert "accepted, the pairing comes with the next sync" in page
    on_hub(site)
    with connected():
        assert ClassGroup.get_or_none(ClassGroup.uid == site.class_uid) is not None
        assert PartnerProposal.get_by_id(site.incoming).answer == "accept"
