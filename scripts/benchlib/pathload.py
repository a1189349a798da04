"""One way for the school sections to run a load of random paths: wrk when it is installed
(or can be), else benchlib.loadgen, said in the report because the Python client takes CPU
from the server on a small machine and its numbers are lower."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchlib import wrk
from benchlib.context import Context
from benchlib.loadgen import LoadResult, Request, run_load
from benchlib.wrk import Numbers, Target

WARM_UP = 1.0  # unmeasured seconds before each run: templates, caches, page cache


@dataclass
class Driver:
    wrk: str | None  # the wrk command, or None for the Python load generator
    workdir: Path

    @classmethod
    def choose(cls, ctx: Context) -> Driver:
        found = wrk.ensure(ctx.say)
        if found is None:
            ctx.say("wrk is not installed (and could not be): using the Python load generator")
        return cls(found, ctx.scratch / "wrk")

    @property
    def name(self) -> str:
        return "wrk" if self.wrk else "python loadgen (wrk not installed)"

    def run(self, target: Target, clients: int, duration: float, timeout: float = 10.0) -> Numbers:
        self._drive(target, min(clients, 4), WARM_UP, timeout)
        return self._drive(target, clients, duration, timeout)

    def _drive(self, target: Target, clients: int, duration: float, timeout: float) -> Numbers:
        if self.wrk:
            return wrk.run(self.wrk, target, clients, duration, self.workdir, timeout)
        return python_load(target, clients, duration, timeout)


def python_load(target: Target, clients: int, duration: float, timeout: float) -> Numbers:
    requests = [Request(path, target.headers) for path in target.paths]
    result: LoadResult = asyncio.run(
        run_load(target.port, lambda rng: rng.choice(requests), clients, duration, timeout)
    )
    return Numbers(
        requests=result.requests,
        seconds=result.seconds,
        bytes_read=result.body_bytes,
        p50=result.percentile(0.5),
        p95=result.percentile(0.95),
        errors=Counter(result.errors),
        driver="loadgen",
    )
