"""`learnhub central ...`: enrolment, USB import with replies, status, staff, packs and
rosters for hubs, and one-sentence errors. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hub.central.cli import central
from sync.bundle import peek, read_bundle
from sync.central.db import connected, execute, writing
from sync.central.service import Central
from sync.identity import parse_identity
from tests.central_helpers import FakeHub, database_args, uid
from tests.content_helpers import sample_files, sample_manifest, write_pack_dir

pytest_plugins = ["tests.central_fixtures"]


@pytest.fixture
def run(tmp_path, central_url, monkeypatch):
    """Invoke `learnhub central ARGS --data ... [--database URL]` in this process."""
    for name in ("LEARNHUB_DATA", "LEARNHUB_CENTRAL_DATA", "LEARNHUB_CENTRAL_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    data = ["--data", str(tmp_path / "central"), *database_args(central_url)]

    def invoke(*args, input=None):
        group, *rest = args
        if group in ("hubs", "users", "packs", "assign", "learners", "classes"):
            command, *rest = rest
            argv = [group, command, *data, *rest]
        else:
            argv = [group, *data, *rest]
        return runner.invoke(central, argv, input=input, catch_exceptions=False)

    return invoke


def enrol(tmp_path, run, name="Hub A"):
    hub = FakeHub(tmp_path / name.replace(" ", "-"), name)
    identity = tmp_path / f"{name}.json"
    identity.write_text(json.dumps(hub.identity()))
    result = run("hubs", "add", str(identity))
    assert result.exit_code == 0, result.output
    assert f"enrolled {name} ({hub.hub_id})" in result.output
    return hub


def test_enrol_import_and_status(tmp_path, run):
    hub = enrol(tmp_path, run)
    learner = uid()
    stick = tmp_path / "stick"
    hub.bundle([hub.event(1, learner), hub.event(2, learner)], out=stick / "learnhub-sync")
    result = run("import", str(stick))
    assert result.exit_code == 0, result.output
    assert "2 new, 0 already here, 0 quarantined; contiguous up to 2" in result.output
    (reply,) = list((stick / "learnhub-sync").glob("central-*.lhb"))
    assert f"wrote {reply}" in result.output
    identity = json.loads(run("identity").stdout)
    _, key, _ = parse_identity(identity)
    assert read_bundle(reply, key).manifest["recipient"] == hub.hub_id
    status = json.loads(run("status", "--json").output)
    assert (status["hubs"], status["events"], status["learners"]) == (1, 2, 1)
    again = run("import", str(stick))
    assert "0 new, 2 already here" in again.output
    assert json.loads(run("status", "--json").output)["events"] == 2
    listed = json.loads(run("hubs", "list", "--json").output)
    assert [(h["hub_id"], h["status"], h["events"]) for h in listed] == [
        (hub.hub_id, "approved", 2)
    ]


def test_an_import_with_a_refused_bundle_says_so_and_exits_1(tmp_path, run):
    hub = enrol(tmp_path, run)
    stranger = FakeHub(tmp_path / "stranger", "Stranger")
    stick = tmp_path / "stick"
    hub.bundle([hub.event(1, uid())], out=stick)
    stranger.bundle([stranger.event(1, uid())], out=stick)
    result = run("import", str(stick))
    assert result.exit_code == 1
    assert "applied" in result.output
    assert f"The bundle comes from hub {stranger.hub_id}, which is not enrolled here" in (
        result.output
    )
    assert "Error: 1 of 2 bundle(s) were refused; they changed nothing." in result.output
    assert "Traceback" not in result.output


def test_revoke_and_approve(tmp_path, run):
    hub = enrol(tmp_path, run)
    assert "is revoked" in run("hubs", "revoke", hub.hub_id).output
    refused = run("import", str(hub.bundle([hub.event(1, uid())])))
    assert refused.exit_code == 1
    assert "was revoked, so its bundles are refused" in refused.output
    assert "is approved" in run("hubs", "approve", hub.hub_id).output
    assert run("import", str(hub.bundle([hub.event(2, uid())]))).exit_code == 0
    unknown = run("hubs", "approve", "nosuchhub")
    assert unknown.exit_code == 1
    assert "No hub 'nosuchhub' is enrolled here." in unknown.output


def test_identity_files_that_are_not_identities_are_one_sentence(tmp_path, run):
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    result = run("hubs", "add", str(garbage))
    assert result.exit_code == 1
    assert f"Error: {garbage} is not a JSON identity file." in result.output
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something-else"}))
    result = run("hubs", "add", str(other))
    assert "This is not a hub identity" in result.output


def test_packs_and_rosters_go_to_a_hub_with_its_next_reply(tmp_path, run):
    hub = enrol(tmp_path, run)
    pack = write_pack_dir(tmp_path / "pack", sample_manifest(), sample_files())
    assert "added fractions-en 1.0.0" in run("packs", "add", str(pack)).output
    assert "already here: fractions-en 1.0.0" in run("packs", "add", str(pack)).output
    assert "fractions-en  1.0.0" in run("packs", "list").output
    assert run("assign", "pack", "fractions-en", hub.hub_id).exit_code == 0
    assert run("classes", "add", "Grade 4").exit_code == 0
    added = run("learners", "add", "Amina Juma", "--class", "Grade 4")
    assert added.exit_code == 0, added.output
    result = run("assign", "class", "Grade 4", hub.hub_id)
    assert result.exit_code == 0, result.output
    stick = tmp_path / "stick"
    hub.bundle([hub.event(1, uid())], out=stick)
    assert run("import", str(stick)).exit_code == 0
    (reply,) = list(stick.glob("central-*.lhb"))
    _, key, _ = parse_identity(json.loads(run("identity").stdout))
    bundle = read_bundle(reply, key)
    kinds = [
        record["t"]
        for part in bundle.parts_of_type("roster")
        for record in bundle.records(part["name"])
    ]
    assert kinds == ["learner", "class", "member"]
    (offered,) = [r for p in bundle.parts_of_type("packs") for r in bundle.records(p["name"])]
    assert offered["pack_id"] == "fractions-en"
    assert len(bundle.parts_of_type("blob")) == len(set(offered["files"].values()))
    assert peek(reply)["kind"] == "reply"


def test_assigning_what_central_does_not_have_is_one_sentence(tmp_path, run):
    hub = enrol(tmp_path, run)
    result = run("assign", "pack", "nothing-here", hub.hub_id)
    assert result.exit_code == 1
    assert "Central has no pack 'nothing-here'" in result.output
    result = run("assign", "class", "Nobody", hub.hub_id)
    assert "Central knows no class 'Nobody'." in result.output


def test_staff_accounts(run):
    assert "added amina" in run("users", "add", "Amina", "--password", "long enough").output
    again = run("users", "add", "Amina", "--password", "long enough")
    assert again.exit_code == 1
    assert "There is already a staff account called 'amina'." in again.output
    short = run("users", "add", "Baraka", "--password", "short")
    assert "The password must have at least 8 characters." in short.output


def test_importing_an_empty_folder_says_so(tmp_path, run):
    (tmp_path / "empty").mkdir()
    result = run("import", str(tmp_path / "empty"))
    assert result.exit_code == 1
    assert "No hub bundle was found in" in result.output


def test_a_bad_database_url_is_one_sentence(tmp_path):
    result = CliRunner().invoke(
        central, ["status", "--data", str(tmp_path / "c"), "--database", "mysql://x/y"]
    )
    assert result.exit_code == 1
    assert "The database URL must start with postgresql:// or sqlite:///" in result.output


def test_an_unreachable_postgresql_is_one_sentence(tmp_path):
    from tests.conftest import free_port

    url = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/nothing"
    result = CliRunner().invoke(
        central, ["status", "--data", str(tmp_path / "c"), "--database", url]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: The central database cannot be used:")
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_serve_on_a_port_in_use_is_one_sentence(tmp_path):
    import socket
    import subprocess

    from tests.central_helpers import central_argv, clean_env

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            central_argv(
                "serve", "--data", str(tmp_path / "c"), "--host", "127.0.0.1", "--port", str(port)
            ),
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"Error: Port {port} on 127.0.0.1 is already in use; choose another with --port."
    )


def test_central_keeps_a_data_dir_of_its_own(tmp_path, monkeypatch):
    from hub.central.cli import central_dir

    monkeypatch.delenv("LEARNHUB_CENTRAL_DATA", raising=False)
    monkeypatch.setenv("LEARNHUB_DATA", str(tmp_path / "hub"))
    assert central_dir(None) == tmp_path / "hub" / "central"
    monkeypatch.setenv("LEARNHUB_CENTRAL_DATA", str(tmp_path / "elsewhere"))
    assert central_dir(None) == tmp_path / "elsewhere"
    assert central_dir(tmp_path / "given") == tmp_path / "given"


def test_a_database_from_a_newer_central_is_refused_in_one_sentence(tmp_path, run, central_url):
    # The hub's migration runner (sync.migrate) refuses it the same way.
    assert run("status").exit_code == 0
    server = Central.open(tmp_path / "central", central_url)
    with connected(), writing():
        execute(
            "INSERT INTO central_migration (version, name, applied_at) VALUES (?, ?, ?)",
            (99, "from the future", "2099-01-01T00:00:00+00:00"),
        )
    server.close()
    result = run("status")
    assert result.exit_code == 1
    assert "The database is at schema version 99, newer than this version" in result.output
