"""The command line as a whole: help, data dir, and errors as one sentence."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from hub.cli.main import main


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "content"):
        assert command in result.output
    result = runner.invoke(main, ["content", "--help"])
    for command in ("import", "list", "remove", "verify"):
        assert command in result.output


def test_empty_library_lists_as_empty_json(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["content", "list", "--json", "--data", str(tmp_path)])
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_data_dir_from_environment(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["content", "list"], env={"LEARNHUB_DATA": str(tmp_path / "d")})
    assert result.exit_code == 0 and "empty" in result.output
    assert (tmp_path / "d" / "learnhub.db").is_file()


def test_broken_config_file_is_one_sentence(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "learnhub.toml").write_text("port = [")
    result = runner.invoke(main, ["content", "list", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "is not valid TOML" in result.stderr


def test_data_dir_that_is_a_file(runner: CliRunner, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(main, ["content", "list", "--data", str(blocker / "sub")])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_serve_on_a_busy_port_is_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "hub",
                "serve",
                "--data",
                str(tmp_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={"LEARNHUB_LOAD_SAMPLES": "false", "PATH": "/usr/bin:/bin"},
        )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"Error: Port {port} on 127.0.0.1 is already in use; choose another with --port."
    )
