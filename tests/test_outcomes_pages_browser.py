"""The outcomes pages in headless Chromium (#18 part 3): hub A's /coach/outcomes through a real
`learnhub serve` after a real sync (A over HTTP, B by a USB folder, both in region "Coast"), and
central's /outcomes through `learnhub central serve`. On a 360 px phone the pages fit, no SVG
text runs outside its chart, the print layout drops the menus and forms, and the numbers are the
ones the progress gives. The pictures in docs/coach.md and docs/central.md come from here."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.core.db import connected
from hub.core.settings import load_config
from hub.web.app import create_app
from tests.browser import PHONE, doc_shot, fits_phone
from tests.conftest import ROOT, LiveServer
from tests.progress_helpers import add_coach, prepare_hub, sign_in, sign_in_staff
from tests.test_outcomes_e2e import make_hub, served  # noqa: F401 (a fixture)
from tests.test_sync_hub_e2e import ENV, central, central_command, enrol, learnhub

pytestmark = [pytest.mark.browser, pytest.mark.server]
PASSWORD = "a good password"

# Every <text> of every chart inside its <svg>'s box (1 px for rounding); the offenders.
CLIPPED = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
          || r.bottom > box.bottom + 1) out.push(svg.id + ': ' + t.textContent);
    }
  }
  return out;
}"""
# What sticks out past the phone's width, to say why a page does not fit.
WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)"""


# The heading of the chosen period (just above its tabs) at the top of the screen.
SHOWN_PERIOD = """() => {
  const tabs = document.querySelector('nav.tabs');
  (tabs.previousElementSibling || tabs).scrollIntoView();
}"""


@pytest.fixture
def synced(served: tuple[str, Path, str | None], tmp_path: Path) -> tuple[str, Path, Path]:  # noqa: F811
    """Central with hubs A (classes 4A of 6 and 4B of 4) and B (5A of 5), both synced twice."""
    base, central_data, _ = served
    hub_a, hub_b = tmp_path / "hub-a", tmp_path / "hub-b"
    make_hub(hub_a, "Mwanga", {"4A": 6, "4B": 4}, mastered=False, spent=60)
    make_hub(hub_b, "Faraja", {"5A": 5}, mastered=False, spent=120)
    for hub in (hub_a, hub_b):
        central(central_data, "hubs", "region", enrol(hub, central_data, tmp_path), "Coast")
    identity = tmp_path / "central-identity.json"
    identity.write_text(central(central_data, "identity").stdout)
    learnhub("sync", "push", base, "--data", str(hub_a))
    stick = tmp_path / "stick"
    stick.mkdir()
    learnhub("sync", "trust", str(identity), "--data", str(hub_b))
    learnhub("sync", "export", str(stick), "--data", str(hub_b))
    central(central_data, "import", str(stick))
    learnhub("sync", "import", str(stick), "--data", str(hub_b))
    learnhub("sync", "push", base, "--data", str(hub_a))
    return base, central_data, hub_a


def _add_users(hub: Path, central_data: Path) -> None:
    for name, role in (("Cora", "coach"), ("Olive", "operator")):
        add = [sys.executable, "-m", "hub", "users", "add", name, "--role", role]
        done = subprocess.run(
            [*add, "--password", PASSWORD, "--data", str(hub)], cwd=ROOT, capture_output=True
        )
        assert done.returncode == 0, done.stderr
    add = [*central_command(), "users", "add", "--data", str(central_data), "Zawadi"]
    done = subprocess.run([*add, "--password", PASSWORD], capture_output=True, env=ENV)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def hub_server(synced: tuple[str, Path, Path]) -> Iterator[tuple[str, LiveServer]]:
    base, central_data, hub_a = synced
    _add_users(hub_a, central_data)
    live = LiveServer(hub_a, env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        live.wait_until_ready()
        yield base, live
    finally:
        live.stop()


def _sign_in(browser: Any, url: str, username: str) -> Any:
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    return page


def _check_layout(page: Any, name: str) -> None:
    """Fits a phone and keeps every chart's text inside the chart, on screen and on paper."""
    assert fits_phone(page), page.evaluate(WIDE)
    assert page.locator("svg.chart").count() >= 8
    assert page.evaluate(CLIPPED) == []
    page.emulate_media(media="print")
    assert page.locator(".outcomes-filters").is_hidden()
    assert page.locator("header.bar").is_hidden()
    assert page.evaluate(CLIPPED) == []
    page.emulate_media(media="screen")
    # The guides show the chosen period's charts (the hub beside its region, the cells hidden
    # below 5 learners), not the filters at the top of the page.
    page.evaluate(SHOWN_PERIOD)
    doc_shot(page, name)


@pytest.mark.parametrize("served", ["sqlite"], indirect=True)
def test_hub_and_central_outcome_pages_on_a_phone(
    browser: Any, hub_server: tuple[str, LiveServer]
) -> None:
    base, live = hub_server
    page = _sign_in(browser, live.url + "/signin/staff", "cora")
    page.goto(live.url + "/coach/")
    page.click("#outcomes-link a")
    page.wait_for_selector("h1:has-text('Outcomes')")
    html = page.content()
    assert "4B: 4</title>" in html and "4A: 6</title>" in html  # its own classes in full
    assert "This hub: 10</title>" in html and "Region: Coast: 15</title>" in html
    assert "learner 0" not in html  # no learner is named
    _check_layout(page, "hub-outcomes-phone")

    answer = page.request.get(live.url + "/coach/outcomes.csv?by=class&kind=week")
    assert answer.status == 200
    rows = list(csv.DictReader(io.StringIO(answer.text())))
    week = rows[-1]["period"]
    by_name = {(r["scope"], r["name"]): r for r in rows if r["period"] == week}
    assert by_name[("hub", "4B")]["active_learners"] == "4"
    assert by_name[("region", "")]["active_learners"] == "15"
    assert by_name[("region", "")]["lessons_completed"] == "10"
    assert not any(r["scope"] == "region" and r["by"] == "class" for r in rows)

    operator = _sign_in(browser, live.url + "/signin/staff", "olive")
    operator.goto(live.url + "/admin/")
    operator.click("nav.admin-nav >> text=Outcomes")
    assert operator.locator("#missed-region td", has_text="q1").count() == 1

    staff = _sign_in(browser, base + "/signin", "zawadi")
    staff.goto(base + f"/outcomes?by=class&kind=week&period={week}")
    assert "4B: hidden: fewer than 5 learners" in staff.content()
    _check_layout(staff, "central-outcomes-phone")


def test_a_hub_without_outcomes_says_so(tmp_path: Path) -> None:
    prepare_hub(tmp_path / "data", learners=["Amani"], samples=False)
    app = create_app(load_config(tmp_path / "data", {"load_samples": False}, environ={}))
    with connected():
        add_coach("Cora")
    client = app.test_client()
    assert client.get("/coach/outcomes").status_code == 401
    sign_in(client, "amani")
    assert client.get("/coach/outcomes").status_code == 403
    client.delete("/api/session")
    sign_in_staff(client, "cora")
    assert "No outcomes yet" in client.get("/coach/outcomes").get_data(as_text=True)
    assert client.get("/coach/outcomes.csv").status_code == 404
