"""What every section gets: where things are, the run's options, and a way to talk."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchlib.server import HubServer


class BenchError(Exception):
    """A step of the bench could not be done; str() is one sentence for the report."""


@dataclass
class Context:
    root: Path  # the repository
    scratch: Path  # a temporary directory the bench owns and removes
    duration: float  # seconds per load run
    clients: int  # concurrent connections per load run
    cold_starts: int
    holders: int  # slow range downloads during the stall check
    learnhub: Path  # the `learnhub` command the bench runs (see benchlib.product)
    began: float = 0.0
    lessons: int = 20_000  # the school sections' library size

    def say(self, message: str) -> None:
        elapsed = time.perf_counter() - self.began
        print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)

    def server(self, data_dir: Path, name: str) -> HubServer:
        return HubServer(self.learnhub, data_dir, self.scratch / f"{name}.log")

    def learnhub_cli(self, *args: str, timeout: float = 600) -> str:
        """Run a `learnhub` command to completion; its output, or BenchError naming the failure."""
        done = subprocess.run(
            [str(self.learnhub), *args], capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            why = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            raise BenchError(f"`learnhub {' '.join(args[:2])}` failed ({done.returncode}): {why}")
        return done.stdout
