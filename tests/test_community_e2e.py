"""Issue #18 done: two real hubs and a real central, all three parts in one story, on SQLite and
PostgreSQL, once over HTTP (`learnhub sync push` to `learnhub central serve`) and once by USB
folders only (`learnhub sync export/import`, `learnhub central import`).

Hub A (Mwanga School, class 4A of 6) and hub B (Faraja School, class 5B of 4) enrol in region
Arusha and central staff pair 4A with 5B. A's coach shares an own pack on /coach/shared, staff
accept it, B's coach picks it from the catalog and B installs it with its author. A learner of 4A
writes a letter with a photo, both coaches approve it on /coach/letters, 5B reads it and A sees
"read by the partner class". Learners on both hubs do lessons; central's /outcomes shows 4A and
hides 5B (4 learners); each hub's /coach/outcomes shows its own classes in full beside a region
whose small cells are hidden. Coaches and learners act on the hubs' real `learnhub serve`; the
lessons and the letter travel in the same syncs, as in a real week."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.library.models import Pack
from tests.central_helpers import CentralServer
from tests.conftest import SAMPLES, LiveServer
from tests.letters_helpers import PASSWORD, PIN, png, post_multipart, signed_in
from tests.quiz_helpers import sample_exercise
from tests.security_client import TOKEN, Client, Reply
from tests.test_shared_packs_e2e import Central, http, hub_cli, installed, on_hub, own_pack, usb

pytest_plugins = ["tests.central_fixtures"]
pytestmark = [pytest.mark.server, pytest.mark.timeout(900)]  # many processes, both ways

PACK, THEIRS = "own-fractions", "afya-usafi-sw"  # A's own pack; a pack only B has
TITLE = "Afya na usafi: kunawa mikono na maji safi"
LESSON, THEIRS_LESSON, QUIZ = "what-is-a-fraction", "kunawa-mikono", "fractions-quiz"
MASTERS = 3  # the first three of 4A answer all 9 questions right; the others miss three
MISSED = {"q1-quarter", "q2-denominator", "q4-of-a-group"}
A_CLASS, B_CLASS = "4A", "5B"
A_LEARNERS = ["Amina", "Baraka", "Chausiku", "Daudi", "Eshe", "Faraji"]
B_LEARNERS = ["Chiku", "Juma", "Kesi", "Lulu"]
STAFF_PASSWORD = "a good password"
A_SECONDS, B_SECONDS, THEIRS_SECONDS = 60, 120, 30  # each learner's time in a lesson
FORM_ID = re.compile(r'name="form_id" value="([0-9a-f]{32})"')
PHOTO = re.compile(r"/letters/file/\d+/[0-9a-f]{64}")
DECIDE = re.compile(r'action="(/coach/letters/\d+)"')
Numbers = tuple[str, ...]  # a CSV row's measures, as numbers() picks them


@dataclass(frozen=True)
class Schools:
    """Made once through `learnhub`, copied for each variant: central's keys, and two hubs
    that trust them (a fresh central database meets them as new hubs each time)."""

    central_keys: Path
    a: Path
    b: Path

    def identity(self, hub: Path) -> Path:
        return hub.parent / f"{hub.name}.json"


@pytest.fixture(scope="module")
def schools(tmp_path_factory: pytest.TempPathFactory) -> Schools:
    """A with its own pack, B with a pack only it has."""
    root = tmp_path_factory.mktemp("schools")
    trusted = root / "central.json"
    trusted.write_text(Central(root / "central", None)("identity"))
    made = Schools(
        root / "central" / "keys",
        school(root / "mwanga", "Mwanga School", A_CLASS, A_LEARNERS),
        school(root / "faraja", "Faraja School", B_CLASS, B_LEARNERS),
    )
    hub_cli(made.a, "content", "import", str(own_pack(root / "pack", "1.0.0")))
    hub_cli(made.b, "content", "import", str(SAMPLES / THEIRS))
    for data in (made.a, made.b):
        made.identity(data).write_text(hub_cli(data, "sync", "identity"))
        hub_cli(data, "sync", "trust", str(trusted))
    return made


def school(data: Path, name: str, class_name: str, learners: list[str]) -> Path:
    data.mkdir(parents=True)
    (data / "learnhub.toml").write_text(f'hub_name = "{name}"\nload_samples = false\n')
    roster = data.parent / f"{data.name}.csv"
    rows = "".join(f"{learner},{class_name},{PIN},\n" for learner in learners)
    roster.write_text("name,class,pin,language\n" + rows)
    hub_cli(data, "learners", "import", str(roster))
    hub_cli(data, "users", "add", f"Coach {class_name}", "--role", "coach", "--password", PASSWORD)
    return data


@dataclass
class World:
    central: Central
    central_server: CentralServer
    a: Path
    b: Path
    hub_ids: dict[Path, str]
    servers: dict[Path, LiveServer]
    sync: Callable[[Path], None]

    def url(self, hub: Path) -> str:
        return self.servers[hub].url


@pytest.fixture(params=["http", "usb"])
def world(
    request: pytest.FixtureRequest,
    schools: Schools,
    central_url: str | None,
    tmp_path: Path,
) -> Iterator[World]:
    central = Central(tmp_path / "central", central_url)
    shutil.copytree(schools.central_keys, central.data / "keys")
    central("users", "add", "Zawadi", "--password", STAFF_PASSWORD)
    hub_ids = {}
    for template in (schools.a, schools.b):
        data = tmp_path / template.name
        shutil.copytree(template, data)
        central("hubs", "add", str(schools.identity(template)))
        hub_ids[data] = json.loads(schools.identity(template).read_text())["hub_id"]
        central("hubs", "region", hub_ids[data], "Arusha")
    a, b = list(hub_ids)
    # Staff read the dashboards on central's pages; with USB folders no hub ever calls it.
    central_server = CentralServer(central.data, central_url)
    quiet = {"LEARNHUB_LOAD_SAMPLES": "false"}
    servers = {data: LiveServer(data, quiet) for data in (a, b)}
    stick = tmp_path / "stick"
    stick.mkdir()
    carry = http(central_server.url) if request.param == "http" else usb(central, stick)
    try:
        for server in (central_server, *servers.values()):
            server.wait_until_ready()
        yield World(central, central_server, a, b, hub_ids, servers, carry)
    finally:
        for server in (*servers.values(), central_server):
            server.stop()


def test_share_write_and_count_across_two_hubs(world: World) -> None:
    a, b = world.a, world.b
    world.sync(a)  # the classes reach central
    world.sync(b)
    world.central("pair", f"{A_CLASS}@{world.hub_ids[a]}", f"{B_CLASS}@{world.hub_ids[b]}")

    share_and_take(world)
    do_lessons(world)  # the syncs that carry the letter carry the lessons too
    write_and_read(world)
    dashboards(world)


def share_and_take(world: World) -> None:
    """Part 1: A's coach shares, staff accept, B's coach picks, B installs it."""
    a, b = world.a, world.b
    coach_a = signed_in(world.url(a), "coach-4a")
    assert coach_a.post_form(f"/coach/shared/{PACK}/share", {}, "/coach/shared").status == 302
    assert "Goes to central with the next sync" in row(coach_a, "/coach/shared", f"own-{PACK}")
    world.sync(a)
    offer = world.central.offers()[PACK]
    assert (offer["status"], offer["author"]) == ("pending", "Neema Mushi")
    world.central("shared", "accept", PACK)

    world.sync(b)  # B learns the catalog
    coach_b = signed_in(world.url(b), "coach-5b")
    listed = row(coach_b, "/coach/shared", f"catalog-{PACK}")
    assert "By Neema Mushi, Mwanga School (Arusha) · CC-BY-4.0 · used at 1 hub" in listed
    assert coach_b.post_form(f"/coach/shared/{PACK}/pick", {}, "/coach/shared").status == 302
    assert "Picked: the request goes with the next sync." in row(
        coach_b, "/coach/shared", f"catalog-{PACK}"
    )
    world.sync(b)  # the pick goes up; the reply brings the pack
    assert installed(b, PACK) == "1.0.0"
    assert on_hub(b, lambda: credit(PACK)) == ("Neema Mushi", "CC-BY-4.0")
    assert "On this hub (version 1.0.0)." in row(coach_b, "/coach/shared", f"catalog-{PACK}")


def write_and_read(world: World) -> None:
    """Part 2: 4A writes with a photo, both coaches approve, 5B reads, A learns it was read."""
    a, b = world.a, world.b
    amina = learner(world.url(a), "amina")
    pair_a = pair_of(amina)
    sent = write_letter(amina, pair_a, "Habari 5B! Tunapenda hisabati.", png())
    assert sent.status == 303, sent.text
    assert "waiting for your teacher" in amina.get(f"/letters/{pair_a}").text
    approve(signed_in(world.url(a), "coach-4a"), "written by Amina")
    assert "approved, goes with the next sync" in amina.get(f"/letters/{pair_a}").text

    world.sync(a)
    assert "at central" in amina.get(f"/letters/{pair_a}").text
    world.sync(b)  # the letter arrives, waiting for B's coach
    chiku = learner(world.url(b), "chiku")
    pair_b = pair_of(chiku)
    assert "Habari 5B" not in chiku.get(f"/letters/{pair_b}").text
    approve(signed_in(world.url(b), "coach-5b"), "the class sees it only if you approve")
    page = chiku.get(f"/letters/{pair_b}").text  # the class opens it
    assert "Habari 5B! Tunapenda hisabati." in page and 'class="card letter theirs"' in page
    photo = PHOTO.search(page)
    assert photo, page
    assert chiku.get(photo[0]).body == png()

    world.sync(b)  # B's read status goes up
    world.sync(a)
    assert "read by the partner class" in amina.get(f"/letters/{pair_a}").text


def do_lessons(world: World) -> None:
    """Part 3's progress: every learner of 4A and 5B completes a lesson of the shared pack
    (A in 60 s, B in 120 s), and 5B one of B's own pack (30 s); 4A takes the pack's quiz,
    half of it mastering it. The letter's syncs (A, B, B, A) carry them: each hub's last reply
    counts both hubs."""
    for at, name in enumerate(A_LEARNERS):
        who = learner(world.url(world.a), name.lower())
        done(who, PACK, LESSON, A_SECONDS)
        take_quiz(who, MISSED if at >= MASTERS else set())
    for name in B_LEARNERS:
        who = learner(world.url(world.b), name.lower())
        done(who, PACK, LESSON, B_SECONDS)
        done(who, THEIRS, THEIRS_LESSON, THEIRS_SECONDS)


def dashboards(world: World) -> None:
    """Part 3's numbers at central, on hub A and on hub B, all from the known lessons."""
    a_done = len(A_LEARNERS) + MASTERS  # the lesson; the quiz counts once mastered
    a_time, b_time = len(A_LEARNERS) * A_SECONDS, len(B_LEARNERS) * B_SECONDS
    theirs_time = len(B_LEARNERS) * THEIRS_SECONDS
    four_a = ("6", str(a_done), hours(a_time), "50", "0")
    region = ("10", str(a_done + 8), hours(a_time + b_time + theirs_time), "50", "0")
    fractions = ("10", str(a_done + 4), hours(a_time + b_time), "50", "0")
    hidden = ("", "", "", "", "1")
    missed = [(PACK, QUIZ, question, "3", "6") for question in sorted(MISSED)]

    staff = Client(world.central_server.url)
    signin = {"username": "zawadi", "password": STAFF_PASSWORD}
    assert staff.post_form("/signin", signin).status in (302, 303)
    classes = csv_rows(staff, "/outcomes.csv?by=class&kind=week")
    week = max(r["period"] for r in classes)
    this_week = [r for r in classes if r["period"] == week]
    assert {r["name"]: numbers(r) for r in this_week} == {"": region, "4A": four_a, "5B": hidden}
    packs = csv_rows(staff, "/outcomes.csv?by=pack&kind=week")
    by_pack = {r["key"]: numbers(r) for r in packs if r["period"] == week}
    assert by_pack == {"": region, PACK: fractions, THEIRS: hidden}
    page = staff.get(f"/outcomes?by=class&kind=week&period={week}").text
    assert f"{A_CLASS}: 6</title>" in page and f"{week}: 10</title>" in page
    assert f"{B_CLASS}: hidden: fewer than 5 learners" in page
    assert table(page, "missed") == missed
    assert "Amina" not in page and "Chiku" not in page

    coach_a = signed_in(world.url(world.a), "coach-4a")
    page = coach_a.get("/coach/outcomes").text
    assert f"{A_CLASS}: 6</title>" in page and "This hub: 6</title>" in page
    assert "Region: Arusha: 10</title>" in page and "Amina" not in page
    titled = [("Fractions by Neema", *item[1:]) for item in missed]
    assert table(page, "missed-hub") == titled and table(page, "missed-region") == titled
    mine = hub_rows(coach_a, "class", week)
    assert mine == {("hub", ""): four_a, ("hub", A_CLASS): four_a, ("region", ""): region}
    # The author sees how many hubs use the pack and how their learners do: 13 of 70 lessons.
    used = row(coach_a, "/coach/shared", f"own-{PACK}")
    assert "In the shared catalog 2 hubs" in used
    assert "10 learners: 19% of lessons completed, 50% of quizzes mastered" in used

    coach_b = signed_in(world.url(world.b), "coach-5b")
    page = coach_b.get("/coach/outcomes").text
    assert f"{B_CLASS}: 4</title>" in page and "This hub: 4</title>" in page  # its own, in full
    assert "Region: Arusha: 10</title>" in page
    assert table(page, "missed-region") == titled
    assert table(page, "missed-hub") == [("No question was missed by 5 learners or more.",)]
    theirs = hub_rows(coach_b, "pack", week)
    assert theirs == {
        ("hub", ""): ("4", "8", hours(b_time + theirs_time), "", "0"),
        ("hub", "Fractions by Neema"): ("4", "4", hours(b_time), "", "0"),
        ("hub", TITLE): ("4", "4", hours(theirs_time), "", "0"),
        ("region", ""): region,
        ("region", "Fractions by Neema"): fractions,
        ("region", TITLE): hidden,  # B's own pack, 4 learners: hidden beyond B's own view
    }


# --- small helpers --------------------------------------------------------------------------


def learner(url: str, username: str) -> Client:
    client = Client(url)
    reply = client.sign_in(username, pin=PIN)
    assert reply.status == 201, reply.text
    return client


def row(client: Client, path: str, element_id: str) -> str:
    """The words of the element with `element_id` on the page, tags and spacing gone."""
    page = client.get(path).text
    found = re.search(rf'id="{element_id}">(.*?)</(?:tr|li)>', page, re.S)
    assert found, page
    return words(found[1])


def credit(pack_id: str) -> tuple[str, str]:
    """The installed pack's author and licence, as its manifest names them."""
    pack = Pack.with_manifest(pack_id)
    assert pack is not None
    return pack.manifest["author"], pack.manifest["license"]


def pair_of(client: Client) -> str:
    """The pairing a learner's /letters leads to (their class has one partner)."""
    return client.get("/letters").headers["Location"].rsplit("/", 1)[1]


def write_letter(client: Client, pair_uid: str, text: str, photo: bytes) -> Reply:
    page = client.get(f"/letters/{pair_uid}").text
    form_id, token = FORM_ID.search(page), TOKEN.search(page)
    assert form_id and token, page
    fields = {"text": text, "language": "sw", "form_id": form_id[1], "csrf_token": token[1]}
    files = [("photos", "photo.png", photo)]
    return post_multipart(client, f"/letters/{pair_uid}/write", fields, files)


def approve(coach: Client, words: str) -> None:
    """Approve the one letter on the coach's queue, which says `words` about it."""
    queue = coach.get("/coach/letters").text
    assert words in queue, queue
    [action] = DECIDE.findall(queue)
    assert coach.post_form(action, {"decision": "approve"}, "/coach/letters").status == 303


def done(client: Client, pack: str, lesson: str, seconds: int) -> None:
    """The lesson player's report that the learner finished the lesson."""
    body = {"pack_id": pack, "lesson_id": lesson, "progress": 1.0, "time_spent": seconds}
    reply = client.request("POST", "/api/progress", json_body=body)
    assert reply.status == 201, reply.text


def take_quiz(client: Client, wrong: set[str]) -> None:
    """The quiz in one go through the lesson player's API, the questions in `wrong` missed."""
    answers = {
        q["id"]: wrong_json(q) if q["id"] in wrong else right_json(q)
        for q in sample_exercise()["questions"]
    }
    path = f"/api/lessons/{PACK}/{QUIZ}/attempts"
    reply = client.request("POST", path, json_body={"answers": answers})
    assert reply.status == 201, reply.text
    assert reply.json()["n_correct"] == 9 - len(wrong) and reply.json()["finished"]


def right_json(question: dict[str, Any]) -> Any:
    answer = question["answer"]
    return answer[0] if question["type"] == "text" and isinstance(answer, list) else answer


def wrong_json(question: dict[str, Any]) -> Any:
    """A wrong answer of the question's own kind (single choice and numeric are enough here)."""
    if question["type"] == "single":
        return (question["answer"] + 1) % len(question["choices"])
    assert question["type"] == "numeric"
    return question["answer"] + 1000


def csv_rows(client: Client, path: str) -> list[dict[str, str]]:
    answer = client.get(path)
    assert answer.status == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


def hub_rows(coach: Client, by: str, week: str) -> dict[tuple[str, str], Numbers]:
    rows = csv_rows(coach, f"/coach/outcomes.csv?by={by}&kind=week")
    return {(r["scope"], r["name"]): numbers(r) for r in rows if r["period"] == week}


def numbers(found: dict[str, str]) -> Numbers:
    """Active learners, lessons completed, hours spent, mastery (%) and whether hidden."""
    measures = ("active_learners", "lessons_completed", "hours_spent", "mastery_percent")
    return (*(found[m] for m in measures), found["hidden"])


def table(page: str, table_id: str) -> list[tuple[str, ...]]:
    """The cells' words of each body row of the table with `table_id`."""
    found = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert found, page
    rows = re.findall(r"<tr>(.*?)</tr>", found[1], re.S)
    return [tuple(words(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)) for r in rows]


def words(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def hours(seconds: float) -> str:
    """As the dashboards write hours: one decimal, without a trailing .0."""
    text = f"{seconds / 3600:.1f}"
    return text.removesuffix(".0")
