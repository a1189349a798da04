"""Section "search-load": a class searching at once over HTTP, on the 20,000-lesson school
library (scripts/benchlib/school_library.py) served by a real `learnhub serve`.

Measures the restart time to the first 200 with the library in place, idle RSS, /healthz
(what the machine gives the cheapest answer right now), then 32 clients sending random
searches (one word, two words, misspelt words) to /api/search and to the /search page, and
search-as-you-type prefixes (/api/search/suggest), each for the run's duration, with the
server's CPU per answer and RSS after each. The load comes from wrk (benchlib.wrk, installed
when missing and possible), whose C client leaves the CPU to the hub, else from the Python
client (benchlib.loadgen), which takes about one of the two cores. Budgets (32 clients, 2
cores): searches >= 250 req/s with p95 < 150 ms, suggestions p95 < 30 ms, RSS < 150 MB after
every load (peak < 200 MB), idle < 80 MB, restart < 1 s.

On its own, against a data dir that already holds the library (a copy is served):

    .venv/bin/python scripts/benchlib/search_load.py --data /tmp/biglib-data \\
        --library /tmp/schoollib [--duration 10] [--clients 32]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

if __name__ == "__main__":  # run on its own: make `benchlib` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import school_data, school_library, wrk
from benchlib.context import BenchError, Context
from benchlib.loadgen import Request, load
from benchlib.report import MB, Row, SectionResult, at_least, info, under
from benchlib.server import HubServer, ServerError

SEARCH_RATE_BUDGET = 250.0
SEARCH_P95_BUDGET = 0.150
SUGGEST_P95_BUDGET = 0.030
RSS_BUDGET = 150 * MB
PEAK_RSS_BUDGET = 200 * MB
IDLE_RSS_BUDGET = 80 * MB
RESTART_BUDGET = 1.0
IDLE_SETTLE = 1.0
WARM_UP = 1.0
ACCEPT = (("Accept-Language", "en"),)
BROWSER = (*ACCEPT, ("Accept", "text/html"), ("Accept-Encoding", "gzip, deflate"))


def run(ctx: Context) -> SectionResult:
    result = SectionResult("search-load")
    try:
        # The school sections' library, generated and imported once and kept between runs.
        prepared = school_data.prepare(ctx, ctx.lessons)
        if prepared.import_seconds is not None:
            seconds = prepared.import_seconds
            result.add(info("import + index of the library", seconds, f"{seconds:.0f} s"))
        server = ctx.server(prepared.data, "search-load")
        measure(server, prepared.library, ctx.clients, ctx.duration, result, ctx.scratch, ctx.say)
    except (BenchError, ServerError) as err:
        result.error = str(err)
    return result


def searches_of(folder: Path) -> tuple[list[str], list[str]]:
    """Queries and typing prefixes for a library already written (its pack.json titles)."""
    titles = []
    for manifest in sorted(folder.glob("*/pack.json")):
        titles += [entry["title"] for entry in json.loads(manifest.read_text())["lessons"]]
    topical = sorted({word for title in titles for word in title.lower().split()})
    return school_library._searches(random.Random(5), titles, topical)


def measure(
    server: HubServer,
    library: school_library.SchoolLibrary,
    clients: int,
    duration: float,
    result: SectionResult,
    workdir: Path,
    say: Callable[[str], None] = print,
) -> None:
    driver = Driver(wrk.ensure(say), workdir)
    started = server.start()
    try:
        result.add(
            under("restart to the first 200", started, f"{started:.2f} s", RESTART_BUDGET, "< 1 s")
        )
        time.sleep(IDLE_SETTLE)  # let start-up work settle before weighing the idle hub
        idle = server.rss_bytes()
        result.add(under("RSS idle", idle, _mb(idle), IDLE_RSS_BUDGET, "< 80 MB"))
        # What this machine gives the hub's cheapest answer right now: a busy machine lowers
        # every number below, and this one shows by how much.
        health = driver.run(server, ["/healthz"], (), clients, duration / 2)
        result.raw["healthz"] = health.summary()
        shown = f"{health.per_second:.0f} req/s, p95 {_ms(health.p95)} ms ({health.driver})"
        result.add(info("calibration: /healthz, same clients", health.per_second, shown))
        for name, path, texts, headers, p95_budget in (
            ("random searches", "/api/search", library.queries, ACCEPT, SEARCH_P95_BUDGET),
            ("random searches, HTML page", "/search", library.queries, BROWSER, SEARCH_P95_BUDGET),
            ("typing prefixes (suggest)", "/api/search/suggest", library.prefixes, ACCEPT,
             SUGGEST_P95_BUDGET),
        ):  # fmt: skip
            paths = [f"{path}?{urllib.parse.urlencode({'q': t})}" for t in texts]
            driver.run(server, paths, headers, min(clients, 4), WARM_UP)
            cpu = server.cpu_seconds()
            outcome = driver.run(server, paths, headers, clients, duration)
            cpu = server.cpu_seconds() - cpu
            server.check_alive()
            result.raw[name] = outcome.summary() | {"server_cpu_seconds": cpu}
            _rows(result, name, outcome, clients, p95_budget, name.startswith("random searches"))
            # CPU per answer says what a busy machine's req/s cannot: the work itself.
            per = cpu / max(1, outcome.requests) * 1000
            result.add(info(f"  server CPU per answer ({name})", per, f"{per:.2f} ms"))
            rss = server.rss_bytes()
            result.add(under(f"  RSS after {name}", rss, _mb(rss), RSS_BUDGET, "< 150 MB"))
        peak = server.peak_rss_bytes()
        result.add(under("peak RSS", peak, _mb(peak), PEAK_RSS_BUDGET, "< 200 MB"))
    finally:
        server.stop()


class Driver:
    """wrk when there is one (C: it leaves the CPU to the hub), else the Python client."""

    def __init__(self, wrk_path: str | None, workdir: Path) -> None:
        self.wrk_path = wrk_path
        self.workdir = workdir

    def run(
        self,
        server: HubServer,
        paths: list[str],
        headers: tuple[tuple[str, str], ...],
        clients: int,
        duration: float,
    ) -> wrk.Numbers:
        if self.wrk_path:
            target = wrk.Target(server.port, paths, headers)
            return wrk.run(self.wrk_path, target, clients, duration, self.workdir)
        requests = [Request(path, headers) for path in paths]
        outcome = load(server.port, lambda rng: rng.choice(requests), clients, duration)
        return wrk.Numbers(
            requests=outcome.requests,
            seconds=outcome.seconds,
            bytes_read=outcome.body_bytes,
            p50=outcome.percentile(0.5),
            p95=outcome.percentile(0.95),
            errors=outcome.errors,
            driver="python",
        )


def _rows(
    result: SectionResult,
    name: str,
    outcome: wrk.Numbers,
    clients: int,
    p95_budget: float,
    rate: bool,
) -> None:
    shown = (
        f"{outcome.per_second:.0f} req/s, p50 {_ms(outcome.p50)} / p95 {_ms(outcome.p95)} ms, "
        f"{outcome.error_count} errors ({outcome.driver})"
    )
    measure = f"{name}, {clients} clients"
    if rate:
        result.add(at_least(measure, outcome.per_second, shown, SEARCH_RATE_BUDGET, ">= 250 req/s"))
    else:
        result.add(Row(measure, outcome.per_second, shown))
    budget = f"p95 < {p95_budget * 1000:.0f} ms"
    ok = outcome.p95 is not None and outcome.p95 < p95_budget and not outcome.error_count
    result.add(Row(f"  {name} p95", outcome.p95, f"{_ms(outcome.p95)} ms", budget, ok))


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def _mb(size: float) -> str:
    return f"{size / MB:.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="search_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a data dir with the library")
    parser.add_argument("--library", type=Path, required=True, help="the library's pack folders")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--learnhub", type=Path, default=Path(".venv/bin/learnhub"))
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args(argv)
    queries, prefixes = searches_of(args.library)
    library = school_library.SchoolLibrary([], [], {}, queries, prefixes)
    scratch = Path(tempfile.mkdtemp(prefix="learnhub-search-load-"))
    try:
        data = scratch / "data"
        shutil.copytree(args.data, data)  # the server may rebuild or migrate: never the original
        server = HubServer(args.learnhub.resolve(), data, scratch / "server.log")
        result = SectionResult("search-load")
        measure(server, library, args.clients, args.duration, result, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for row in result.rows:
        print(f"{row.measure:45} {row.shown:60} {row.budget:16} {row.verdict}")
    if args.json:
        args.json.write_text(json.dumps(result.raw, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
