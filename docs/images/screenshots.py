"""Make the operator guide's pictures: a real hub (sample library, an operator, a USB stick
and a library check really run) shot by Debian's headless Chromium.

    .venv/bin/python docs/images/screenshots.py      # writes docs/images/*.png

The pictures are small on purpose (a phone-sized or narrow window, PNG under 150 KB).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import waitress
from flask import Flask, render_template
from jinja2 import ChoiceLoader, DictLoader
from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from hub import appliance_status  # noqa: E402
from hub.cli.common import prepare_data_dir  # noqa: E402
from hub.core.clock import HubClock  # noqa: E402
from hub.core.datadir import samples_dir  # noqa: E402
from hub.core.db import connected  # noqa: E402
from hub.core.settings import load_config  # noqa: E402
from hub.library.models import Pack  # noqa: E402
from hub.people.models import StaffUser  # noqa: E402
from hub.web.app import create_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "operator-password"
SETTINGS = """hub_name = "Mwanga Primary School"
port = 80
portal_host = "10.42.0.1"

[appliance]
ssid = "Mwanga Learning"
password = ""
country = "KE"
"""
WITH_APPLIANCE = """{% extends "admin/index.html" %}
{% block admin %}{{ super() }}{% include "appliance/status.html" %}{% endblock %}"""


def hub_command(folder: Path) -> Path:
    command = folder / "learnhub"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m hub "$@"\n')
    command.chmod(0o755)
    return command


def a_stick(folder: Path) -> Path:
    """A stick with a newer version of a pack, a broken zip and somebody's photos."""
    stick = folder / "KINGSTON"
    packs = stick / "learnhub-packs"
    packs.mkdir(parents=True)
    newer = packs / "fractions-en"
    shutil.copytree(samples_dir() / "fractions-en", newer)
    manifest = json.loads((newer / "pack.json").read_text())
    manifest["version"] = "1.1.0"
    (newer / "pack.json").write_text(json.dumps(manifest))
    (packs / "old-maths.zip").write_bytes(b"PK\x03\x04 half a zip, the copy was cut short")
    (stick / "DCIM").mkdir()
    return stick


def prepare(data: Path, work: Path) -> Flask:
    data.mkdir(parents=True)
    (data / "learnhub.toml").write_text(SETTINGS)
    config = load_config(data, {"load_samples": True}, environ={})
    app = create_app(prepare_data_dir(config))
    with connected():
        StaffUser.add("Grace Operator", "operator", PASSWORD)
    env = {
        **os.environ,
        "LEARNHUB_DATA": str(data),
        "LEARNHUB_BIN": str(hub_command(work)),
        "PYTHONPATH": str(ROOT),
    }
    bin_dir = ROOT / "raspberrypi" / "bin"
    usb = [sys.executable, str(bin_dir / "learnhub-usb"), "folder", str(a_stick(work))]
    subprocess.run(usb, env=env, check=False, capture_output=True)
    subprocess.run([sys.executable, str(bin_dir / "learnhub-verify")], env=env, check=False)
    clock = HubClock(data, setter=lambda epoch: None)
    clock._last_seen = 0.0  # pretend the Pi had lost a day
    clock.wall = lambda: 1_747_731_600.0 - 86400  # 2025-05-19 09:00 UTC
    clock.correct(1_747_731_600.0, "grace-operator", "operator", "10.42.0.23")
    portal = work / "portal-state"
    portal.write_text("captive\n")
    appliance_status.PORTAL_STATE = portal
    return app


def with_appliance_sections(app: Flask) -> None:
    """Show the appliance sections on /admin/ even before the admin index includes them."""
    index = (ROOT / "hub" / "templates" / "admin" / "index.html").read_text()
    if "appliance/status.html" in index:
        return
    app.jinja_loader = ChoiceLoader(
        [DictLoader({"shots/admin.html": WITH_APPLIANCE}), app.jinja_loader]
    )
    from hub.web.views import admin

    def index_view() -> str:
        return render_template("shots/admin.html", packs=Pack.ordered(), status=admin._status())

    app.view_functions["admin.index"] = admin.require("operator")(index_view)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


def save(page: Page, name: str, selector: str | None = None) -> None:
    path = HERE / f"{name}.png"
    if selector:
        page.locator(selector).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=False)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


def shoot(url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        phone = browser.new_page(viewport={"width": 360, "height": 640}, device_scale_factor=1)
        phone.goto(url + "/")
        save(phone, "student-home")
        desk = browser.new_page(viewport={"width": 720, "height": 900}, device_scale_factor=1)
        desk.goto(url + "/signin/staff")
        desk.fill("#username", "grace-operator")
        desk.fill("#password", PASSWORD)
        with desk.expect_navigation():
            desk.click("main button[type=submit]")
        desk.goto(url + "/admin/")
        desk.wait_for_timeout(1000)  # the clock script shows the hub's answer
        save(desk, "operator-status")
        save(desk, "operator-wifi", "#appliance-wifi")
        save(desk, "operator-usb", "#appliance-usb")
        save(desk, "operator-verify", "#appliance-verify")
        save(desk, "operator-clock", "#appliance-clock")
        browser.close()


def shoot_setup(work: Path) -> None:
    """The first-run page, on a hub with no operator yet."""
    data = work / "fresh"
    app = create_app(prepare_data_dir(load_config(data, {"load_samples": False}, environ={})))
    with serving(app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 720, "height": 760}, device_scale_factor=1)
        page.goto(url + "/admin/setup")
        save(page, "first-run-setup")
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        shoot_setup(work)
        app = prepare(work / "data", work)
        with_appliance_sections(app)
        with serving(app) as url:
            shoot(url)


if __name__ == "__main__":
    main()
