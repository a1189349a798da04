"""Outcomes across two hubs and central (#18 part 3): real `learnhub central serve` processes
(SQLite and PostgreSQL), hub A syncing over HTTP and hub B by a USB folder. The numbers central
shows and the ones each hub keeps from its reply are the ones the known progress gives, and a
class of 4 learners is hidden at central and in the region, never in its own hub's view."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.central.app import create_central_app
from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.learning import outcomes as hub_outcomes
from hub.people.models import ClassGroup
from hub.people.roster import add_class, add_learner
from hub.web.app import create_app
from sync.central import outcomes
from sync.central.db import central_db
from sync.central.service import Central
from sync.central.staff import add_staff
from tests.central_helpers import BACKENDS, PostgresSchema
from tests.conftest import free_port
from tests.test_sync_hub_e2e import ENV, central, central_command, enrol, learnhub
from tests.waiting import eventually

pytestmark = pytest.mark.server

MISSED = {"score": 0.5, "correct": {"q1": False, "q2": True}, "answered": [False, True]}


@pytest.fixture(params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Path, str | None]]:
    schema = PostgresSchema() if request.param == "postgresql" else None
    url = schema.url if schema else None
    data, port = tmp_path / "central", free_port()
    extra = ["--database", url] if url else []
    log = tmp_path / "central.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                *central_command(),
                "serve",
                "--data",
                str(data),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=ENV,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        def answers() -> bool:
            assert process.poll() is None, log.read_text()
            with urllib.request.urlopen(base + "/healthz", timeout=1) as answer:
                return answer.status == 200

        eventually(answers, 30, interval=0.1, ignoring=(OSError,), what=log.read_text)
        yield base, data, url
    finally:
        process.terminate()
        process.wait(10)
        # The browser test drives central only through its command line and server.
        if central_db.obj is not None and not central_db.is_closed():
            central_db.close()
        if schema:
            schema.drop()


def make_hub(data: Path, name: str, classes: dict[str, int], mastered: bool, spent: int) -> None:
    """Classes of n learners, each completing `halves` (60 s) or half-reading it (`spent` s),
    and attempting `check-1` (q1 wrong), mastered or not."""
    app = create_app(
        prepare_data_dir(load_config(data, {"load_samples": False, "hub_name": name}, environ={}))
    )
    log = app.extensions["events"]
    with connected():
        for class_name, size in classes.items():
            group = add_class(class_name)
            for n in range(size):
                who = add_learner(f"{class_name} learner {n}", classes=[group])
                done = 1.0 if spent == 60 else 0.5
                log.record(
                    who.id,
                    "fractions-en",
                    "halves",
                    "progress",
                    {"progress": done, "time_spent": spent},
                )
                if spent == 60:
                    log.record(
                        who.id,
                        "fractions-en",
                        "check-1",
                        "attempt",
                        {**MISSED, "mastered": mastered},
                    )


def db_option(url: str | None) -> list[str]:
    return ["--database", url] if url else []


def test_dashboards_count_two_hubs_and_hide_small_cells(
    served: tuple[str, Path, str | None], tmp_path: Path
) -> None:
    base, central_data, url = served
    hub_a, hub_b = tmp_path / "hub-a", tmp_path / "hub-b"
    make_hub(hub_a, "Mwanga", {"4A": 6, "4B": 4}, mastered=False, spent=60)
    make_hub(hub_b, "Faraja", {"5A": 5}, mastered=False, spent=120)
    for hub in (hub_a, hub_b):
        hub_id = (
            enrol(hub, central_data, tmp_path)
            if not url
            else _enrol_pg(hub, central_data, url, tmp_path)
        )
        central(central_data, "hubs", "region", hub_id, "Coast", *db_option(url))

    learnhub("sync", "push", base, "--data", str(hub_a))  # over HTTP
    stick = tmp_path / "stick"  # and by USB folder
    stick.mkdir()
    identity = tmp_path / "central-identity.json"
    identity.write_text(central(central_data, "identity", *db_option(url)).stdout)
    learnhub("sync", "trust", str(identity), "--data", str(hub_b))
    learnhub("sync", "export", str(stick), "--data", str(hub_b))
    central(central_data, "import", str(stick), *db_option(url))
    learnhub("sync", "import", str(stick), "--data", str(hub_b))
    learnhub("sync", "push", base, "--data", str(hub_a))  # A's next reply counts B too

    # Hub A keeps its own classes in full, and the region under the floor.
    held = hub_outcomes.held(hub_a)
    assert held is not None and held.region == "Coast"
    week = held.of_kind("week")[-1].name
    create_app(prepare_data_dir(load_config(hub_a, {"load_samples": False}, environ={})))
    with connected():
        small = ClassGroup.get(ClassGroup.name == "4B").uid
        big = ClassGroup.get(ClassGroup.name == "4A").uid
    assert held.cell("hub", "class", small, week)["learners"] == 4
    assert held.cell("hub", "class", big, week)["learners"] == 6
    assert held.cell("hub", "all", "", week)["completed"] == 10
    region = held.cell("region", "all", "", week)
    assert region["learners"] == 15 and region["completed"] == 10
    assert region["seconds"] == 10 * 60 + 5 * 120 and region["mastery"] == 0
    assert all(c["key"] != small for c in held.cells if c["scope"] == "region")
    missed = [m for m in held.missed if m["scope"] == "region"]
    assert [(m["question"], m["misses"], m["learners"]) for m in missed] == [("q1", 10, 10)]
    assert hub_outcomes.held(hub_b).cell("region", "all", "", week)["learners"] == 15

    # Central: the 4-learner class hidden in the table, the charts and the CSV alike.
    server = Central.open(central_data, url)
    central_db.connect(reuse_if_open=True)
    try:
        add_staff("Zawadi", "a good password")
        client = create_central_app(server).test_client()
        client.get("/signin")
        with client.session_transaction() as session:
            token = session.get("csrf", "")
        client.post(
            "/signin",
            data={"username": "zawadi", "password": "a good password", "csrf_token": token},
        )
        answer = client.get("/outcomes.csv?by=class&kind=week")
        rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
        mine = {r["name"]: r for r in rows if r["period"] == week and r["by"] == "class"}
        assert mine["4B"]["hidden"] == "1" and mine["4B"]["active_learners"] == ""
        assert mine["4A"]["active_learners"] == "6" and mine["4A"]["lessons_completed"] == "6"
        assert mine["5A"]["hours_spent"] == f"{5 * 120 / 3600:.1f}".rstrip("0").rstrip(".")
        page = client.get(f"/outcomes?by=class&kind=week&period={week}").get_data(as_text=True)
        assert "4B: hidden: fewer than 5 learners" in page
        assert "4A: 6</title>" in page and "5A: 5</title>" in page
        total = next(r for r in rows if r["by"] == "all" and r["period"] == week)
        assert total["active_learners"] == "15" and f"{week}: 15</title>" in page
        assert [m.question for m in outcomes.missed(0, 2**62, outcomes.Scope())] == ["q1"]
    finally:
        server.close()


def _enrol_pg(hub: Path, central_data: Path, url: str, tmp_path: Path) -> str:
    import json

    identity = tmp_path / f"{hub.name}-identity.json"
    identity.write_text(learnhub("sync", "identity", "--data", str(hub)).stdout)
    central(central_data, "hubs", "add", str(identity), "--database", url)
    return json.loads(identity.read_text())["hub_id"]
