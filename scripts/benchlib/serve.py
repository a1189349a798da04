"""Section "serve": start-up time, memory, and answers under load on loopback.

Budgets (a 2-core machine): cold start under 1.5 s; RSS under 80 MB after the load; lesson
page p95 under 50 ms, also while slow Range downloads are open; Range file serving within 2x
of plain file serving (MB/s). Both file loads answer 1 MiB per request: the whole 1 MiB file
without Range, and 1 MiB windows at random offsets in the 48 MiB file with it (a player
seeking in a video), so the ratio compares the same work.
"""

from __future__ import annotations

import http.client
import json
import random
import statistics
import time
from functools import partial
from pathlib import Path

from benchlib import fixtures
from benchlib.context import BenchError, Context
from benchlib.loadgen import (
    LoadResult,
    Picker,
    Request,
    Response,
    load,
    load_while_holding,
)
from benchlib.report import MB, Row, SectionResult, at_least, errors_row, info, under
from benchlib.server import HOST, HubServer, ReferenceServer, ServerError

COLD_START_BUDGET = 1.5
RSS_BUDGET = 80 * MB
PAGE_P95_BUDGET = 0.050
RANGE_RATIO_BUDGET = 0.5  # Range MB/s at least half of plain MB/s: "within 2x"
IDLE_SETTLE = 1.0  # seconds after the first 200 before reading idle RSS
WARM_UP = 1.0  # seconds of unmeasured load per target (template compilation, caches)
RANGE_WINDOW = fixtures.BIG_SIZE  # bytes per Range answer: the same as the plain file
HOLD_RATE = 256 * 1024  # bytes/s each slow download reads: a phone on a busy Wi-Fi
# Pages are asked for as a browser does; files as a media player does (no compression).
BROWSER = (("Accept-Encoding", "gzip, deflate"), ("Accept", "text/html"))


def run(ctx: Context) -> SectionResult:
    result = SectionResult("serve")
    try:
        _measure(ctx, ctx.scratch / "serve-data", result)
    except (BenchError, ServerError) as err:
        result.error = str(err)
    return result


def _measure(ctx: Context, data: Path, result: SectionResult) -> None:
    _first_run(ctx, data, result)
    files = _import_bench_pack(ctx, data, result)
    _cold_starts(ctx, data, result)
    server = ctx.server(data, "serve-load")
    server.start()
    try:
        time.sleep(IDLE_SETTLE)
        idle = server.rss_bytes()
        result.raw["idle_rss_bytes"] = idle
        result.add(info("RSS idle, after start", idle, _mb(idle)))
        _loads(ctx, server, files, result)
        rss = server.rss_bytes()
        result.add(under("RSS after the load", rss, _mb(rss), RSS_BUDGET, "< 80 MB"))
        _learner_load(ctx, server, data, result)
        learner_rss, peak = server.rss_bytes(), server.peak_rss_bytes()
        result.raw |= {
            "rss_after_load_bytes": rss,
            "rss_after_learner_load_bytes": learner_rss,
            "peak_rss_bytes": peak,
        }
        result.add(info("RSS after the learner's load too", learner_rss, _mb(learner_rss)))
        result.add(info("peak RSS (VmHWM)", peak, _mb(peak)))
    finally:
        server.stop()
    _reference(ctx, result)


def _reference(ctx: Context, result: SectionResult) -> None:
    """The same load on a bare Flask view: how much of a page's time is the hub's own work."""
    ctx.say(f"reference: bare Flask page on waitress, {ctx.clients} clients, {ctx.duration:g} s")
    server = ReferenceServer(ctx.learnhub, ctx.scratch, ctx.scratch / "reference.log")
    server.start()
    try:
        pick = _fixed(Request("/", BROWSER))
        load(server.port, pick, min(ctx.clients, 4), WARM_UP)
        outcome = _timed_load(server, pick, ctx.clients, ctx.duration)
    finally:
        server.stop()
    result.raw["reference"] = outcome.summary()
    p50, p95 = outcome.percentile(0.5), outcome.percentile(0.95)
    result.add(
        info(
            f"reference: bare Flask 5 KB page @{outcome.clients}",
            outcome.per_second,
            f"{outcome.per_second:.0f} req/s",
        )
    )
    result.add(info("  latency p50 / p95", p95, f"{_ms(p50)} / {_ms(p95)} ms"))


def _first_run(ctx: Context, data: Path, result: SectionResult) -> None:
    ctx.say("first run on an empty data dir (creates it, imports the sample library)")
    server = ctx.server(data, "serve-first-run")
    try:
        seconds = server.start(timeout=300)
        packs = server.get_json("/api/packs")["packs"]
    finally:
        server.stop()
    result.raw["first_run_seconds"] = seconds
    result.add(info("first run to first 200 (sample import)", seconds, f"{seconds:.2f} s"))
    # Without the sample library the first-run time above measures nothing worth having.
    result.add(at_least("  packs after first run", len(packs), str(len(packs)), 1, ">= 1"))


def _import_bench_pack(ctx: Context, data: Path, result: SectionResult) -> tuple[bytes, bytes]:
    ctx.say("writing and importing the bench pack (1 MiB and 48 MiB files)")
    folder = ctx.scratch / "bench-pack"
    files = fixtures.write_bench_pack(folder)
    began = time.perf_counter()
    ctx.learnhub_cli("content", "import", "--data", str(data), str(folder))
    seconds = time.perf_counter() - began
    result.raw["bench_pack_import_seconds"] = seconds
    result.add(info("import of the 49 MiB bench pack (CLI)", seconds, f"{seconds:.2f} s"))
    return files


def _cold_starts(ctx: Context, data: Path, result: SectionResult) -> None:
    ctx.say(f"{ctx.cold_starts} cold starts")
    samples = []
    for n in range(ctx.cold_starts):
        server = ctx.server(data, f"serve-cold-{n}")
        try:
            samples.append(server.start(timeout=60))
        finally:
            server.stop()
    median = statistics.median(samples)
    result.raw["cold_start_seconds"] = samples
    shown = f"{median:.2f} s ({min(samples):.2f}-{max(samples):.2f})"
    result.add(
        under(
            f"cold start to first 200, median of {len(samples)}",
            median,
            shown,
            COLD_START_BUDGET,
            "< 1.5 s",
        )
    )


def _lesson_page(server: HubServer) -> str:
    """The URL of an article lesson from the library (not the bench's own pack)."""
    for pack in server.get_json("/api/packs")["packs"]:
        if pack["id"] == fixtures.PACK_ID:
            continue
        for lesson in server.get_json(f"/api/packs/{pack['id']}")["lessons"]:
            if lesson["kind"] == "article":
                return lesson["url"]
    raise BenchError("The library has no article lesson to load the lesson page with.")


def _file_url(server: HubServer, lesson_id: str) -> str:
    url = server.get_json(f"/api/lessons/{fixtures.PACK_ID}/{lesson_id}")["files"]["main"]
    if not url:
        raise BenchError(f"/api/lessons/{fixtures.PACK_ID}/{lesson_id} gives no files.main.")
    return url


def _check_whole(expected: bytes, response: Response) -> str | None:
    if response.status != 200:
        return f"status {response.status}"
    return None if response.body == expected else "wrong bytes"


def _check_range(expected: bytes, start: int, end: int, response: Response) -> str | None:
    """206 with the window asked for."""
    if response.status != 206:
        return f"status {response.status}"
    if response.headers.get("content-range") != f"bytes {start}-{end}/{len(expected)}":
        return "wrong Content-Range"
    return None if response.body == expected[start : end + 1] else "wrong bytes"


def _range_picker(url: str, expected: bytes) -> Picker:
    """Windows of RANGE_WINDOW bytes at random offsets, like a video player seeking."""

    def pick(rng: random.Random) -> Request:
        start = rng.randint(0, len(expected) - RANGE_WINDOW)
        end = start + RANGE_WINDOW - 1
        return Request(
            url,
            (("Range", f"bytes={start}-{end}"),),
            check=partial(_check_range, expected, start, end),
        )

    return pick


def _fixed(request: Request) -> Picker:
    return lambda rng: request


def _loads(
    ctx: Context, server: HubServer, files: tuple[bytes, bytes], result: SectionResult
) -> None:
    big, huge = files
    lesson = _lesson_page(server)
    big_url = _file_url(server, fixtures.BIG_LESSON)
    huge_url = _file_url(server, fixtures.HUGE_LESSON)
    result.raw["urls"] = {"lesson": lesson, "big": big_url, "huge": huge_url}
    whole_file = Request(big_url, check=partial(_check_whole, big))
    targets = {
        "home": ("/ (home page)", _fixed(Request("/", BROWSER))),
        "lesson": (f"lesson page {lesson}", _fixed(Request(lesson, BROWSER))),
        "file": ("1 MiB file, no Range", _fixed(whole_file)),
        "range": ("1 MiB windows of a 48 MiB file, Range", _range_picker(huge_url, huge)),
    }
    loads: dict[str, LoadResult] = {}
    log_lines = server.log_lines()
    for key, (label, pick) in targets.items():
        ctx.say(f"load: {label}, {ctx.clients} clients, {ctx.duration:g} s")
        load(server.port, pick, min(ctx.clients, 4), WARM_UP)
        loads[key] = _timed_load(server, pick, ctx.clients, ctx.duration)
        server.check_alive()
        result.raw[f"load_{key}"] = loads[key].summary()
        _load_rows(
            result, label, loads[key], files=key in ("file", "range"), budget_p95=key == "lesson"
        )
    plain, ranged = loads["file"].megabytes_per_second, loads["range"].megabytes_per_second
    ratio = ranged / plain if plain else None
    result.add(
        at_least(
            "  Range MB/s / plain MB/s",
            ratio,
            f"{ratio:.2f}" if ratio else "-",
            RANGE_RATIO_BUDGET,
            ">= 0.50 (within 2x)",
        )
    )
    _stall_check(ctx, server, lesson, result)
    written = server.log_lines() - log_lines
    result.add(info("server log lines written during the loads", written, str(written)))


class CpuMeter:
    """CPU used by the server and by this process (the load generator) over one load run."""

    def __init__(self, server: HubServer) -> None:
        self.server = server
        self.server_began = server.cpu_seconds()
        self.client_began = time.process_time()

    def fill(self, outcome: LoadResult) -> LoadResult:
        """Per wall second: 1.0 means one core busy the whole run."""
        outcome.server_cpu = round(
            (self.server.cpu_seconds() - self.server_began) / outcome.seconds, 2
        )
        outcome.client_cpu = round((time.process_time() - self.client_began) / outcome.seconds, 2)
        return outcome


def _timed_load(server: HubServer, pick: Picker, clients: int, duration: float) -> LoadResult:
    meter = CpuMeter(server)
    return meter.fill(load(server.port, pick, clients, duration))


def _load_rows(
    result: SectionResult, label: str, outcome: LoadResult, *, files: bool, budget_p95: bool
) -> None:
    rate = f"{outcome.per_second:.0f} req/s"
    if files:
        rate += f", {outcome.megabytes_per_second:.0f} MB/s"
    result.add(info(f"{label} @{outcome.clients}", outcome.per_second, rate))
    p50, p95 = outcome.percentile(0.5), outcome.percentile(0.95)
    shown = f"{_ms(p50)} / {_ms(p95)} ms"
    if budget_p95:
        result.add(under("  latency p50 / p95", p95, shown, PAGE_P95_BUDGET, "p95 < 50 ms"))
    else:
        result.add(info("  latency p50 / p95", p95, shown))
    result.add(errors_row(outcome.errors))


def _learner_load(ctx: Context, server: HubServer, data: Path, result: SectionResult) -> None:
    """The lesson page for a signed-in learner: drawn for them each time (only the lesson's
    part is kept), and each view is an event written to the log. Not under the budget, which
    is for the page as a visitor gets it; here so the difference is seen."""
    lesson = result.raw["urls"]["lesson"]
    name, pin = "Bench Reader", "482913"
    ctx.learnhub_cli("learners", "add", "--data", str(data), name, "--pin", pin)
    listed = json.loads(ctx.learnhub_cli("learners", "list", "--json", "--data", str(data)))
    username = next(row["username"] for row in listed if row["name"] == name)
    cookie = _sign_in(server, username, pin)
    ctx.say(f"load: {lesson} signed in as a learner, {ctx.clients} clients, {ctx.duration:g} s")
    pick = _fixed(Request(lesson, (*BROWSER, ("Cookie", cookie))))
    load(server.port, pick, min(ctx.clients, 4), WARM_UP)
    outcome = _timed_load(server, pick, ctx.clients, ctx.duration)
    server.check_alive()
    result.raw["load_lesson_learner"] = outcome.summary()
    _load_rows(result, "lesson page, signed-in learner", outcome, files=False, budget_p95=False)


def _sign_in(server: HubServer, username: str, pin: str) -> str:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    try:
        body = json.dumps({"username": username, "pin": pin})
        connection.request("POST", "/api/session", body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        cookie = answer.getheader("Set-Cookie", "")
    finally:
        connection.close()
    if answer.status != 201 or not cookie:
        raise BenchError(f"The bench learner could not sign in (status {answer.status}).")
    return cookie.split(";", 1)[0]


def _stall_check(ctx: Context, server: HubServer, lesson: str, result: SectionResult) -> None:
    """Lesson pages while slow phones hold long Range downloads: are worker threads free?"""
    huge_url = _file_url(server, fixtures.HUGE_LESSON)
    ctx.say(
        f"stall check: lesson page, {ctx.clients} clients, while {ctx.holders} slow "
        f"Range downloads of {fixtures.HUGE_SIZE // 2**20} MiB read at "
        f"{HOLD_RATE // 1024} KiB/s"
    )
    meter = CpuMeter(server)
    outcome, holding = load_while_holding(
        server.port,
        _fixed(Request(lesson, BROWSER)),
        ctx.clients,
        ctx.duration,
        huge_url,
        fixtures.HUGE_SIZE,
        ctx.holders,
        HOLD_RATE,
    )
    meter.fill(outcome)
    server.check_alive()
    result.raw["stall_check"] = {"load": outcome.summary(), "holders": holding.summary()}
    result.add(
        info(
            f"lesson page during {ctx.holders} slow Range downloads @{outcome.clients}",
            outcome.per_second,
            f"{outcome.per_second:.0f} req/s",
        )
    )
    p50, p95 = outcome.percentile(0.5), outcome.percentile(0.95)
    result.add(
        under(
            "  latency p50 / p95",
            p95,
            f"{_ms(p50)} / {_ms(p95)} ms",
            PAGE_P95_BUDGET,
            "p95 < 50 ms",
        )
    )
    result.add(errors_row(outcome.errors))
    held = f"{holding.streaming_at_start}/{ctx.holders} -> {holding.streaming_at_end}/{ctx.holders}"
    result.add(
        Row(
            "  slow downloads streaming (start -> end)",
            holding.streaming_at_end,
            held,
            f"{ctx.holders}/{ctx.holders}",
            holding.streaming_at_end == ctx.holders,
        )
    )


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"
