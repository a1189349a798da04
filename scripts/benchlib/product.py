"""The hub as a school gets it: the locked versions (requirements/hub.txt) and this checkout
installed into a fresh virtualenv, as raspberrypi/install.sh does, so memory is measured
without the test tools.

The development venv also holds pytest, playwright and psycopg; peewee imports psycopg
whenever it is installed, which alone adds about 9 MB to a hub's memory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from benchlib.context import BenchError

# Not part of what is installed; a stale build/ would even leak deleted files into the wheel.
LEFT_OUT = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*_cache", "test-*")


def install(root: Path, where: Path) -> Path:
    """A venv at `where/venv` with the hub from `root` (copied first, so the checkout stays
    as it is); returns its `learnhub` command."""
    source, venv = where / "source", where / "venv"
    shutil.copytree(root, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    locked = ["--require-hashes", "--no-deps", "-r", str(source / "requirements" / "build.txt")]
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [*pip, *locked, "-r", str(source / "requirements" / "hub.txt")],
        [*pip, "--no-deps", "--no-build-isolation", str(source)],
    )
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            why = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            raise BenchError(f"installing the hub for the bench failed: {why}")
    learnhub = venv / "bin" / "learnhub"
    if not learnhub.exists():
        raise BenchError(f"`pip install {root}` made no {learnhub}.")
    return learnhub
