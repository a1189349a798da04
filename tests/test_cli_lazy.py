"""`learnhub` loads a command's module only when that command runs: `content import` of a
2 GB folder spent a tenth of its time importing the web server it never starts."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from hub.cli.main import COMMANDS, main

# What only `serve` (and `discover`) need.
SERVER_MODULES = ("hub.web.app", "hub.web.server", "waitress", "zeroconf", "hub.central.app")
PROBE = """
import sys
from hub.cli.main import main
try:
    main({argv!r})
except SystemExit:
    pass
print("loaded:", *(name for name in {watched!r} if name in sys.modules))
"""


def _loaded(argv: list[str]) -> list[str]:
    code = PROBE.format(argv=argv, watched=SERVER_MODULES)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[-1].split()[1:]  # after the command's own output


def test_content_commands_do_not_load_the_server() -> None:
    assert _loaded(["content", "import", "--help"]) == []
    assert _loaded(["users", "--help"]) == []


def test_serve_loads_what_it_needs() -> None:
    assert {"hub.web.app", "hub.web.server", "waitress"} <= set(_loaded(["serve", "--help"]))


def test_help_lists_every_command_and_an_unknown_one_is_refused(runner: CliRunner) -> None:
    listed = runner.invoke(main, ["--help"])
    assert listed.exit_code == 0
    assert all(f"  {name} " in listed.output for name in COMMANDS)
    unknown = runner.invoke(main, ["servr"])
    assert unknown.exit_code == 2 and "No such command 'servr'" in unknown.output
    fetch = runner.invoke(main, ["content", "fetch", "--help"])
    assert fetch.exit_code == 0 and "URL" in fetch.output
