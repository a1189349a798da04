"""The operator page's appliance sections: read from the files the raspberrypi/ scripts write,
never broken by a missing or damaged one, and escaped like everything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient

from hub.core.appliance_status import appliance_status
from hub.core.db import connected
from hub.core.settings import Config
from hub.people.models import StaffUser
from tests.progress_helpers import sign_in_staff

APPLIANCE_TOML = """hub_name = "Mwanga"
port = 80
portal_host = "10.42.0.1"

[appliance]
ssid = "Mwanga School"
password = "a-secret-word"
country = "KE"
address = "10.42.0.1"
hostname = "mwanga"
"""


def write_status(data_dir: Path, usb: object = None, verify: object = None) -> None:
    folder = data_dir / "appliance"
    folder.mkdir(parents=True, exist_ok=True)
    if usb is not None:
        (folder / "usb.json").write_text(usb if isinstance(usb, str) else json.dumps(usb))
    if verify is not None:
        (folder / "verify.json").write_text(
            verify if isinstance(verify, str) else json.dumps(verify)
        )


def run(n: int, **fields: object) -> dict:
    return {
        "id": f"run{n}",
        "device": f"sd{n}1",
        "label": f"STICK{n}",
        "state": "done",
        "message": f"{n} new pack(s). Done.",
        "lines": [f"installed pack-{n} 1.0.0 (3 lessons)"],
        "started": "2025-05-20T09:00:00+00:00",
        "finished": "2025-05-20T09:01:00+00:00",
        "safe_to_remove": True,
        **fields,
    }


def test_nothing_written_yet(app: Flask, config: Config, tmp_path: Path) -> None:
    status = appliance_status(config, app.extensions["clock"], tmp_path / "no-portal")
    assert status.wifi is None and status.portal is None
    assert status.usb_runs == [] and status.verify is None
    assert status.clock.hub_time_ms > 0 and status.clock.corrections == []


def test_what_the_scripts_wrote(app: Flask, config: Config, tmp_path: Path) -> None:
    (config.data_dir / "learnhub.toml").write_text(APPLIANCE_TOML)
    write_status(
        config.data_dir,
        usb={"runs": [run(n) for n in range(8)]},
        verify={"ok": True, "message": "all 40 files are intact", "finished": "2025-05-20"},
    )
    portal = tmp_path / "portal-state"
    portal.write_text("captive\n")
    status = appliance_status(config, app.extensions["clock"], portal)
    assert status.wifi.ssid == "Mwanga School" and not status.wifi.open
    assert status.wifi.address == "10.42.0.1"
    assert status.wifi.names == ("mwanga.local", "mwanga.lan")
    assert status.portal == "captive"
    assert [r["id"] for r in status.usb_runs] == ["run0", "run1", "run2", "run3", "run4"]
    assert status.verify["ok"] is True


@pytest.mark.parametrize("junk", ["", "{", "[1, 2]", '{"runs": "many"}', '{"runs": [1, "x"]}'])
def test_damaged_files_show_as_nothing(app: Flask, config: Config, tmp_path: Path, junk) -> None:
    write_status(config.data_dir, usb=junk, verify=junk)
    (config.data_dir / "learnhub.toml").write_text("port = 80\n[appliance\n")
    (tmp_path / "portal-state").write_bytes(b"\xff\xfe")
    status = appliance_status(config, app.extensions["clock"], tmp_path / "portal-state")
    assert status.usb_runs == [] and status.wifi is None and status.portal is None
    assert status.verify is None or isinstance(status.verify, dict)


def test_an_open_network_and_no_hotspot(app: Flask, config: Config) -> None:
    toml = config.data_dir / "learnhub.toml"
    toml.write_text('[appliance]\nssid = "Open Hub"\npassword = ""\n')
    assert appliance_status(config, app.extensions["clock"]).wifi.open
    toml.write_text("[appliance]\nwifi = false\n")
    assert appliance_status(config, app.extensions["clock"]).wifi is None


def render_partial(app: Flask) -> str:
    with app.test_request_context("/admin/"):
        return render_template("appliance/status.html")


def test_the_partial_shows_every_section(app: Flask, config: Config) -> None:
    (config.data_dir / "learnhub.toml").write_text(APPLIANCE_TOML)
    failed = run(
        9, state="failed", message="The stick could not be opened.", lines=[], safe_to_remove=True
    )
    write_status(
        config.data_dir,
        usb={"runs": [run(1), failed, run(2, state="running", safe_to_remove=False)]},
        verify={
            "ok": False,
            "message": "1 file(s) are damaged; import those packs again to repair them.",
            "damaged": ["damaged fractions-en/v/intro.mp4 (changed); lessons: intro"],
            "finished": "2025-05-20T03:00:00+00:00",
        },
    )
    html = render_partial(app)
    assert "Mwanga School" in html and "with a password" in html
    assert "a-secret-word" not in html
    assert "http://10.42.0.1/" in html and "mwanga.local" in html
    assert "installed pack-1 1.0.0 (3 lessons)" in html
    assert "You can remove the stick now." in html
    assert "do not remove the stick yet" in html
    assert "The stick could not be opened." in html
    assert "damaged fractions-en/v/intro.mp4" in html
    assert 'id="appliance-clock"' in html and "appliance-clock.js" in html


def test_the_partial_with_nothing_yet(app: Flask) -> None:
    html = render_partial(app)
    assert "does not run its own Wi-Fi" in html
    assert "No USB stick yet" in html
    assert "has not run yet" in html


def test_the_partial_escapes_what_a_stick_says(app: Flask, config: Config) -> None:
    write_status(
        config.data_dir,
        usb={"runs": [run(1, label="<script>x()</script>", lines=["<img src=x onerror=y>"])]},
    )
    html = render_partial(app)
    assert "<script>x()" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html


def test_the_operator_page_includes_the_sections(app: Flask, client: FlaskClient) -> None:
    with connected():
        StaffUser.add("Olive Operator", "operator", "operator-pw")
    sign_in_staff(client, "olive-operator", "operator-pw")
    page = client.get("/admin/")
    assert page.status_code == 200
    for section in ("appliance-wifi", "appliance-usb", "appliance-verify", "appliance-clock"):
        assert f'id="{section}"' in page.text
