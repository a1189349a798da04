"""The hub fits a small Raspberry Pi: in a control group of 256 MB without swap and with the
CPU of one Pi 4 core, serving a generated school library under a few seconds of a class's
load (random lesson pages, searches and search-as-you-type), no request fails and the OOM
killer ends nothing. A functional test, not a timing one: `scripts/bench --only school-pi`
measures the same thing on 20,000 lessons.

It needs root and a cgroup hierarchy with the memory controller (v2, or v1 as on hybrid
machines); without them it fails and says so, because the promise cannot be checked.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from tests.conftest import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
try:
    from benchlib.cgroup import PI4_CORE, CgroupError, LimitedGroup, Limits, MiB
    from benchlib.loadgen import Request, run_load
    from benchlib.school_library import SchoolLibrary, build
finally:
    sys.path.remove(str(ROOT / "scripts"))

pytestmark = pytest.mark.server

LESSONS = 500
CLIENTS = 16
LOAD_SECONDS = 4.0
REQUEST_TIMEOUT = 30.0  # a Pi core's share of the CPU queues 16 clients; a slow answer is fine
LIMITS = Limits(memory_bytes=256 * MiB, cpu_cores=PI4_CORE)


@dataclass
class Library:
    school: SchoolLibrary
    data: Path


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    where = tmp_path_factory.mktemp("small-pi")
    school = build(where / "packs", lessons=LESSONS, packs=10)
    data = where / "data"
    imported = subprocess.run(
        [sys.executable, "-m", "hub", "content", "import", "--data", str(data)]
        + [str(folder) for folder in school.folders],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert imported.returncode == 0, imported.stderr
    return Library(school, data)


class LimitedServer(ServerProcess):
    """`learnhub serve` started inside the control group."""

    name = "limited-hub"

    def __init__(self, data_dir: Path, group: LimitedGroup) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "hub", "serve", "--data", str(data_dir)]
        argv += ["--host", "127.0.0.1", "--port", str(self.port)]
        environment = {**os.environ, "LEARNHUB_ADVERTISE": "false"}
        environment.pop("LEARNHUB_DATA", None)
        super().__init__(data_dir, group.wrap(argv), environment)


@pytest.fixture
def group() -> Iterator[LimitedGroup]:
    try:
        with LimitedGroup(LIMITS) as made:
            yield made
    except CgroupError as err:
        pytest.fail(f"cannot run the hub in a limited control group here: {err}")


def classroom(school: SchoolLibrary) -> list[Request]:
    lessons = random.Random(1).sample(school.lesson_paths, 100)
    searches = [f"/search?q={quote_plus(q)}" for q in school.queries[:50]]
    prefixes = [f"/api/search/suggest?q={quote_plus(p)}" for p in school.prefixes[:50]]
    return [Request(path) for path in lessons + searches + prefixes]


def test_the_hub_serves_a_class_in_256_mb_on_a_pi_core(
    library: Library, group: LimitedGroup
) -> None:
    server = LimitedServer(library.data, group)
    try:
        server.wait_until_ready(timeout=120)
        # The limits apply to the server itself, not only to the shell that started it.
        assert group.name in Path(f"/proc/{server.process.pid}/cgroup").read_text()
        requests = classroom(library.school)
        outcome = asyncio.run(
            run_load(
                server.port,
                lambda rng: rng.choice(requests),
                CLIENTS,
                LOAD_SECONDS,
                REQUEST_TIMEOUT,
            )
        )
        alive = server.process.poll() is None
    finally:
        server.stop()
    usage = group.usage()
    assert usage.oom_kills == 0, f"the OOM killer struck: {server.log.read_text()[-2000:]}"
    assert alive, server.log.read_text()[-2000:]
    assert outcome.requests > 0
    assert outcome.error_count == 0, dict(outcome.errors)
