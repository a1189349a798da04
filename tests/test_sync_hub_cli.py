"""`learnhub sync ...` and the operator's /admin/sync page: plain words, CSRF, roles, and the
two buttons (copy to a USB stick, push now) plus applying replies from a stick."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from hub.cli.main import main
from hub.core.db import connected
from hub.hubsync.models import HubState, SentBundle
from hub.people.models import ClassGroup, StaffUser
from hub.web.views import sync_admin
from sync.identity import parse_identity, public_identity
from tests.fake_central import FakeCentral
from tests.sync_hub_helpers import (
    central_id,
    central_record,
    learner,
    new_keys,
    record,
    service_of,
    write_reply,
)
from tests.test_admin import PASSWORD, csrf, post, staff_sign_in


def run(runner: CliRunner, data_dir: Path, *args: str):
    return runner.invoke(main, ["sync", *args[:1], "--data", str(data_dir), *args[1:]])


def one_sentence(result) -> str:
    assert result.exit_code == 1, result.output
    message = result.output.strip().removeprefix("Error: ")
    assert "\n" not in message and "Traceback" not in message, result.output
    return message


# --- CLI -----------------------------------------------------------------------------------


def test_identity_is_json_central_can_enrol(runner: CliRunner, data_dir: Path) -> None:
    result = run(runner, data_dir, "identity")
    assert result.exit_code == 0, result.output
    hub_id, _, name = parse_identity(json.loads(result.output))
    assert name == "Learning Hub" and len(hub_id) == 20


def test_export_import_status_and_trust(
    app: Flask, runner: CliRunner, data_dir: Path, tmp_path: Path
) -> None:
    record(app, learner(), 3)
    stick = tmp_path / "stick"
    stick.mkdir()
    result = run(runner, data_dir, "export", str(stick))
    assert result.exit_code == 0, result.output
    assert "3 new progress event(s)" in result.output
    assert len(list((stick / "learnhub-sync").glob("*.lhb"))) == 1

    status = json.loads(run(runner, data_dir, "status", "--json").output)
    assert status["events_waiting"] == 3 and status["bundles_waiting"] == 1
    assert status["last_sync"] is None and status["central_pinned"] is False
    assert "never" in run(runner, data_dir, "status").output

    service = service_of(app)
    central = new_keys()
    write_reply(
        stick / "learnhub-sync",
        central,
        service.hub_id,
        status["epoch"],
        roster=[central_record("class", "c" * 32, 1 << 41, name="5B")],
    )
    assert "does not know central's key" in one_sentence(
        run(runner, data_dir, "import", str(stick))
    )

    identity = tmp_path / "central.json"
    identity.write_text(
        json.dumps(
            {**public_identity(central, "District office"), "central_id": central_id(central)}
        )
    )
    result = run(runner, data_dir, "trust", str(identity))
    assert result.exit_code == 0 and "District office" in result.output
    result = run(runner, data_dir, "import", str(stick))
    assert result.exit_code == 0, result.output
    assert "1 roster change(s)" in result.output
    with connected():
        assert ClassGroup.get(ClassGroup.uid == "c" * 32).name == "5B"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("export", "/nonexistent/stick"), "is not a folder"),
        (("push",), "No central server is set"),
        (("push", "ftp://central"), "not a central server address"),
    ],
)
def test_cli_errors_are_one_sentence(
    runner: CliRunner, data_dir: Path, args: tuple[str, ...], expected: str
) -> None:
    assert expected in one_sentence(run(runner, data_dir, *args))


def test_trust_refuses_what_is_not_an_identity(
    runner: CliRunner, data_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "central.json"
    bad.write_text("{not json")
    assert "not a JSON identity" in one_sentence(run(runner, data_dir, "trust", str(bad)))
    bad.write_text(json.dumps({"format": "learnhub-identity/1", "public_key": "AAAA"}))
    assert "Ed25519" in one_sentence(run(runner, data_dir, "trust", str(bad)))


def test_a_damaged_reply_is_one_sentence(
    app: Flask, runner: CliRunner, data_dir: Path, tmp_path: Path
) -> None:
    service = service_of(app)
    central = new_keys()
    service.pin_central(central.public_key, central_id(central))
    with connected():
        epoch = HubState.get_state().epoch
    reply = write_reply(tmp_path, central, service.hub_id, epoch)
    data = bytearray(reply.read_bytes())
    data[700] ^= 1
    reply.write_bytes(bytes(data))
    assert "refused" in one_sentence(run(runner, data_dir, "import", str(reply)))


# --- the admin page ------------------------------------------------------------------------


@pytest.fixture
def operator(app: Flask, client: FlaskClient) -> FlaskClient:
    with connected():
        StaffUser.add("Olive Operator", "operator", PASSWORD)
    staff_sign_in(client, "olive-operator", PASSWORD)
    return client


def test_the_sync_page_is_for_operators_only(app: Flask, client: FlaskClient) -> None:
    assert client.get("/admin/sync/").status_code == 401
    with connected():
        StaffUser.add("Cora Coach", "coach", PASSWORD)
    staff_sign_in(client, "cora-coach", PASSWORD)
    assert client.get("/admin/sync/").status_code == 403
    assert client.post("/admin/sync/push", data={"csrf_token": csrf(client)}).status_code == 403


def test_the_page_says_where_sync_stands_in_plain_words(app: Flask, operator: FlaskClient) -> None:
    page = operator.get("/admin/sync/")
    assert page.status_code == 200
    assert "never synced" in page.text and "Nothing is waiting" in page.text
    assert "USB stick only" in page.text
    record(app, learner(), 4)
    with connected():
        HubState.put(
            last_error="Central at http://x cannot be reached.",
            last_attempt="2030-01-01T00:00:00+00:00",
        )
    page = operator.get("/admin/sync/")
    assert "4 steps of learners' progress" in page.text
    assert "(s)" not in page.text and "learnhub " not in page.text  # plain words, no commands
    assert "cannot be reached" in page.text
    assert 'href="/admin/sync/"' in operator.get("/admin/").text  # in the admin menu


def test_export_button_copies_to_the_stick(
    app: Flask, operator: FlaskClient, tmp_path: Path
) -> None:
    record(app, learner(), 2)
    assert operator.post("/admin/sync/export", data={"folder": str(tmp_path)}).status_code == 400
    stick = tmp_path / "stick"
    missing = post(operator, "/admin/sync/export", folder=str(stick))
    assert missing.status_code == 400 and "is not a folder on this hub" in missing.text
    relative = post(operator, "/admin/sync/export", folder="stick")
    assert relative.status_code == 400
    stick.mkdir()
    done = post(operator, "/admin/sync/export", folder=str(stick))
    assert done.status_code == 303
    assert len(list((stick / "learnhub-sync").glob("*.lhb"))) == 1
    assert "Copied 1 file to" in operator.get("/admin/sync/").text


def test_the_page_lists_the_sticks_it_sees_to_pick_from(
    app: Flask, operator: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = operator.get("/admin/sync/").text
    assert "No USB stick is plugged in" in page and 'id="folder"' in page
    sticks = [tmp_path / "KINGSTON", tmp_path / "SCHOOL"]
    for stick in sticks:
        stick.mkdir()
    # Mounting a real stick cannot run here: the list of mounted sticks is given instead.
    monkeypatch.setattr(sync_admin, "mounted_folders", lambda: sticks)
    page = operator.get("/admin/sync/").text
    radios = re.findall(r'<input type="radio" name="folder" value="([^"]+)"( checked)?>', page)
    assert radios == [(str(sticks[0]), " checked"), (str(sticks[1]), "")]
    assert "<bdi>SCHOOL</bdi>" in page and "No USB stick" not in page
    amina = learner()
    record(app, amina, 1)
    assert post(operator, "/admin/sync/export", folder=str(sticks[1])).status_code == 303
    assert list((sticks[1] / "learnhub-sync").glob("*.lhb"))
    assert not (sticks[0] / "learnhub-sync").exists()
    typed = tmp_path / "typed"
    typed.mkdir()
    record(app, amina, 1)
    done = post(operator, "/admin/sync/export", folder=str(sticks[0]), other_folder=str(typed))
    assert done.status_code == 303 and list((typed / "learnhub-sync").glob("*.lhb"))


def test_import_button_applies_replies_from_the_stick(
    app: Flask, operator: FlaskClient, tmp_path: Path
) -> None:
    service = service_of(app)
    central = new_keys()
    service.pin_central(central.public_key, central_id(central))
    with connected():
        epoch = HubState.get_state().epoch
    write_reply(
        tmp_path / "learnhub-sync",
        central,
        service.hub_id,
        epoch,
        roster=[central_record("class", "c" * 32, 1 << 41, name="From the stick")],
    )
    done = post(operator, "/admin/sync/import", folder=str(tmp_path))
    assert done.status_code == 303, done.text
    with connected():
        assert ClassGroup.get(ClassGroup.uid == "c" * 32).name == "From the stick"
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = post(operator, "/admin/sync/import", folder=str(empty))
    assert refused.status_code == 400 and "No reply from central" in refused.text


def test_push_button_syncs_in_the_background(
    app: Flask, operator: FlaskClient, tmp_path: Path
) -> None:
    refused = post(operator, "/admin/sync/push")
    assert refused.status_code == 400 and "No central server is set" in refused.text
    record(app, learner(), 2)
    folder = tmp_path / "central"
    folder.mkdir()
    with FakeCentral(new_keys(), app.extensions["keys"], folder) as central:
        config = app.config["LEARNHUB"]
        service = app.extensions["sync"]
        service.config = dataclasses.replace(config, central_url=central.url)
        assert post(operator, "/admin/sync/push").status_code == 303
        sync_admin_runner(app).join(30)
    page = operator.get("/admin/sync/")
    assert "Last successful sync" in page.text and "Nothing is waiting" in page.text
    with connected():
        assert SentBundle.waiting() == []


def sync_admin_runner(app: Flask) -> sync_admin.PushRunner:
    return app.extensions["sync_push"]


@pytest.mark.browser
def test_the_sync_page_works_without_javascript_on_a_360px_phone(
    runner: CliRunner, tmp_path: Path
) -> None:
    from playwright import sync_api

    from tests.browser import PHONE, fits_phone, launch, shot
    from tests.conftest import LiveServer

    data = tmp_path / "data"
    added = runner.invoke(
        main,
        [
            "users",
            "add",
            "Olive",
            "--role",
            "operator",
            "--password",
            PASSWORD,
            "--data",
            str(data),
        ],
    )
    assert added.exit_code == 0, added.output
    stick = tmp_path / "stick"
    stick.mkdir()
    server = LiveServer(data, env={"LEARNHUB_LOAD_SAMPLES": "false"})
    try:
        server.wait_until_ready()
        with sync_api.sync_playwright() as playwright:
            browser = launch(playwright)
            context = browser.new_context(viewport=PHONE, java_script_enabled=False)
            page = context.new_page()
            page.goto(server.url + "/signin/staff")
            page.fill("#username", "olive")
            page.fill("#password", PASSWORD)
            page.click("form button[type=submit] >> text=Sign in")
            page.goto(server.url + "/admin/sync/")
            assert "never synced" in page.content()
            assert fits_phone(page)
            shot(page, "admin-sync")
            page.fill("#folder", str(stick))
            page.click("button:has-text('Copy to the stick')")
            assert "Copied 1 file to" in page.content(), page.inner_text("main")
            assert fits_phone(page)
            browser.close()
    finally:
        server.stop()
    assert list((stick / "learnhub-sync").glob("*.lhb"))
