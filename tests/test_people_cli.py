"""`learnhub users|learners|progress`: one-sentence errors, all-or-nothing imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.main import main
from hub.core.datadir import prepare
from hub.core.db import connected
from hub.core.settings import load_config
from hub.learning.events import EventLog, Progress
from hub.people.models import ClassGroup, Learner, StaffUser


def run(runner: CliRunner, data: Path, *args: str, stdin: str | None = None):
    group, command, rest = args[0], args[1], args[2:]
    return runner.invoke(main, [group, command, "--data", str(data), *rest], input=stdin)


def one_sentence(result) -> str:
    """The final line of stderr (a roster file's bad lines may come before it)."""
    assert result.exit_code == 1, result.output
    *_, last = result.stderr.splitlines()
    assert last.startswith("Error: ") and result.stderr.count("Error: ") == 1
    assert "Traceback" not in result.output
    return last.removeprefix("Error: ")


def open_db(data: Path) -> None:
    prepare(load_config(data, {}, environ={}))


def learners_json(runner: CliRunner, data: Path) -> list[dict]:
    result = run(runner, data, "learners", "list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_help_lists_the_people_commands(runner: CliRunner) -> None:
    top = runner.invoke(main, ["--help"]).output
    for group in ("users", "learners", "progress"):
        assert group in top
    assert "import" in runner.invoke(main, ["learners", "--help"]).output
    assert "rebuild" in runner.invoke(main, ["progress", "--help"]).output


def test_users_add_and_list(runner: CliRunner, tmp_path: Path) -> None:
    added = run(runner, tmp_path, "users", "add", "Grace Op", "--role", "operator",
                "--password", "password1")  # fmt: skip
    assert added.exit_code == 0 and "user name: grace-op" in added.stdout
    prompted = run(runner, tmp_path, "users", "add", "Ms Achieng", "--role", "coach",
                   stdin="coach-pw1\ncoach-pw1\n")  # fmt: skip
    assert prompted.exit_code == 0, prompted.output
    listed = run(runner, tmp_path, "users", "list").stdout
    assert "grace-op  operator  Grace Op" in listed and "ms-achieng  coach" in listed
    open_db(tmp_path)
    with connected():
        assert StaffUser.by_username("ms-achieng").check_password("coach-pw1")
        assert StaffUser.has_operator()


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("Grace Op", "password1", "There is already a user called 'grace-op'."),
        ("", "password1", "A name cannot be empty."),
        ("x" * 10_000, "password1", "A name can have at most 100 characters."),
        ("New", "short", "The password must have at least 8 characters."),
    ],
)
def test_users_add_refused(
    runner: CliRunner, tmp_path: Path, name: str, password: str, message: str
) -> None:
    run(
        runner, tmp_path, "users", "add", "Grace Op", "--role", "operator", "--password", "pw-12345"
    )
    result = run(runner, tmp_path, "users", "add", name, "--role", "coach", "--password", password)
    assert one_sentence(result) == message
    assert run(runner, tmp_path, "users", "list").stdout.count("\n") == 1


def test_users_add_wrong_role_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = run(
        runner, tmp_path, "users", "add", "X", "--role", "learner", "--password", "pw123456"
    )
    assert result.exit_code == 2 and "'learner' is not one of 'coach', 'operator'" in result.stderr


def test_learners_add_with_classes_pin_and_language(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, tmp_path, "learners", "add", "Amina Juma", "--class", "4A",
                 "--class", "Reading club", "--pin", "0258", "--language", "SW")  # fmt: skip
    assert result.exit_code == 0 and "user name: amina-juma" in result.stdout
    assert run(runner, tmp_path, "learners", "add", "Amina Juma", "--class", "4a").exit_code == 0
    assert learners_json(runner, tmp_path) == [
        {"username": "amina-juma", "name": "Amina Juma", "classes": ["4A", "Reading club"],
         "language": "sw", "pin": True},
        {"username": "amina-juma-2", "name": "Amina Juma", "classes": ["4A"], "language": "",
         "pin": False},
    ]  # fmt: skip
    open_db(tmp_path)
    with connected():
        assert Learner.by_username("amina-juma").check_pin("0258")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Amina", "--pin", "12ab"), "A PIN is 4 to 6 digits."),
        (("Amina", "--pin", "123"), "A PIN is 4 to 6 digits."),
        (("",), "A name cannot be empty."),
        (("x" * 10_000,), "A name can have at most 100 characters."),
        (("Amina", "--language", "english please"), "A language is a code such as en, fr, sw"),
        (("Amina", "--class", "c" * 61), "A class name can have at most 60 characters."),
        (("Amina", "--class", "A|B"), "A class name cannot contain '|'."),
    ],
)
def test_learners_add_refused_changes_nothing(
    runner: CliRunner, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(runner, tmp_path, "learners", "add", *args, "--class", "New class")
    assert one_sentence(result).startswith(message)
    assert learners_json(runner, tmp_path) == []
    open_db(tmp_path)
    with connected():
        assert ClassGroup.select().count() == 0  # the class made for them was rolled back


def test_learners_import(runner: CliRunner, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_bytes("\ufeffname;class;pin;language\nAmina;4A;2580;sw\nZoé;4A|CM1;;fr\n".encode())
    checked = run(runner, tmp_path / "data", "learners", "import", str(roster), "--check")
    assert checked.exit_code == 0 and checked.stdout.startswith("would add 2 learner(s)")
    assert learners_json(runner, tmp_path / "data") == []
    result = run(runner, tmp_path / "data", "learners", "import", str(roster))
    assert result.stdout == "added 2 learner(s); 0 already on the hub; new classes: 4A, CM1\n"
    again = run(runner, tmp_path / "data", "learners", "import", str(roster))
    assert again.stdout.startswith("added 0 learner(s); 2 already on the hub")
    assert [row["name"] for row in learners_json(runner, tmp_path / "data")] == ["Amina", "Zoé"]


def test_learners_import_lists_every_bad_line_and_imports_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("name,class,pin\nAmina,4A,2580\n,4A,\nJoseph,4A,12ab\n")
    result = run(runner, tmp_path / "data", "learners", "import", str(roster))
    assert one_sentence(result) == "The file has 2 problems; nothing was imported."
    assert result.stderr.splitlines()[:2] == [
        "line 3: a name cannot be empty.",
        "line 4: a PIN is 4 to 6 digits.",
    ]
    assert learners_json(runner, tmp_path / "data") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02binary", "This is not a CSV text file"),
        ("name\nZoé\n".encode("cp1252"), "The file has 1 problem"),
        (b"name\n" + b"x" * (1024 * 1024), "larger than 1 MB"),
    ],
)
def test_learners_import_hostile_files(
    runner: CliRunner, tmp_path: Path, content: bytes, message: str
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_bytes(content)
    result = run(runner, tmp_path / "data", "learners", "import", str(roster))
    assert message in one_sentence(result)


def test_learners_import_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, tmp_path, "learners", "import", str(tmp_path / "nope.csv"))
    assert "nope.csv" in one_sentence(result)


def test_learners_export_escapes_formulas(runner: CliRunner, tmp_path: Path) -> None:
    assert run(runner, tmp_path, "learners", "add", "=cmd|' /C calc'!A0").exit_code == 0
    exported = run(runner, tmp_path, "learners", "export")
    assert exported.exit_code == 0
    assert exported.stdout.splitlines() == ["name,class,pin,language", "'=cmd|' /C calc'!A0,,,"]


def test_progress_rebuild(runner: CliRunner, tmp_path: Path) -> None:
    assert run(runner, tmp_path, "learners", "add", "Amina").exit_code == 0
    open_db(tmp_path)
    with connected():
        log = EventLog.start()
        amina = Learner.by_username("amina")
        log.record(
            amina.id, "fractions-en", "halves", "progress", {"progress": 0.4, "time_spent": 30}
        )
        log.record(amina.id, "fractions-en", "halves", "completed", {"time_spent": 15})
        before = [(p.progress, p.completed, p.time_spent) for p in Progress.select()]
        Progress.delete().execute()
    result = run(runner, tmp_path, "progress", "rebuild")
    assert result.exit_code == 0 and result.stdout == "rebuilt progress from 2 events\n"
    with connected():
        assert [(p.progress, p.completed, p.time_spent) for p in Progress.select()] == before
        assert before == [(1.0, True, 45.0)]


def test_progress_rebuild_of_an_empty_hub(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, tmp_path, "progress", "rebuild")
    assert result.stdout == "rebuilt progress from 0 events\n"
