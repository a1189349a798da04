"""Copies started from the operator's page: a job on the hub's job runner (hub/core/jobs.py),
one at a time with the other long work, its progress and outcomes kept for the page."""

from __future__ import annotations

from content.errors import PackError
from hub.core.jobs import Job, JobRefused, JobRunner
from hub.library.packs import Library
from hub.neighbours.neighbour_hub import neighbour_url
from hub.neighbours.pack_fetcher import FetchOutcome, fetch_packs


def start_copy(jobs: JobRunner, library: Library, url: str, pack_ids: list[str]) -> Job:
    """Queue a copy of `pack_ids` from the hub at `url`; its result is one FetchOutcome per
    pack. PackError for an address that is not a hub's; HubError 503 when the hub is busy."""
    neighbour = neighbour_url(url)
    chosen = list(dict.fromkeys(pack_ids))

    def work(job: Job) -> list[FetchOutcome]:
        try:
            return fetch_packs(library, neighbour, chosen, job.report)
        except PackError as err:
            raise JobRefused(str(err)) from None

    return jobs.submit("copy", neighbour, work)
