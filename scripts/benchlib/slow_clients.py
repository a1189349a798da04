"""Section "slowclients": honest clients while one address holds hundreds of connections.

The hub with its sample library; 32 clients (--clients) from 127.0.0.1 load its pages (the
home page and an article lesson) once alone and once while 127.0.0.2 holds 300 connections,
half idle and half dripping headers that never end (benchlib/attacker.py). Then the same
attack on the reference app (a bare Flask view on plain waitress): what the hub's guarded
server (hub/web/server.py) changes.

Budget: under attack, the hub serves at least half the pages per second it serves alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchlib.context import BenchError, Context
from benchlib.loadgen import LoadResult, Picker, Request, load
from benchlib.report import Row, SectionResult, at_least, info
from benchlib.server import HubServer, ReferenceServer, ServerError

ATTACKER = "127.0.0.2"  # the honest clients are 127.0.0.1
ATTACK_CONNECTIONS = 300
WARM_UP = 1.0  # seconds of unmeasured load before each measured run
SETTLE = 2.0  # seconds the attack runs before the measured load starts
LOAD_TIMEOUT = 10.0  # loadgen's per-request timeout: a run ends by duration + this
BROWSER = (("Accept-Encoding", "gzip, deflate"), ("Accept", "text/html"))
UNDER_ATTACK_FLOOR = 0.5  # pages/s under attack at least half of pages/s alone


def run(ctx: Context) -> SectionResult:
    result = SectionResult("slowclients")
    try:
        _measure(ctx, result)
    except (BenchError, ServerError) as err:
        result.error = str(err)
    return result


def _measure(ctx: Context, result: SectionResult) -> None:
    ctx.say("slow clients: starting the hub (its first run imports the sample library)")
    server = ctx.server(ctx.scratch / "slowclients-data", "slowclients")
    server.start(timeout=300)
    try:
        pick = _pages(_lesson_page(server))
        load(server.port, pick, min(ctx.clients, 4), WARM_UP)
        ctx.say(f"slow clients: hub pages, {ctx.clients} clients, {ctx.duration:g} s, alone")
        alone = load(server.port, pick, ctx.clients, ctx.duration)
        ctx.say(f"slow clients: the same while {ATTACKER} holds {ATTACK_CONNECTIONS} connections")
        attacked, counts = _under_attack(ctx, server.port, pick)
        server.check_alive()
    finally:
        server.stop()
    result.raw |= {"alone": alone.summary(), "attacked": attacked.summary(), "attack": counts}
    _rows(result, "hub pages, no attacker", alone)
    _rows(result, f"hub pages, {ATTACKER} holds {ATTACK_CONNECTIONS}", attacked)
    ratio = attacked.per_second / alone.per_second if alone.per_second else None
    result.add(
        at_least(
            "  pages/s under attack / alone",
            ratio,
            f"{ratio:.2f}" if ratio is not None else "-",
            UNDER_ATTACK_FLOOR,
            ">= 0.50",
        )
    )
    _attack_rows(result, counts)
    _reference(ctx, result)


def _reference(ctx: Context, result: SectionResult) -> None:
    """Plain waitress (connection_limit 100, idle timeout 120 s) under the same attack."""
    ctx.say("slow clients: the reference app on plain waitress under the same attack")
    server = ReferenceServer(ctx.learnhub, ctx.scratch, ctx.scratch / "slowclients-ref.log")
    server.start()
    try:
        pick = _pages(None)
        load(server.port, pick, min(ctx.clients, 4), WARM_UP)
        attacked, counts = _under_attack(ctx, server.port, pick)
    finally:
        server.stop()
    result.raw["reference"] = {"attacked": attacked.summary(), "attack": counts}
    _rows(result, f"plain waitress (reference), {ATTACKER} holds {ATTACK_CONNECTIONS}", attacked)


def _under_attack(ctx: Context, port: int, pick: Picker) -> tuple[LoadResult, dict]:
    seconds = SETTLE + ctx.duration + LOAD_TIMEOUT + 2
    script = Path(__file__).with_name("attacker.py")
    argv = [sys.executable, str(script), str(port), ATTACKER, str(ATTACK_CONNECTIONS)]
    attacker = subprocess.Popen(
        [*argv, str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        if attacker.stdout is None or attacker.stdout.readline().strip() != "ready":
            raise BenchError(f"the attacker did not start: {attacker.stderr.read()[-300:]}")
        load(port, pick, 1, SETTLE)  # the attack settles; nothing measured
        outcome = load(port, pick, ctx.clients, ctx.duration)
        attacker.terminate()  # it prints its counts and ends
        out, err = _output(attacker)
    finally:
        if attacker.poll() is None:
            attacker.kill()
            attacker.wait()
    try:
        return outcome, json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError(f"the attacker gave no counts: {err[-300:]}") from None


def _output(attacker: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return attacker.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # the counts were printed before it stuck
        attacker.kill()
        return attacker.communicate()


def _lesson_page(server: HubServer) -> str:
    for pack in server.get_json("/api/packs")["packs"]:
        for lesson in server.get_json(f"/api/packs/{pack['id']}")["lessons"]:
            if lesson["kind"] == "article":
                return lesson["url"]
    raise BenchError("The sample library has no article lesson to load.")


def _pages(lesson: str | None) -> Picker:
    """The home page and, on the hub, an article lesson, in turn at random."""
    requests = [Request("/", BROWSER)] + ([Request(lesson, BROWSER)] if lesson else [])
    return lambda rng: rng.choice(requests)


def _rows(result: SectionResult, label: str, outcome: LoadResult) -> None:
    result.add(
        info(f"{label} @{outcome.clients}", outcome.per_second, f"{outcome.per_second:.0f} pages/s")
    )
    p50, p95 = outcome.percentile(0.5), outcome.percentile(0.95)
    result.add(info("  latency p50 / p95", p95, f"{_ms(p50)} / {_ms(p95)} ms"))
    count = outcome.error_count
    shown = str(count)
    if count:
        shown += " (" + ", ".join(f"{k}: {v}" for k, v in outcome.errors.most_common(3)) + ")"
    result.add(Row("  errors", count, shown))


def _attack_rows(result: SectionResult, counts: dict) -> None:
    held = counts["open_at_end"]
    result.add(info("  attacker's connections open at the end", held, str(held)))
    closed = counts["closed_by_server"]
    result.add(info("  attacker's connections the hub closed", closed, str(closed)))


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"
