"""Sign-in cannot be used against learners (docs/security.md), against a real server: wrong
PINs slow only the client that sends them, guesses cannot race past the count, an unknown
name costs what a known one does, sessions end everywhere at once, and signed-in pages are
never kept by a shared phone's browser. 127.0.0.2, .3, ... play other phones."""

from __future__ import annotations

import re
import secrets
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.core.throttle import Refused, Throttle
from hub.people import models as people
from hub.people.models import ClassGroup, Learner, StaffUser
from hub.web.app import create_app
from sync import passwords
from tests.conftest import LiveServer
from tests.security_client import Client, central_with_staff

PER_MINUTE = 10  # the default of signin_tries_per_minute
PER_ADDRESS = 30  # the default of signin_tries_per_address_minute
PRANKSTER, AMINA, THIEF = "127.0.0.2", "127.0.0.3", "127.0.0.4"
OPERATOR = {"username": "olive-operator", "password": "operator-password"}
COACH = {"username": "coach-carter", "password": "coach-password"}


def _prepare(data_dir: Path, *, staff: bool = True) -> dict[str, int]:
    """Learners Amina and Baraka (PINs 1234 and 5678), six more, a coach and an operator."""
    app = create_app(prepare_data_dir(load_config(data_dir, {"load_samples": False}, environ={})))
    ids = {}
    with app.app_context(), connected():
        group = ClassGroup.named("Class 4", create=True)
        for name, pin in [("Amina Juma", "1234"), ("Baraka", "5678")]:
            learner = Learner.add(name, pin=pin)
            group.add_learner(learner)
            ids[learner.username] = learner.id
        for n in range(6):
            ids[f"pupil-{n}"] = Learner.add(f"Pupil {n}", pin="2468").id
        if staff:
            ids["coach-carter"] = StaffUser.add("Coach Carter", "coach", "coach-password").id
            StaffUser.add("Olive Operator", "operator", "operator-password")
    return ids


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, int]]]:
    ids = _prepare(tmp_path / "data")
    server = LiveServer(tmp_path / "data", env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        server.wait_until_ready()
        yield server, ids
    finally:
        server.stop()


def _statuses(replies: list[int]) -> Counter[int]:
    return Counter(replies)


@pytest.mark.server
def test_a_pranksters_wrong_pins_do_not_lock_a_classmate_out(hub: tuple[LiveServer, dict]) -> None:
    server, _ = hub
    prankster = Client(server.url, PRANKSTER)
    tries = [prankster.sign_in("amina-juma", pin=f"{n:04d}").status for n in range(50)]
    assert _statuses(tries) == {401: PER_MINUTE, 429: 50 - PER_MINUTE}
    started = time.monotonic()
    assert Client(server.url, AMINA).sign_in("amina-juma", pin="1234").status == 201
    assert time.monotonic() - started < 5


@pytest.mark.server
def test_two_phones_behind_one_address_are_told_apart(hub: tuple[LiveServer, dict]) -> None:
    server, _ = hub
    prankster, amina = Client(server.url, THIEF), Client(server.url, THIEF)
    for phone in (prankster, amina):
        phone.get("/signin")  # the sign-in page hands each browser its device cookie
    assert prankster.cookies["hub_device"] != amina.cookies["hub_device"]
    tries = [prankster.sign_in("amina-juma", pin=f"{n:04d}").status for n in range(15)]
    assert _statuses(tries) == {401: PER_MINUTE, 429: 5}
    assert amina.sign_in("amina-juma", pin="1234").status == 201
    # A device cookie the hub did not sign is no device: such a client counts as its address.
    forger = Client(server.url, PRANKSTER, keep_cookies=False)
    forged = []
    for _ in range(PER_MINUTE + 2):
        forger.cookies = {"hub_device": secrets.token_urlsafe(16)}
        forged.append(forger.sign_in("baraka", pin="0000").status)
    assert _statuses(forged) == {401: PER_MINUTE, 429: 2}


@pytest.mark.server
def test_fresh_device_cookies_buy_no_more_tries_than_the_address_allows(
    hub: tuple[LiveServer, dict],
) -> None:
    server, _ = hub
    tries = []
    for n in range(PER_ADDRESS + 5):
        phone = Client(server.url, PRANKSTER)
        phone.get("/signin")  # a fresh device cookie for every guess
        tries.append(phone.sign_in("amina-juma", pin=f"{n:04d}").status)
    assert _statuses(tries) == {401: PER_ADDRESS, 429: 5}
    assert Client(server.url, AMINA).sign_in("amina-juma", pin="1234").status == 201


@pytest.mark.server
def test_thirty_guesses_at_once_get_at_most_ten_checks(hub: tuple[LiveServer, dict]) -> None:
    server, _ = hub
    names = ["amina-juma", "baraka", *(f"pupil-{n}" for n in range(6)), "nobody", "ghost"]

    def guess(n: int) -> int:
        client = Client(server.url, PRANKSTER)
        return client.sign_in(names[n % len(names)], pin=f"{9000 + n}").status

    with ThreadPoolExecutor(30) as pool:
        replies = list(pool.map(guess, range(30)))
    assert _statuses(replies) == {401: PER_MINUTE, 429: 30 - PER_MINUTE}
    refused = Client(server.url, PRANKSTER).sign_in("amina-juma", pin="1234")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0


@pytest.mark.server
def test_a_success_with_another_account_does_not_reset_the_count(
    hub: tuple[LiveServer, dict],
) -> None:
    server, _ = hub
    prankster = Client(server.url, PRANKSTER)
    wrong = [prankster.sign_in("amina-juma", pin=f"{n:04d}").status for n in range(PER_MINUTE - 1)]
    assert wrong == [401] * (PER_MINUTE - 1)
    assert prankster.sign_in("baraka", pin="5678").status == 201  # the prankster's own account
    assert prankster.sign_in("amina-juma", pin="4321").status == 401  # the tenth wrong one
    assert prankster.sign_in("amina-juma", pin="4322").status == 429
    assert prankster.sign_in("baraka", pin="5678").status == 429  # until the minute is over


def _ratio_of_medians(url: str, known: list[str], unknown: list[str], **secret: str) -> float:
    """Slowest over fastest median time of a wrong sign-in, known and unknown names taking
    turns (from two addresses) so that load from elsewhere falls on both alike."""
    clients = Client(url, "127.0.0.5"), Client(url, "127.0.0.6")
    times: tuple[list[float], list[float]] = ([], [])
    for names in zip(known, unknown, strict=True):
        for client, name, spent in zip(clients, names, times, strict=True):
            started = time.perf_counter()
            assert client.sign_in(name, **secret).status == 401
            spent.append(time.perf_counter() - started)
    medians = [statistics.median(spent) for spent in times]
    return max(medians) / min(medians)


@pytest.mark.server
def test_an_unknown_name_takes_as_long_as_a_known_one(hub: tuple[LiveServer, dict]) -> None:
    server, _ = hub
    known = ["amina-juma", "baraka", *(f"pupil-{n}" for n in range(3))]
    unknown = [f"nobody-{n}" for n in range(5)]
    # Loose: a shared test machine is noisy; an unknown name cost 12 times a known one before.
    assert _ratio_of_medians(server.url, known, unknown, pin="0000") < 3
    staff = ["coach-carter", "olive-operator", "coach-carter", "olive-operator"]
    assert _ratio_of_medians(server.url, staff, ["nobody", "ghost"] * 2, password="x") < 3


def test_a_known_and_an_unknown_name_check_the_same_kind_of_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(
        prepare_data_dir(load_config(tmp_path / "data", {"load_samples": False}, environ={}))
    )
    with app.app_context(), connected():
        Learner.add("Amina Juma", pin="1234")
        StaffUser.add("Coach Carter", "coach", "coach-password")
    checked: list[str] = []
    real = passwords._matches

    def spy(hashed: str, secret: str) -> bool:
        checked.append(hashed.split("$", 1)[0])
        return real(hashed, secret)

    monkeypatch.setattr(passwords, "_matches", spy)
    client: FlaskClient = app.test_client()
    for body in (
        {"username": "amina-juma", "pin": "0000"},
        {"username": "nobody", "pin": "0000"},
        {"username": "coach-carter", "password": "wrong-password"},
        {"username": "nobody", "password": "wrong-password"},
    ):
        assert client.post("/api/session", json=body).status_code == 401
    assert checked == [passwords.PIN_METHOD] * 2 + [passwords.PASSWORD_METHOD] * 2
    # Both cheap enough for a class signing in at once: no 32 MiB scrypt for a PIN.
    assert passwords.PIN_METHOD.startswith("pbkdf2:")
    assert passwords.PASSWORD_METHOD == "scrypt:16384:8:1"


@pytest.mark.server
def test_a_strangers_wrong_setup_codes_do_not_delay_the_first_operator(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        server.wait_until_ready()
        code = re.search(r"enter the code ([0-9A-F-]{14})", server.log.read_text())[1]
        stranger = Client(server.url, PRANKSTER)
        form = {"code": "AAAA-BBBB-CCCC", "name": "Eve", "password": "password1"}
        form["password2"] = form["password"]
        tries = [stranger.post_form("/admin/setup", form).status for _ in range(30)]
        assert _statuses(tries) == {403: PER_MINUTE, 429: 30 - PER_MINUTE}
        operator = Client(server.url, AMINA)
        made = operator.post_form("/admin/setup", {**form, "code": code, "name": "Olive"})
        assert made.status == 303 and made.headers["Location"].endswith("/admin/")
        assert operator.get("/admin/").status == 200
    finally:
        server.stop()


def _operator(url: str) -> Client:
    operator = Client(url, "127.0.0.9")
    assert operator.sign_in(**OPERATOR).status == 201
    return operator


def _end_by_sign_out(url: str, victim: Client, ids: dict) -> None:
    assert victim.request("DELETE", "/api/session", json_body={}).status == 204


def _end_by_pin_change(url: str, victim: Client, ids: dict) -> None:
    path = f"/admin/learners/{ids['amina-juma']}"
    changed = _operator(url).post_form(path, {"name": "Amina Juma", "pin": "9753"})
    assert changed.status == 303


def _end_by_password_change(url: str, victim: Client, ids: dict) -> None:
    user = f"/admin/users/{ids['coach-carter']}"
    form = {"password": "a-new-password", "password2": "a-new-password"}
    assert _operator(url).post_form(f"{user}/password", form, token_from=user).status == 303


def _end_learner_everywhere(url: str, victim: Client, ids: dict) -> None:
    page = f"/admin/learners/{ids['amina-juma']}"
    assert _operator(url).post_form(f"{page}/signout", {}, token_from=page).status == 303


def _end_staff_everywhere(url: str, victim: Client, ids: dict) -> None:
    page = f"/admin/users/{ids['coach-carter']}"
    assert _operator(url).post_form(f"{page}/signout", {}, token_from=page).status == 303


@pytest.mark.server
@pytest.mark.parametrize(
    ("ending", "who"),
    [
        (_end_by_sign_out, {"username": "amina-juma", "pin": "1234"}),
        (_end_by_pin_change, {"username": "amina-juma", "pin": "1234"}),
        (_end_learner_everywhere, {"username": "amina-juma", "pin": "1234"}),
        (_end_by_password_change, COACH),
        (_end_staff_everywhere, COACH),
        (_end_by_sign_out, COACH),
    ],
)
def test_a_copied_session_cookie_stops_working_when_the_session_ends(
    hub: tuple[LiveServer, dict], ending: Callable[[str, Client, dict], None], who: dict
) -> None:
    server, ids = hub
    victim = Client(server.url, AMINA)
    assert victim.sign_in(**who).status == 201
    stolen = victim.copy(THIEF)
    assert stolen.get("/api/session").status == 200  # a copy works while the session lives
    bystander = Client(server.url, PRANKSTER)
    assert bystander.sign_in("baraka", pin="5678").status == 201
    ending(server.url, victim, ids)
    assert stolen.get("/api/session").status == 401
    assert stolen.get("/api/progress/me").status in (401, 403)
    assert bystander.get("/api/session").status == 200  # nobody else is signed out


def test_a_pin_or_password_changed_by_any_path_ends_the_sessions(tmp_path: Path) -> None:
    """A database trigger ends them, whoever writes the new hash (the CLI, a roster from
    central): here a bare UPDATE, as the roster applier makes."""
    app = create_app(
        prepare_data_dir(load_config(tmp_path / "data", {"load_samples": False}, environ={}))
    )
    with app.app_context(), connected():
        amina = Learner.add("Amina Juma", pin="1234")
        coach = StaffUser.add("Coach Carter", "coach", "coach-password")
    learner, staff = app.test_client(), app.test_client()
    assert (
        learner.post("/api/session", json={"username": "amina-juma", "pin": "1234"}).status_code
        == 201
    )
    assert staff.post("/api/session", json=COACH).status_code == 201
    with app.app_context(), connected():
        Learner.update(language="sw").where(Learner.id == amina.id).execute()
        assert learner.get("/api/session").status_code == 200  # other changes end nothing
        Learner.update(pin_hash=people.hash_pin("9753")).where(Learner.id == amina.id).execute()
        new = people.hash_secret("a-new-password")
        StaffUser.update(password_hash=new).where(StaffUser.id == coach.id).execute()
    assert learner.get("/api/session").status_code == 401
    assert staff.get("/api/session").status_code == 401


@pytest.mark.server
def test_signed_in_pages_and_answers_are_not_stored(hub: tuple[LiveServer, dict]) -> None:
    server, _ = hub
    learner = Client(server.url, AMINA)
    signed_in = learner.sign_in("amina-juma", pin="1234")
    assert signed_in.headers["Cache-Control"] == "no-store"
    for path in ("/", "/signin", "/api/session", "/api/progress/me"):
        reply = learner.get(path)
        assert reply.status == 200 and reply.headers["Cache-Control"] == "no-store", path
    operator = _operator(server.url)
    for path in ("/admin/", "/admin/learners", "/api/session"):
        assert operator.get(path).headers["Cache-Control"] == "no-store", path


@pytest.mark.server
def test_central_staff_sessions_end_everywhere_and_are_not_stored(tmp_path: Path) -> None:
    server = central_with_staff(tmp_path / "central")
    try:
        server.wait_until_ready()
        staff = Client(server.url, AMINA)
        form = {"username": "zawadi", "password": "a good password"}
        assert staff.post_form("/signin", form).status == 302
        dashboard = staff.get("/")
        assert dashboard.status == 200 and dashboard.headers["Cache-Control"] == "no-store"
        stolen = staff.copy(THIEF)
        assert stolen.get("/").status == 200
        assert staff.post_form("/signout", {}, token_from="/").status == 302
        assert stolen.get("/").status == 302  # sent to sign in: the copy signs nobody in
    finally:
        server.stop()


def test_the_throttles_memory_is_bounded() -> None:
    now = [0.0]
    throttle = Throttle(per_client=2, per_address=3, max_keys=50, clock=lambda: now[0])
    for n in range(5000):
        throttle.take("signin", (f"device:{n}",), f"10.0.{n // 250}.{n % 250}")
    assert len(throttle) <= 50
    throttle.take("signin", ("device:a",), "10.9.9.9")
    throttle.take("signin", ("device:a",), "10.9.9.9")
    with pytest.raises(Refused) as refused:
        throttle.take("signin", ("device:a",), "10.9.9.9")
    assert refused.value.wait == 60
    now[0] = 60.5
    throttle.take("signin", ("device:a",), "10.9.9.9")  # a minute later the client may try again
