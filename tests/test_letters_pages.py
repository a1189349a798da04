"""The letters pages through real servers: a learner of 4A (hub Mwanga) writes to 5B (hub
Faraja), A's coach approves, the letter crosses (as a bundle via central leaves it), B's coach
approves, and 5B reads it beside its own replies; then every hostile way in we know of."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from hub.core.db import connected
from hub.learning.letter_models import Letter
from sync.letters import MAX_PHOTO_BYTES
from tests.letters_helpers import (
    Hub,
    carry_letter,
    open_hub,
    paired_hubs,
    png,
    post_multipart,
    signed_in,
)
from tests.security_client import Client, Reply

pytestmark = pytest.mark.server
FORM_ID = re.compile(r'name="form_id" value="([0-9a-f]{32})"')
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(300)


@pytest.fixture(scope="module")
def hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Hub]]:
    with paired_hubs(tmp_path_factory.mktemp("letters")) as both:
        yield both


def write(
    client: Client, hub: Hub, text: str, files: Sequence[tuple[str, str, bytes]] = (), **more: str
) -> Reply:
    """Send the writing form of the class's letters page, as the learner's browser does."""
    page = client.get(f"/letters/{hub.pair_uid}")
    assert page.status == 200, page.text[:300]
    fields = {"text": text, "language": "sw", **more}
    fields.setdefault("form_id", found(FORM_ID, page.text))
    fields.setdefault("csrf_token", found(TOKEN, page.text))
    return post_multipart(client, f"/letters/{hub.pair_uid}/write", fields, list(files))


def found(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    assert match, text[:500]
    return match[1]


def letters_on(data: Path) -> list[Letter]:
    open_hub(data)
    with connected():
        return list(Letter.select().order_by(Letter.id))


def test_a_letter_from_writing_to_reading(hubs: tuple[Hub, Hub]) -> None:
    a, b = hubs
    amina = signed_in(a.url, "amina")
    assert amina.get("/letters").headers["Location"].endswith(f"/letters/{a.pair_uid}")
    sent = write(amina, a, "Habari 5B! <script>alert(1)</script>", [("photos", "p.png", png())])
    assert sent.status == 303, sent.text
    page = amina.get(f"/letters/{a.pair_uid}").text
    assert "waiting for your teacher" in page and "&lt;script&gt;alert(1)" in page
    assert "<script>alert" not in page

    coach = signed_in(a.url, "coach-of-4a")
    queue = coach.get("/coach/letters").text
    assert "written by Amina" in queue and "&lt;script&gt;" in queue
    [letter] = letters_on(a.data)
    assert (
        coach.post_form(
            f"/coach/letters/{letter.id}", {"decision": "approve"}, "/coach/letters"
        ).status
        == 303
    )
    assert "approved, goes with the next sync" in amina.get(f"/letters/{a.pair_uid}").text

    uid = carry_letter(a.data, b.data)
    assert "at central" in amina.get(f"/letters/{a.pair_uid}").text
    chiku = signed_in(b.url, "chiku")
    [arrived] = letters_on(b.data)
    photo = f"/letters/file/{arrived.id}/{arrived.files()[0]['sha256']}"
    assert "Habari 5B" not in chiku.get(f"/letters/{b.pair_uid}").text  # not approved yet
    assert chiku.get(photo).status == 403

    coach_b = signed_in(b.url, "coach-of-5b")
    assert "the class sees it only if you approve" in coach_b.get("/coach/letters").text
    assert (
        coach_b.post_form(
            f"/coach/letters/{arrived.id}", {"decision": "approve"}, "/coach/letters"
        ).status
        == 303
    )
    seen = chiku.get(f"/letters/{b.pair_uid}").text
    assert 'class="card letter theirs"' in seen and 'lang="sw"' in seen and "Kiswahili" in seen
    assert "&lt;script&gt;" in seen
    served = chiku.get(photo)
    assert served.status == 200 and served.body == png()
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"].startswith("sandbox")
    assert [x.state for x in letters_on(b.data)] == ["read"]  # the class opened it

    reply = write(chiku, b, "Asante 4A!")
    assert reply.status == 303
    both = chiku.get(f"/letters/{b.pair_uid}").text
    assert both.index("Habari 5B") < both.index("Asante 4A")  # a reply beside the letter
    assert 'class="card letter ours"' in both
    assert uid


def test_a_visitor_and_a_learner_of_another_class_see_nothing(hubs: tuple[Hub, Hub]) -> None:
    a, _ = hubs
    visitor = Client(a.url)
    assert visitor.get(f"/letters/{a.pair_uid}").status == 401
    assert visitor.get("/coach/letters").status == 401
    other = signed_in(a.url, "other-of-4a", "127.0.0.2")
    assert other.get(f"/letters/{a.pair_uid}").status == 403
    assert other.get("/coach/letters").status == 403
    assert "no partner class yet" in other.get("/letters").text
    form = {"csrf_token": other.token("/signout"), "form_id": "a" * 32, "text": "hi"}
    assert post_multipart(other, f"/letters/{a.pair_uid}/write", form, []).status == 403
    amina = signed_in(a.url, "amina")
    write(amina, a, "Only for 4A", [("photos", "p.jpg", JPEG)])
    letter = letters_on(a.data)[-1]
    photo = f"/letters/file/{letter.id}/{letter.files()[0]['sha256']}"
    assert amina.get(photo).status == 200
    assert other.get(photo).status == 403
    assert visitor.get(photo).status == 401
    assert (
        other.post_form(f"/coach/letters/{letter.id}", {"decision": "approve"}, "/letters").status
        == 403
    )


def test_a_coach_reads_but_never_writes(hubs: tuple[Hub, Hub]) -> None:
    a, _ = hubs
    coach = signed_in(a.url, "coach-of-4a", "127.0.0.3")
    page = coach.get(f"/letters/{a.pair_uid}")
    assert page.status == 200 and "form_id" not in page.text  # no writing form
    form = {"csrf_token": coach.token("/signout"), "form_id": "b" * 32, "text": "From a grown-up"}
    assert post_multipart(coach, f"/letters/{a.pair_uid}/write", form, []).status == 403


def test_forms_without_a_token_or_sent_twice_change_nothing(hubs: tuple[Hub, Hub]) -> None:
    a, _ = hubs
    amina = signed_in(a.url, "amina", "127.0.0.4")
    before = len(letters_on(a.data))
    assert write(amina, a, "no token", csrf_token="").status == 400
    assert len(letters_on(a.data)) == before
    page = amina.get(f"/letters/{a.pair_uid}").text
    form_id = found(FORM_ID, page)
    assert write(amina, a, "Once", form_id=form_id).status == 303
    again = write(amina, a, "Once", form_id=form_id)
    assert again.status == 400 and "already sent" in again.text
    assert [x.text for x in letters_on(a.data)[before:]] == ["Once"]

    coach = signed_in(a.url, "coach-of-4a", "127.0.0.5")
    letter = letters_on(a.data)[-1]
    path = f"/coach/letters/{letter.id}"
    assert coach.request("POST", path, form={"decision": "approve"}).status == 400
    assert letters_on(a.data)[-1].state == "waiting"
    coach.post_form(path, {"decision": "decline"}, "/coach/letters")
    replayed = coach.post_form(path, {"decision": "approve"}, "/coach/letters")
    assert replayed.status == 303
    assert letters_on(a.data)[-1].state == "declined"
    assert "already decided" in coach.get("/coach/letters").text


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("big.jpg", b"\xff\xd8\xff\xe0" + bytes(MAX_PHOTO_BYTES), "too large"),
        ("p.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>', "Only JPEG"),
        ("p.jpg", b"<!doctype html><script>alert(1)</script>", "Only JPEG"),
    ],
)
def test_files_that_are_not_small_photos_are_refused(
    hubs: tuple[Hub, Hub], name: str, data: bytes, words: str
) -> None:
    a, _ = hubs
    amina = signed_in(a.url, "amina", "127.0.0.6")
    before = len(letters_on(a.data))
    refused = write(amina, a, "With a photo", [("photos", name, data)])
    assert refused.status == 400 and words in refused.text
    assert "With a photo" in refused.text  # the words are kept
    assert len(letters_on(a.data)) == before


def test_a_text_too_long_is_refused(hubs: tuple[Hub, Hub]) -> None:
    a, _ = hubs
    amina = signed_in(a.url, "amina", "127.0.0.7")
    before = len(letters_on(a.data))
    refused = write(amina, a, "x" * 10_000)
    assert refused.status == 400 and "at most 5000 characters" in refused.text
    assert len(letters_on(a.data)) == before


def test_personal_details_are_warned_about_before_and_at_approval(hubs: tuple[Hub, Hub]) -> None:
    a, _ = hubs
    amina = signed_in(a.url, "amina", "127.0.0.8")
    before = len(letters_on(a.data))
    text = "Call me on ٠٧١٢ ٣٤٥ ٦٧٨"
    warned = write(amina, a, text)
    assert warned.status == 200 and "It looks like a phone number." in warned.text
    assert len(letters_on(a.data)) == before
    assert write(amina, a, text, anyway="1").status == 303
    queue = signed_in(a.url, "coach-of-4a", "127.0.0.9").get("/coach/letters").text
    assert "Check before approving" in queue and "It looks like a phone number." in queue
