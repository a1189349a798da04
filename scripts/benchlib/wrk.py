"""Random-path loads with wrk (C, event-driven): each request takes a random line of a paths
file, so a run reads many lessons and runs many searches, as a class does, instead of one URL
a cache keeps hot.

wrk keeps its connections busy (a closed loop, like benchlib.loadgen) with far less CPU per
request than a Python client, which matters on a 2-core machine where the client shares the
CPU with the server it measures. Its own error counts cover sockets, timeouts and statuses
>= 400; the script below also counts every answer that is not 2xx. An answer slower than the
timeout is counted as a socket timeout and left out of wrk's latency percentiles: when no
answer came in time, there are no percentiles (None), not zeros.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchlib.context import BenchError
from benchlib.server import HOST

THREADS = 2  # one per core here; wrk's threads are event loops, not one per connection
MARK = "WRKJSON "
# Lua 5.1 (LuaJIT) run by every wrk thread. `init` reads the paths file; `request` picks one;
# `response`, when defined, counts non-2xx answers (left out for big files: it copies every
# body into Lua); `done` prints one JSON line with the numbers.
SCRIPT = r"""
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(paths, line) end
  end
  math.randomseed(id * 7919)
  non2xx = 0
  headers = {}
  for n = 2, #args, 2 do headers[args[n]] = args[n + 1] end
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

COUNT_STATUS

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + (thread:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "microseconds": %d, "bytes": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, ' ..
    '"status_400_up": %d, "non2xx": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max, e.connect, e.read, e.write,
    e.timeout, e.status, bad))
end
"""
COUNT_STATUS = """
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
"""


@dataclass
class Numbers:
    """One load run, whoever drove it."""

    requests: int  # answers that counted (for wrk: all answers, less the non-2xx ones)
    seconds: float
    bytes_read: int  # wrk counts headers too: a rounding error beside 1 MiB bodies
    p50: float | None  # seconds
    p95: float | None
    errors: Counter[str] = field(default_factory=Counter)
    driver: str = "wrk"

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes_read / 1e6 / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def summary(self) -> dict:
        return {
            "driver": self.driver,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "requests_per_second": round(self.per_second, 1),
            "megabytes_per_second": round(self.megabytes_per_second, 1),
            "p50_ms": None if self.p50 is None else round(self.p50 * 1000, 2),
            "p95_ms": None if self.p95 is None else round(self.p95 * 1000, 2),
            "errors": dict(self.errors),
        }


def find() -> str | None:
    return shutil.which("wrk")


def ensure(say: Callable[[str], None]) -> str | None:
    """wrk's path; installed with apt-get first when missing and we are root, else None."""
    if find() or os.geteuid() != 0 or not shutil.which("apt-get"):
        return find()
    say("installing wrk (apt-get install wrk)")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run(step, env=environment, capture_output=True, timeout=600, check=False)
    return find()


@dataclass(frozen=True)
class Target:
    port: int
    paths: list[str]  # path and query of each request, one picked at random per request
    headers: tuple[tuple[str, str], ...] = ()
    count_status: bool = True  # False for big files (see SCRIPT)


def run(
    wrk: str, target: Target, clients: int, duration: float, workdir: Path, timeout: float = 10.0
) -> Numbers:
    """`clients` connections for `duration` seconds; a request unanswered after `timeout`
    seconds counts as an error."""
    workdir.mkdir(parents=True, exist_ok=True)
    paths_file, script_file = workdir / "wrk-paths.txt", workdir / "wrk.lua"
    paths_file.write_text("\n".join(target.paths) + "\n", encoding="utf-8")
    script = SCRIPT.replace("COUNT_STATUS", COUNT_STATUS if target.count_status else "")
    script_file.write_text(script, encoding="utf-8")
    header_args = [part for pair in target.headers for part in pair]
    command = [
        wrk,
        f"--threads={min(THREADS, clients)}",
        f"--connections={clients}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={max(1, round(timeout))}s",
        f"--script={script_file}",
        f"http://{HOST}:{target.port}",
        "--",
        str(paths_file),
        *header_args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    return _parse(done.stdout, done.stderr)


def _parse(stdout: str, stderr: str) -> Numbers:
    line = next((x for x in stdout.splitlines() if x.startswith(MARK)), None)
    if line is None:
        why = (stderr.strip() or stdout.strip() or "no output").splitlines()[-1]
        raise BenchError(f"wrk printed no numbers: {why}")
    raw = json.loads(line[len(MARK) :])
    errors: Counter[str] = Counter()
    for key in ("connect", "read", "write", "timeout"):
        if raw[key]:
            errors[f"socket {key}"] = raw[key]
    # Statuses >= 400 are inside non2xx when the script counted; else only wrk's own count.
    bad = raw["non2xx"] or raw["status_400_up"]
    if bad:
        errors["not 2xx"] = bad
    timed = raw["max_us"] > 0  # some answer came within the timeout
    return Numbers(
        requests=raw["requests"] - bad,
        seconds=raw["microseconds"] / 1e6,
        bytes_read=raw["bytes"],
        p50=raw["p50_us"] / 1e6 if timed else None,
        p95=raw["p95_us"] / 1e6 if timed else None,
        errors=errors,
    )
