"""Section "school-pi": proof for small Raspberry Pis. The installed hub, serving the school
library, runs in a control group of 256 MB without swap and with the CPU of one Raspberry
Pi 4 core (1/3.5 of one core of this machine: benchlib.cgroup.PI4_SLOWDOWN), under a
classroom's load: 32 connections, each request a random lesson page (half of them), search
(a quarter) or search-as-you-type prefix (a quarter).

Budget (printed, never asserted): zero errors and no process killed by the OOM killer. A
request unanswered after 30 s counts as an error: on a Pi's CPU, 32 clients queue.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from benchlib import school_data
from benchlib.cgroup import PI4_CORE, CgroupError, LimitedGroup, Limits, MiB
from benchlib.context import BenchError, Context
from benchlib.pathload import Driver
from benchlib.report import Row, SectionResult, info
from benchlib.rss import MemoryLog
from benchlib.school import library_rows, search_paths, suggest_paths
from benchlib.school_library import SchoolLibrary
from benchlib.school_rows import load_rows, mb
from benchlib.serve import BROWSER
from benchlib.server import HubServer, ServerError
from benchlib.wrk import Target

PI_LIMITS = Limits(memory_bytes=256 * MiB, cpu_cores=PI4_CORE)
CLASSROOM_LESSONS = 600  # random lessons in the mix, beside 300 searches and 300 prefixes
REQUEST_TIMEOUT = 30.0


class LimitedHubServer(HubServer):
    """`learnhub serve` started inside a control group."""

    def __init__(self, group: LimitedGroup, learnhub: Path, data_dir: Path, log: Path) -> None:
        super().__init__(learnhub, data_dir, log)
        self.group = group

    def command(self, port: int) -> list[str]:
        return self.group.wrap(super().command(port))


def classroom_paths(library: SchoolLibrary, seed: int = 1) -> list[str]:
    lessons = random.Random(seed).sample(
        library.lesson_paths, min(CLASSROOM_LESSONS, len(library.lesson_paths))
    )
    return lessons + search_paths(library) + suggest_paths(library)


def run(ctx: Context) -> SectionResult:
    result = SectionResult("school-pi")
    try:
        prepared = school_data.prepare(ctx, ctx.lessons)
        library_rows(prepared, result)
        driver = Driver.choose(ctx)
        result.add(info("limits", None, PI_LIMITS.describe()))
        with LimitedGroup(PI_LIMITS) as group:
            result.add(info("  control group", None, f"cgroup {group.kind}"))
            server = LimitedHubServer(
                group, ctx.learnhub, prepared.data, ctx.scratch / "school-pi.log"
            )
            try:
                _measure(ctx, driver, server, classroom_paths(prepared.library), result)
            finally:  # also when the hub died: was it the OOM killer?
                server.stop()
                _group_rows(group, result)
    except (BenchError, ServerError, CgroupError) as err:
        result.error = str(err)
    return result


def _measure(
    ctx: Context, driver: Driver, server: LimitedHubServer, paths: list[str], result: SectionResult
) -> None:
    seconds = server.start(timeout=300)
    result.add(info("start to first 200, limited", seconds, f"{seconds:.2f} s"))
    memory = MemoryLog(server)
    time.sleep(1.0)
    idle = memory.mark("idle")
    result.add(info("RSS idle", idle, mb(idle)))
    ctx.say(f"school-pi: classroom load, {ctx.clients} clients, {ctx.duration:g} s, limited")
    target = Target(server.port, paths, BROWSER)
    numbers = driver.run(target, ctx.clients, ctx.duration, timeout=REQUEST_TIMEOUT)
    alive = server.process is not None and server.process.poll() is None
    after, peak = (memory.mark("after"), memory.peak()) if alive else (None, None)
    result.raw["load"] = numbers.summary()
    load_rows(result, "classroom: lessons, searches, prefixes", numbers, ctx.clients)
    result.add(
        Row("hub still running after the load", alive, "yes" if alive else "NO", "yes", alive)
    )
    result.add(info("RSS after / peak (VmHWM)", peak, f"{mb(after)} / {mb(peak)}"))


def _group_rows(group: LimitedGroup, result: SectionResult) -> None:
    usage = group.usage()
    result.raw["oom_kills"] = usage.oom_kills
    kills = usage.oom_kills
    result.add(Row("OOM kills in the group", kills, str(kills), "0", kills == 0))
    # Charged to the group: its processes' memory and the page cache they read first.
    result.add(info("group's peak memory", usage.peak_bytes, mb(usage.peak_bytes)))
