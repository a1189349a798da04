"""Section "progress": a class of 40 students on loopback, then a burst of progress events.

The class: each student signs in with a PIN once, then opens lessons of the sample library,
reports progress every few seconds while reading, answers the quizzes, and looks at its own
progress between lessons. Students arrive over the first few seconds, as a class does.
Budgets: p95 under 100 ms for every endpoint, and no errors.

The burst: every student posts progress events as fast as the hub answers them. Each 201 is a
durable commit (synchronous=FULL), so 201s per second is the rate the event log sustains.
Afterwards the log is counted: it must hold exactly one event per answer that promised one.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.context import BenchError, Context
from benchlib.loadgen import NETWORK_ERRORS, Connection, LoadResult, Response
from benchlib.report import MB, Row, SectionResult, errors_row, info, under
from benchlib.serve import CpuMeter
from benchlib.server import HOST, HubServer, ServerError

STUDENTS = 40
CLASS_NAME = "Bench class"
P95_BUDGET = 0.100
ARRIVAL_SPREAD = 5.0  # seconds over which the class signs in
PROGRESS_EVERY = (2.0, 4.0)  # seconds between two progress reports of a student
REPORTS_PER_LESSON = (2, 5)
EXERCISE_SHARE = 1 / 3  # of the lessons a student opens
BURST_SECONDS = 10.0
TIMEOUT = 10.0  # per request
BROWSER = (("Accept-Encoding", "gzip, deflate"), ("Accept", "text/html"))

SESSION = "session (PIN sign-in)"
PAGE = "lesson page"
PROGRESS = "progress event"
ATTEMPT = "quiz attempt"
MINE = "progress/me"
ENDPOINTS = (SESSION, PAGE, PROGRESS, ATTEMPT, MINE)
# Answers that append one event to the log: lesson pages count a view for a learner. A quiz
# answer appends one only when it finishes its attempt (counted apart).
LOGGED = (PAGE, PROGRESS)


def run(ctx: Context) -> SectionResult:
    result = SectionResult("progress")
    try:
        _measure(ctx, ctx.scratch / "progress-data", result)
    except (BenchError, ServerError) as err:
        result.error = str(err)
    return result


def _measure(ctx: Context, data: Path, result: SectionResult) -> None:
    roster = _import_roster(ctx, data, result)
    ctx.say("starting the hub (first run imports the sample library)")
    server = ctx.server(data, "progress")
    server.start(timeout=300)
    try:
        library = Library.discover(server)
        result.raw["lessons"] = len(library.lessons)
        result.raw["exercises"] = len(library.exercises)
        logged = Counter(_classroom(ctx, server, roster, library, result))
        rss = server.rss_bytes()
        result.raw["rss_after_class_bytes"] = rss
        result.add(info("RSS after the class", rss, _mb(rss)))
        logged.update(_burst(ctx, server, roster, library, result))
        rss, peak = server.rss_bytes(), server.peak_rss_bytes()
        result.raw |= {"rss_after_burst_bytes": rss, "peak_rss_bytes": peak}
        result.add(info("RSS after the burst / peak (VmHWM)", rss, f"{_mb(rss)} / {_mb(peak)}"))
    finally:
        server.stop()
    _check_log(data, logged, result)


# --- the roster ------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolled:
    username: str
    pin: str


def _import_roster(ctx: Context, data: Path, result: SectionResult) -> list[Enrolled]:
    """The class as an operator would add it: one CSV import, before the hub starts."""
    rng = random.Random(4)
    pins = {f"Bench Student {n:02d}": f"{rng.randrange(10**5, 10**6)}" for n in range(STUDENTS)}
    path = ctx.scratch / "progress-roster.csv"
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(("name", "class", "pin", "language"))
        writer.writerows((name, CLASS_NAME, pin, "en") for name, pin in pins.items())
    ctx.say(f"importing {STUDENTS} learners with PINs from a CSV file")
    began = time.perf_counter()
    ctx.learnhub_cli("learners", "import", "--data", str(data), str(path))
    seconds = time.perf_counter() - began
    result.raw["roster_import_seconds"] = seconds
    result.add(info(f"import of {STUDENTS} learners with PINs (CLI)", seconds, f"{seconds:.2f} s"))
    listed = json.loads(ctx.learnhub_cli("learners", "list", "--json", "--data", str(data)))
    usernames = {row["name"]: row["username"] for row in listed}
    missing = [name for name in pins if name not in usernames]
    if missing:
        raise BenchError(f"The roster import did not add {missing[0]}.")
    return [Enrolled(usernames[name], pin) for name, pin in pins.items()]


# --- the library -----------------------------------------------------------------------


@dataclass(frozen=True)
class LessonRef:
    pack_id: str
    lesson_id: str
    url: str  # its page
    questions: tuple[dict[str, Any], ...] = ()  # as GET /api/lessons/... shows them


@dataclass
class Library:
    lessons: list[LessonRef]  # every lesson but the exercises
    exercises: list[LessonRef]

    @classmethod
    def discover(cls, server: HubServer) -> Library:
        """Every lesson of the installed packs, as a client finds them: through the API."""
        lessons, exercises = [], []
        for pack in server.get_json("/api/packs")["packs"]:
            for found in server.get_json(f"/api/packs/{pack['id']}")["lessons"]:
                ref = LessonRef(found["pack_id"], found["lesson_id"], found["url"])
                if found["kind"] != "exercise":
                    lessons.append(ref)
                    continue
                detail = server.get_json(f"/api/lessons/{ref.pack_id}/{ref.lesson_id}")
                questions = tuple((detail.get("exercise") or {}).get("questions", ()))
                if questions:
                    exercises.append(LessonRef(ref.pack_id, ref.lesson_id, ref.url, questions))
        if not lessons or not exercises:
            raise BenchError("The library needs lessons and exercises; is the sample loaded?")
        return cls(lessons, exercises)

    def pick(self, rng: random.Random) -> LessonRef:
        pool = self.exercises if rng.random() < EXERCISE_SHARE else self.lessons
        return rng.choice(pool)


def plausible_answers(questions: tuple[dict[str, Any], ...], rng: random.Random) -> dict:
    """Answers of the right shape, right or wrong by chance, to every question: the hub judges
    an attempt's answers in the order it asks them, and a blank before an answer is refused
    (409), as the quiz page never sends it."""
    answers: dict[str, Any] = {}
    for question in questions:
        choices = len(question.get("choices") or ())
        kind = question["type"]
        if kind == "single" and choices:
            answers[question["id"]] = rng.randrange(choices)
        elif kind == "multiple" and choices:
            picked = rng.sample(range(choices), rng.randint(1, min(2, choices)))
            answers[question["id"]] = sorted(picked)
        elif kind == "numeric":
            answers[question["id"]] = rng.choice((rng.randint(0, 20), 0.5, "1/2", "3,5"))
        elif kind == "text":
            words = re.findall(r"\w{3,}", question.get("prompt", "")) or ["eau"]
            answers[question["id"]] = rng.choice(words)
    return answers


# --- talking to the hub ----------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    endpoint: str  # the row of the report it counts in
    method: str
    path: str
    expect: int
    body: dict[str, Any] | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, port: int, cookie: str) -> bytes:
        lines = [
            f"{self.method} {self.path} HTTP/1.1",
            f"Host: {HOST}:{port}",
            "User-Agent: learnhub-bench",
        ]
        payload = b"" if self.body is None else json.dumps(self.body).encode("utf-8")
        if self.body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        lines += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class Tally:
    """Latencies and errors per endpoint, with the loadgen's percentiles."""

    def __init__(self, clients: int) -> None:
        self.endpoints = {name: LoadResult(clients) for name in ENDPOINTS}
        self.seconds = 0.0  # of the whole run
        self.finished_attempts = 0  # quiz answers that finished an attempt: one event each

    def ok(self, endpoint: str, seconds: float) -> None:
        self.endpoints[endpoint].latencies.append(seconds)

    def failed(self, endpoint: str, problem: str) -> None:
        self.endpoints[endpoint].errors[problem] += 1

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.endpoints.values())

    @property
    def errors(self) -> dict[str, int]:
        return {
            f"{name}: {problem}": count
            for name, found in self.endpoints.items()
            for problem, count in found.errors.items()
        }

    def finish(self, seconds: float) -> None:
        self.seconds = seconds
        for found in self.endpoints.values():
            found.seconds = seconds


class Student:
    """One phone: one keep-alive connection, one session cookie."""

    def __init__(self, enrolled: Enrolled, port: int, seed: int) -> None:
        self.enrolled = enrolled
        self.port = port
        self.rng = random.Random(seed)
        self.cookie = ""
        self.connection: Connection | None = None

    async def call(self, call: Call, tally: Tally) -> Response | None:
        """Send `call`; its latency (connecting included) or its error goes to the tally."""
        began = time.perf_counter()
        try:
            async with asyncio.timeout(TIMEOUT):
                if self.connection is None:
                    self.connection = await Connection.open(self.port)
                response = await _exchange(self.connection, call.encode(self.port, self.cookie))
        except NETWORK_ERRORS as err:
            self.hang_up()
            tally.failed(call.endpoint, type(err).__name__)
            return None
        elapsed = time.perf_counter() - began
        if self.connection.closing:
            self.hang_up()
        if response.status != call.expect:
            tally.failed(call.endpoint, f"status {response.status}")
            return None
        tally.ok(call.endpoint, elapsed)
        if "set-cookie" in response.headers:
            self.cookie = response.headers["set-cookie"].split(";", 1)[0]
        return response

    async def sign_in(self, tally: Tally) -> bool:
        body = {"username": self.enrolled.username, "pin": self.enrolled.pin}
        answer = await self.call(Call(SESSION, "POST", "/api/session", 201, body), tally)
        return answer is not None and bool(self.cookie)

    async def report(self, lesson: LessonRef, progress: float, spent: float, tally: Tally) -> bool:
        body = {
            "pack_id": lesson.pack_id,
            "lesson_id": lesson.lesson_id,
            "type": "progress",
            "progress": round(progress, 3),
            "time_spent": round(spent, 2),
        }
        answer = await self.call(Call(PROGRESS, "POST", "/api/progress", 201, body), tally)
        return answer is not None

    def hang_up(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None


async def _exchange(connection: Connection, request: bytes) -> Response:
    connection.writer.write(request)
    await connection.writer.drain()
    status, headers = await connection.read_head()
    return Response(status, headers, await connection.read_body(status, headers))


# --- the class -------------------------------------------------------------------------


async def _think(seconds: float, deadline: float) -> bool:
    """Pause like a reader; False once the run is over."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, min(seconds, deadline - loop.time())))
    return loop.time() < deadline


async def _study(student: Student, lesson: LessonRef, tally: Tally, deadline: float) -> None:
    """Open a lesson, report progress while reading, then answer its quiz if it has one."""
    loop, rng = asyncio.get_running_loop(), student.rng
    await student.call(Call(PAGE, "GET", lesson.url, 200, headers=BROWSER), tally)
    progress, last = 0.0, loop.time()
    for _ in range(rng.randint(*REPORTS_PER_LESSON)):
        if not await _think(rng.uniform(*PROGRESS_EVERY), deadline):
            return
        progress = min(1.0, progress + rng.uniform(0.1, 0.4))
        now = loop.time()
        await student.report(lesson, progress, now - last, tally)
        last = now
    if lesson.questions:
        path = f"/api/lessons/{lesson.pack_id}/{lesson.lesson_id}/attempts"
        body = {"answers": plausible_answers(lesson.questions, rng)}
        answer = await student.call(Call(ATTEMPT, "POST", path, 201, body), tally)
        if answer is not None and json.loads(answer.body).get("finished"):
            tally.finished_attempts += 1


async def _attend(student: Student, library: Library, tally: Tally, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        await asyncio.sleep(student.rng.uniform(0, ARRIVAL_SPREAD))
        if not await student.sign_in(tally):
            return  # counted as an error; without a session nothing else would be either
        while loop.time() < deadline:
            await _study(student, library.pick(student.rng), tally, deadline)
            if loop.time() < deadline:
                await student.call(Call(MINE, "GET", "/api/progress/me", 200), tally)
    finally:
        student.hang_up()


async def _class_run(port: int, roster: list[Enrolled], library: Library, seconds: float) -> Tally:
    tally = Tally(len(roster))
    deadline = asyncio.get_running_loop().time() + seconds
    students = [Student(enrolled, port, seed) for seed, enrolled in enumerate(roster)]
    await _timed(tally, asyncio.gather(*(_attend(s, library, tally, deadline) for s in students)))
    return tally


async def _timed(tally: Tally, work: Awaitable[Any]) -> None:
    began = time.perf_counter()
    await work
    tally.finish(time.perf_counter() - began)


def _classroom(
    ctx: Context, server: HubServer, roster: list[Enrolled], library: Library, result: SectionResult
) -> dict[str, int]:
    ctx.say(f"class: {len(roster)} students for {ctx.duration:g} s")
    meter = CpuMeter(server)
    tally = asyncio.run(_class_run(server.port, roster, library, ctx.duration))
    overall = meter.fill(LoadResult(len(roster), seconds=tally.seconds))
    server.check_alive()
    rate = tally.requests / overall.seconds
    result.raw["class"] = {name: found.summary() for name, found in tally.endpoints.items()}
    result.raw["class_cpu"] = {"server": overall.server_cpu, "client": overall.client_cpu}
    result.add(
        info(
            f"class of {len(roster)} students, {overall.seconds:.0f} s",
            rate,
            f"{rate:.1f} req/s ({tally.requests} requests)",
        )
    )
    for name, found in tally.endpoints.items():
        p50, p95 = found.percentile(0.5), found.percentile(0.95)
        shown = f"{_ms(p50)} / {_ms(p95)} ms"
        result.add(
            under(f"  {name} p50 / p95 (n={found.requests})", p95, shown, P95_BUDGET, "< 100 ms")
        )
    result.add(errors_row(tally.errors))
    result.add(info("  server CPU (cores busy)", overall.server_cpu, f"{overall.server_cpu:.2f}"))
    return {
        **{name: tally.endpoints[name].requests for name in LOGGED},
        ATTEMPT: tally.finished_attempts,
    }


# --- the burst -------------------------------------------------------------------------


async def _post_flat_out(
    student: Student, lesson: LessonRef, tally: Tally, deadline: float
) -> None:
    loop = asyncio.get_running_loop()
    progress = 0.0
    while loop.time() < deadline:
        progress = (progress + 0.01) % 0.99  # never 1.0: the lesson stays in progress
        await student.report(lesson, progress, 0.5, tally)


async def _burst_run(
    port: int, roster: list[Enrolled], library: Library, seconds: float
) -> tuple[Tally, Tally]:
    """All sign in at the same moment, then all post progress with no pause."""
    students = [Student(e, port, 1000 + seed) for seed, e in enumerate(roster)]
    signing = Tally(len(roster))
    posting = Tally(len(roster))
    try:
        await _timed(signing, asyncio.gather(*(s.sign_in(signing) for s in students)))
        deadline = asyncio.get_running_loop().time() + seconds
        work = (
            _post_flat_out(s, s.rng.choice(library.lessons), posting, deadline)
            for s in students
            if s.cookie
        )
        await _timed(posting, asyncio.gather(*work))
    finally:
        for student in students:
            student.hang_up()
    return signing, posting


def _burst(
    ctx: Context, server: HubServer, roster: list[Enrolled], library: Library, result: SectionResult
) -> dict[str, int]:
    ctx.say(f"burst: {len(roster)} students posting progress events flat out, {BURST_SECONDS:g} s")
    meter = CpuMeter(server)
    signing, posting = asyncio.run(_burst_run(server.port, roster, library, BURST_SECONDS))
    server.check_alive()
    signed, posted = signing.endpoints[SESSION], posting.endpoints[PROGRESS]
    meter.fill(posted)
    result.raw["burst"] = {"sign_in": signed.summary(), "progress": posted.summary()}
    result.add(
        info(
            f"events/s the log sustains ({len(roster)} posting flat out)",
            posted.per_second,
            f"{posted.per_second:.0f} 201s/s ({posted.requests} in {posted.seconds:.1f} s)",
        )
    )
    p50, p95 = posted.percentile(0.5), posted.percentile(0.95)
    result.add(info("  latency p50 / p95", p95, f"{_ms(p50)} / {_ms(p95)} ms"))
    result.add(info("  server CPU (cores busy)", posted.server_cpu, f"{posted.server_cpu:.2f}"))
    result.add(errors_row(posting.errors | signing.errors))
    p95 = signed.percentile(0.95)
    result.add(
        info(
            f"  {len(roster)} sign-ins at the same moment: p95, all done in",
            p95,
            f"{_ms(p95)} ms, {signed.seconds * 1000:.0f} ms",
        )
    )
    return {PROGRESS: posted.requests}


# --- the log afterwards ----------------------------------------------------------------


def _check_log(data: Path, logged: dict[str, int], result: SectionResult) -> None:
    """Every answer that promised an event left exactly one in the log (server stopped)."""
    with closing(sqlite3.connect(data / "learnhub.db")) as connection:
        found = connection.execute("SELECT COUNT(*) FROM event").fetchone()[0]
    promised = sum(logged.values())
    result.raw["events"] = {"in_log": found, "promised": promised}
    result.add(
        Row(
            "events in the log / answers that promised one",
            found,
            f"{found} / {promised}",
            "equal",
            found == promised,
        )
    )


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"
