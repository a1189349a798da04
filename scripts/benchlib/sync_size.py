"""Section "sync": how small and how fast sync bundles are.

Bundle bytes per event for 10,000 realistic events from 300 learners (budget: under 20),
export (write_bundle) time and read/verify (read_bundle + decoding every event) time.
Central's apply throughput joins this section later: `run` calls every function in
`MEASURES` with the context, the result and the shared `SyncFixture`, in order.

The events are generated as the hub's own pages make them: classes of 30 in sessions,
a "viewed" when a lesson opens, a progress report about every 15 s while it is studied
(progress to 4 decimals, time to 0.1 s, a media position), "completed" at 90 %, and
quiz attempts with the grader's fields.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import sync_central, sync_resume
from benchlib.context import Context
from benchlib.report import SectionResult, info, under
from sync.bundle import PartSpec, read_bundle, write_bundle
from sync.hlc import pack
from sync.identity import KeyPair, load_or_create
from sync.records import EventRow, encode_events

EVENTS = 10_000
LEARNERS = 300
BYTES_PER_EVENT_BUDGET = 20.0
CLASS_SIZE = 30
REPORT_EVERY = 15.0  # seconds: progress.js reports every 3 beats of 5 s
COMPLETE_AT = 0.9
START_MS = 1_790_000_000_000  # a school morning in 2026
EPOCH = "5eedc0ffee5eed00"

# (pack id, lesson id, kind, seconds it takes, questions) — sample packs and their like.
LESSONS: list[tuple[str, str, str, int, int]] = [
    ("fractions-en", "what-is-a-fraction", "article", 240, 0),
    ("fractions-en", "halves-and-quarters", "video", 300, 0),
    ("fractions-en", "equivalent-fractions", "article", 360, 0),
    ("fractions-en", "fractions-worksheet", "pdf", 420, 0),
    ("fractions-en", "fractions-quiz", "exercise", 180, 5),
    ("cycle-de-leau-fr", "le-cycle-de-l-eau", "article", 300, 0),
    ("cycle-de-leau-fr", "ecoute-le-cycle", "audio", 210, 0),
    ("cycle-de-leau-fr", "quiz-cycle-de-l-eau", "exercise", 150, 4),
    ("afya-usafi-sw", "kunawa-mikono", "article", 240, 0),
    ("afya-usafi-sw", "sikiliza-usafi", "audio", 180, 0),
    ("afya-usafi-sw", "maji-safi", "article", 270, 0),
    ("afya-usafi-sw", "zoezi-usafi", "exercise", 150, 4),
    ("reading-grade-3-en", "the-lost-goat", "video", 420, 0),
    ("reading-grade-3-en", "the-lost-goat-questions", "exercise", 200, 6),
    ("science-plants-en", "how-seeds-grow", "video", 360, 0),
    ("science-plants-en", "parts-of-a-plant", "article", 300, 0),
    ("science-plants-en", "plants-quiz", "exercise", 160, 5),
]


def realistic_events(
    count: int = EVENTS, learners: int = LEARNERS, seed: int = 5
) -> list[EventRow]:
    """`count` events in seq order, as a hub records them for `learners` learners."""
    rng = random.Random(seed)
    uids = [rng.getrandbits(128).to_bytes(16, "big").hex() for _ in range(learners)]
    classes = [uids[i : i + CLASS_SIZE] for i in range(0, learners, CLASS_SIZE)]
    timed: list[tuple[float, int, tuple]] = []
    session_start = 0.0
    while len(timed) < count:
        for members in classes:
            for uid in members:
                for at, what in _session(rng, session_start + rng.uniform(0, 90)):
                    timed.append((at, len(timed), (uid, *what)))
            session_start += 45 * 60 + rng.uniform(0, 600)  # next class's lesson period
    timed.sort()
    return list(_stamped(timed[:count]))


def _session(rng: random.Random, start: float) -> Iterator[tuple[float, tuple]]:
    """One learner's study in one period: a lesson or two, each opened, reported, done."""
    at = start
    for _ in range(rng.choice((1, 1, 2))):
        pack_id, lesson_id, kind, seconds, questions = rng.choice(LESSONS)
        yield at, (pack_id, lesson_id, "viewed", {})
        if kind == "exercise":
            yield from _attempts(rng, at, pack_id, lesson_id, questions)
            at += seconds
        else:
            at = yield from _reports(rng, at, pack_id, lesson_id, kind, seconds)
        at += rng.uniform(5, 60)


def _reports(
    rng: random.Random, at: float, pack_id: str, lesson_id: str, kind: str, seconds: int
) -> Iterator[tuple[float, tuple]]:
    studied = 0.0
    done = False
    speed = rng.uniform(0.6, 1.2)
    length = seconds * rng.uniform(0.8, 1.2)
    while studied < length * rng.uniform(0.7, 1.3):
        step = REPORT_EVERY + rng.uniform(-0.3, 0.3)
        at += step
        studied += step * speed
        fraction = min(1.0, studied / length)
        fields: dict = {"progress": round(fraction, 4), "time_spent": round(step, 1)}
        if kind in ("video", "audio"):
            fields["position"] = round(studied, 1)
        elif kind == "pdf":
            fields["position"] = 1 + int(fraction * 11)
        yield at, (pack_id, lesson_id, "progress", fields)
        if fraction >= COMPLETE_AT and not done:
            done = True
            yield at + 0.01, (pack_id, lesson_id, "completed", dict(fields, time_spent=0.0))
    return at


def _attempts(
    rng: random.Random, at: float, pack_id: str, lesson_id: str, questions: int
) -> Iterator[tuple[float, tuple]]:
    skill = rng.uniform(0.3, 0.95)
    right = 0
    for _ in range(rng.choice((1, 1, 2, 3))):
        at += rng.uniform(40, 150)
        correct = {f"q{n + 1}": rng.random() < skill for n in range(questions)}
        right += sum(correct.values())
        fields = {
            "score": sum(correct.values()) / questions,
            "correct": correct,
            "answered": list(correct.values()),
            "mastered": right >= questions - 1,
        }
        yield at, (pack_id, lesson_id, "attempt", fields)


def _stamped(timed: list[tuple[float, int, tuple]]) -> Iterator[EventRow]:
    last = 0
    for seq, (at, _, (uid, pack_id, lesson_id, kind, fields)) in enumerate(timed, start=1):
        millis = START_MS + int(at * 1000)
        hlc = max(pack(millis, 0), last + 1)  # what HybridClock.tick gives
        last = hlc
        yield EventRow(seq, hlc, millis, uid, pack_id, lesson_id, kind, fields)


# ------------------------------------------------------------------------------ the section


@dataclass
class SyncFixture:
    """What the measures share: the events, the hub's keys, a folder, the written bundle."""

    folder: Path
    keys: KeyPair
    events: list[EventRow]
    bundle: Path | None = None
    extra: dict = field(default_factory=dict)


Measure = Callable[[Context, SectionResult, SyncFixture], None]


def hub_header(keys: KeyPair, events: list[EventRow]) -> dict:
    return {
        "kind": "hub",
        "sender": keys.hub_id,
        "recipient": "central",
        "hub_id": keys.hub_id,
        "epoch": EPOCH,
        "seq": {"first": events[0].seq, "last": events[-1].seq},
        "hlc": {"first": min(e.hlc for e in events), "last": max(e.hlc for e in events)},
        "previous": None,
        "created": START_MS,
    }


def write_events_bundle(path: Path, keys: KeyPair, events: list[EventRow]) -> str:
    part = PartSpec("events", "events", encode_events(events))
    return write_bundle(path, keys, hub_header(keys, events), [part])


def measure_size_and_export(ctx: Context, result: SectionResult, fx: SyncFixture) -> None:
    fx.bundle = fx.folder / "hub-to-central.lhb"
    began = time.perf_counter()
    write_events_bundle(fx.bundle, fx.keys, fx.events)
    seconds = time.perf_counter() - began
    per_event = fx.bundle.stat().st_size / len(fx.events)
    result.raw.update(bundle_bytes=fx.bundle.stat().st_size, export_seconds=seconds)
    label = f"bundle bytes/event ({len(fx.events):,} events, {LEARNERS} learners)"
    shown = f"{per_event:.1f} B"
    result.add(under(label, per_event, shown, BYTES_PER_EVENT_BUDGET, "< 20 B"))
    result.add(info("export (write_bundle), 10,000 events", seconds, f"{seconds * 1000:.0f} ms"))


def measure_read(ctx: Context, result: SectionResult, fx: SyncFixture) -> None:
    assert fx.bundle is not None
    began = time.perf_counter()
    bundle = read_bundle(fx.bundle, fx.keys.public_key)
    verified = time.perf_counter() - began
    decoded = sum(1 for _ in bundle.events())
    total = time.perf_counter() - began
    result.raw.update(verify_seconds=verified, read_seconds=total, decoded=decoded)
    result.add(info("read_bundle (verify everything)", verified, f"{verified * 1000:.0f} ms"))
    result.add(info("verify + decode every event", total, f"{total * 1000:.0f} ms"))


# Central's apply throughput (SQLite, PostgreSQL) and the resumed upload append here.
MEASURES: list[Measure] = [
    measure_size_and_export,
    measure_read,
    *sync_central.MEASURES,
    *sync_resume.MEASURES,
]


def run(ctx: Context) -> SectionResult:
    result = SectionResult("sync")
    with tempfile.TemporaryDirectory(dir=ctx.scratch) as folder:
        fx = SyncFixture(Path(folder), load_or_create(Path(folder)), realistic_events())
        ctx.say(f"sync: {len(fx.events):,} events generated")
        for measure in MEASURES:
            try:
                measure(ctx, result, fx)
            except Exception as err:  # the table shows which step failed and why
                result.error = f"{measure.__name__}: {err}"
                break
    return result
