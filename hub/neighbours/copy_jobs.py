"""Copies started from the operator's page: one at a time per hub, run in a thread, the last
one kept so the page can show its progress and outcome."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from content.errors import PackError
from hub.library.packs import Library
from hub.neighbours.neighbour_hub import neighbour_url
from hub.neighbours.pack_fetcher import FetchOutcome, fetch_packs

log = logging.getLogger(__name__)


@dataclass
class CopyJob:
    """One copy started from the web page, run in a thread; the page shows its progress."""

    url: str
    pack_ids: tuple[str, ...]
    current: str | None = None
    done_bytes: int = 0
    total_bytes: int = 0
    outcomes: list[FetchOutcome] = field(default_factory=list)
    error: str | None = None
    finished: bool = False

    def on_progress(self, pack_id: str, done: int, total: int) -> None:
        self.current, self.done_bytes, self.total_bytes = pack_id, done, total


class CopyJobs:
    """At most one copy at a time per hub; the last one is kept to show its outcome."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.job: CopyJob | None = None
        self._lock = threading.Lock()

    def start(self, url: str, pack_ids: list[str]) -> bool:
        """False when a copy is still running."""
        with self._lock:
            if self.job is not None and not self.job.finished:
                return False
            job = self.job = CopyJob(neighbour_url(url), tuple(dict.fromkeys(pack_ids)))
        threading.Thread(target=self._run, args=(job,), name="learnhub-copy", daemon=True).start()
        return True

    def _run(self, job: CopyJob) -> None:
        try:
            job.outcomes = fetch_packs(self.library, job.url, list(job.pack_ids), job.on_progress)
        except PackError as err:
            job.error = str(err)
        except Exception:  # a thread's crash would otherwise be silent; say so on the page
            log.exception("copying packs from %s failed", job.url)
            job.error = "Something went wrong while copying; the hub's log has the details."
        finally:
            job.finished = True
