"""Long work started from the admin pages (imports, verify, search rebuilds, copies from a
neighbour) runs here, one job at a time on one thread, so a request never holds a page open
for minutes and two imports never fight over the disk of a Pi. A few jobs may wait behind the
running one (`jobs_waiting`); more are refused with a sentence. Each job keeps its progress
(stage, done of total) for the page to show, and the last finished ones are kept for their
outcome. The journal gets a plain line at each tenth of a job's work.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.core.db import connected
from hub.core.errors import HubError
from hub.core.translate import gettext

log = logging.getLogger(__name__)

KEEP_FINISHED = 20  # finished jobs kept for their outcome page; the oldest go first
LOG_STEPS = 10  # journal lines per stage of a job

Work = Callable[["Job"], Any]  # returns the job's result; raises JobRefused to refuse


class JobRefused(Exception):
    """The job could not do its work; the message is the one sentence the page shows."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass
class Job:
    """One piece of long work: what it is, how far it is, and how it ended."""

    id: int
    kind: str  # "import", "verify", "rebuild", "copy", "publish": the page words its stages
    subject: str  # what it works on (a file name, a neighbour's address), shown as given
    owner_id: int | None = None
    about: str = ""  # what it belongs to ("draft-3"), for the page that started it
    state: str = "waiting"  # then "running", then "done" or "refused"
    stage: str = ""  # the part being worked on now (a pack, a file)
    done: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    problems: tuple[str, ...] = ()
    started: float = field(default_factory=time.time)
    _logged: int = 0

    @property
    def finished(self) -> bool:
        return self.state in ("done", "refused")

    def report(self, stage: str, done: int, total: int) -> None:
        """Progress callback for the work: `done` of `total` units of `stage`."""
        if stage != self.stage:
            self._logged = 0
        self.stage, self.done, self.total = stage, done, total
        step = done * LOG_STEPS // total if total > 0 else 0
        if step > self._logged:
            self._logged = step
            log.info("job %d (%s %s): %s %d%%", self.id, self.kind, self.subject, stage, step * 10)

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "state": self.state,
            "finished": self.finished,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
        }


class JobRunner:
    """One worker thread, started with the first job; at most `waiting` jobs queued."""

    def __init__(self, waiting: int) -> None:
        self._queue: queue.Queue[tuple[Job, Work]] = queue.Queue(maxsize=max(waiting, 0) + 1)
        self._jobs: deque[Job] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.waiting = max(waiting, 0)

    def submit(
        self, kind: str, subject: str, work: Work, owner_id: int | None = None, about: str = ""
    ) -> Job:
        """Queue `work`; HubError 503 when the running job and those waiting fill the queue."""
        with self._lock:
            self._check_room()
            job = Job(next(self._ids), kind, subject, owner_id, about)
            self._jobs.append(job)
            self._forget_old()
            self._queue.put_nowait((job, work))
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="learnhub-jobs")
                self._worker.daemon = True  # a job cut by a stop is undone by its own atomicity
                self._worker.start()
        return job

    def check_room(self) -> None:
        """HubError 503 when a job submitted now would be refused (before a long upload)."""
        with self._lock:
            self._check_room()

    def _check_room(self) -> None:
        unfinished = sum(1 for job in self._jobs if not job.finished)
        if unfinished > self.waiting:
            raise HubError(503, "busy", _busy_sentence(self.waiting), {"Retry-After": "30"})

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return next((job for job in self._jobs if job.id == job_id), None)

    def recent(self, kind: str | None = None) -> list[Job]:
        """Jobs still known, newest first."""
        with self._lock:
            return [job for job in reversed(self._jobs) if kind is None or job.kind == kind]

    def _forget_old(self) -> None:
        finished = [job for job in self._jobs if job.finished]
        for job in finished[: max(len(finished) - KEEP_FINISHED, 0)]:
            self._jobs.remove(job)

    def _serve(self) -> None:
        while True:
            job, work = self._queue.get()
            _run(job, work)


def _run(job: Job, work: Work) -> None:
    job.state = "running"
    log.info("job %d (%s %s) started", job.id, job.kind, job.subject)
    try:
        with connected():
            job.result = work(job)
        job.state = "done"
    except (JobRefused, HubError) as err:
        job.error = err.description if isinstance(err, HubError) else str(err)
        job.problems = err.problems if isinstance(err, JobRefused) else ()
        job.state = "refused"
    except Exception:  # a thread's crash would otherwise be silent; the page says so
        log.exception("job %d (%s %s) failed", job.id, job.kind, job.subject)
        job.error = gettext("Something went wrong; the hub's log has the details.")
        job.state = "refused"
    log.info("job %d (%s %s) %s", job.id, job.kind, job.subject, job.state)


def _busy_sentence(waiting: int) -> str:
    if waiting == 0:
        return gettext("The hub is busy with other long work; try again when it has finished.")
    return gettext(
        "The hub is busy with other long work and %(num)d more waiting; try again when one "
        "has finished.",
        num=waiting,
    )
