"""Section "sync", central's part: how fast central applies a hub's bundle, on SQLite and on
PostgreSQL (budget: over 20,000 events/s on each).

Timed end to end as `learnhub central import` does it: verify the bundle (signature, hashes,
every record), then one transaction of inserts and the progress fold, committed durably.
The section's realistic events are repeated (new seqs, later HLCs) to 50,000, so the run is
long enough to measure. PostgreSQL needs a URL: $LEARNHUB_BENCH_POSTGRES, else
$LEARNHUB_TEST_POSTGRES (scripts/test sets it); without one its row says so.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from benchlib.context import Context
from benchlib.report import SectionResult, at_least, info
from sync.bundle import PartSpec, write_bundle
from sync.central.db import central_db
from sync.central.hubs import enrol
from sync.central.service import Central
from sync.identity import KeyPair, public_identity
from sync.records import EventRow, encode_events

APPLY_EVENTS = 50_000
BUDGET = 20_000.0
EPOCH = "ce47a1bea7c0ffee"


def bigger(events: list[EventRow], count: int) -> list[EventRow]:
    """`events` repeated until `count`, each round with new seqs and later HLCs."""
    span = events[-1].hlc - events[0].hlc + 1
    rows = []
    for round_ in range(-(-count // len(events))):
        for event in events:
            rows.append(
                event._replace(
                    seq=event.seq + round_ * len(events),
                    hlc=event.hlc + round_ * span,
                    wall=event.wall + round_ * (span >> 16),
                )
            )
    return rows[:count]


def hub_bundle(folder: Path, keys: KeyPair, events: list[EventRow]) -> Path:
    path = folder / "apply-bench.lhb"
    header = {
        "kind": "hub",
        "sender": keys.hub_id,
        "recipient": "central",
        "hub_id": keys.hub_id,
        "epoch": EPOCH,
        "seq": {"first": events[0].seq, "last": events[-1].seq},
        "hlc": {"first": events[0].hlc, "last": max(e.hlc for e in events)},
        "previous": None,
        "created": events[0].wall,
    }
    write_bundle(path, keys, header, [PartSpec("events", "events", encode_events(events))])
    return path


def apply_rate(data_dir: Path, url: str | None, keys: KeyPair, bundle: Path) -> tuple[float, float]:
    """(events/s of a first apply, events/s of applying it again: all duplicates)."""
    central = Central.open(data_dir, url)
    central_db.connect(reuse_if_open=True)
    try:
        enrol(public_identity(keys, "Bench hub"))
        began = time.perf_counter()
        first = central.apply(bundle)
        seconds = time.perf_counter() - began
        began = time.perf_counter()
        again = central.apply(bundle)
        replay = time.perf_counter() - began
    finally:
        central.close()
    assert first.accepted == APPLY_EVENTS and again.duplicates == APPLY_EVENTS
    return APPLY_EVENTS / seconds, APPLY_EVENTS / replay


def _bundle_for(fx) -> Path:
    if "apply_bundle" not in fx.extra:
        fx.extra["apply_bundle"] = hub_bundle(fx.folder, fx.keys, bigger(fx.events, APPLY_EVENTS))
    return fx.extra["apply_bundle"]


def _rows(result: SectionResult, backend: str, rates: tuple[float, float]) -> None:
    rate, replay = rates
    result.raw[f"apply_{backend}_events_per_second"] = rate
    result.raw[f"reapply_{backend}_events_per_second"] = replay
    label = f"central apply, {backend} ({APPLY_EVENTS:,} events)"
    result.add(at_least(label, rate, f"{rate:,.0f} events/s", BUDGET, "> 20,000/s"))
    result.add(info(f"central apply again (all duplicates), {backend}", replay, f"{replay:,.0f}/s"))


def measure_apply_sqlite(ctx: Context, result: SectionResult, fx) -> None:
    bundle = _bundle_for(fx)
    ctx.say(f"sync: central applies {APPLY_EVENTS:,} events on SQLite")
    _rows(result, "SQLite", apply_rate(fx.folder / "central-sqlite", None, fx.keys, bundle))


def measure_apply_postgres(ctx: Context, result: SectionResult, fx) -> None:
    base = os.environ.get("LEARNHUB_BENCH_POSTGRES") or os.environ.get("LEARNHUB_TEST_POSTGRES")
    if not base:
        result.add(info("central apply, PostgreSQL", None, "skipped: no PostgreSQL URL set"))
        return
    import psycopg

    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        joiner = "&" if "?" in base else "?"
        url = f"{base}{joiner}options=-csearch_path%3D{schema}"
        bundle = _bundle_for(fx)
        ctx.say(f"sync: central applies {APPLY_EVENTS:,} events on PostgreSQL")
        rates = apply_rate(fx.folder / "central-pg", url, fx.keys, bundle)
        _rows(result, "PostgreSQL", rates)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


MEASURES = [measure_apply_sqlite, measure_apply_postgres]
