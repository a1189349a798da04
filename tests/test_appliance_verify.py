"""The weekly library check (raspberrypi/bin/learnhub-verify): its verdict lands where the
operator page reads it, intact or naming the damaged files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.appliance_helpers import BIN, ROOT
from tests.content_helpers import write_pack_dir


def run_verify(data: Path, command: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEARNHUB_DATA": str(data), "LEARNHUB_BIN": str(command)}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, str(BIN / "learnhub-verify")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_intact_then_damaged(tmp_path: Path) -> None:
    command = tmp_path / "learnhub"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m hub "$@"\n')
    command.chmod(0o755)
    data = tmp_path / "data"
    pack = write_pack_dir(tmp_path / "fractions")
    imported = subprocess.run(
        [str(command), "content", "import", "--data", str(data), str(pack)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert imported.returncode == 0, imported.stderr

    done = run_verify(data, command)
    assert done.returncode == 0, done.stderr
    verdict = json.loads((data / "appliance" / "verify.json").read_text())
    assert verdict["ok"] is True and verdict["damaged"] == []
    assert verdict["message"].startswith("all ") and verdict["message"].endswith("intact")
    assert verdict["finished"].endswith("+00:00")

    blob = next(p for p in (data / "blobs").rglob("*") if p.is_file())
    blob.write_bytes(b"bit rot")
    done = run_verify(data, command)
    assert done.returncode == 1
    verdict = json.loads((data / "appliance" / "verify.json").read_text())
    assert verdict["ok"] is False
    assert verdict["message"].startswith("1 file(s) are damaged")
    [line] = verdict["damaged"]
    assert line.startswith("damaged fractions-en/") and "(changed)" in line


def test_a_missing_hub_command_is_a_verdict_too(tmp_path: Path) -> None:
    done = run_verify(tmp_path / "data", tmp_path / "no-such-learnhub")
    assert done.returncode == 1
    verdict = json.loads((tmp_path / "data" / "appliance" / "verify.json").read_text())
    assert verdict["ok"] is False and verdict["message"].startswith("The check could not run")
