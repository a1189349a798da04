"""The library's long work as jobs for the hub's job runner (hub/core/jobs.py): importing a
file uploaded on the admin pages (a zipped Kolibri export is unpacked into staging first),
publishing a draft pack, and checking every file of the library again. Each reports its
progress to the job; the page words it (hub/web/job_text.py)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from content.errors import PackError
from content.kolibri.export_zip import unpack_export
from hub.core.jobs import Job, JobRefused, Work
from hub.core.translate import gettext
from hub.library.drafts import DraftPack, Drafts, PublishRefused
from hub.library.models import PackFile, ZimArchive
from hub.library.packs import Damage, ImportResult, Library, Outcome
from hub.library.zims import ZimDamage


@dataclass(frozen=True)
class Verified:
    damage: list[Damage]
    zim_damage: list[ZimDamage]
    files: int
    zims: int


def import_work(library: Library, path: Path, leftover: Path) -> Work:
    """Import the packs or ZIM at `path`, then delete `leftover` (the upload's folder) whatever
    happens. The result is the outcomes; any refusal refuses the job, naming every problem."""

    def work(job: Job) -> list[Outcome]:
        try:
            outcomes = _import(library, path, job)
        finally:
            shutil.rmtree(leftover, ignore_errors=True)
        refused = [o for o in outcomes if o.error]
        if refused or not outcomes:
            problems = [p for o in refused for p in (o.problems or (o.error or "",))]
            raise JobRefused(
                gettext("%(name)s was not imported; nothing changed.", name=path.name),
                tuple(problems),
            )
        return outcomes

    return work


def _import(library: Library, path: Path, job: Job) -> list[Outcome]:
    if path.suffix.lower() != ".zip":
        return _import_paths(library, path, job)
    try:
        unpacked = unpack_export(
            path,
            library.config.staging_dir,
            library.limits,
            lambda done, total: job.report(path.name, done, total),
        )
    except PackError as err:
        return [Outcome(path, error=str(err))]
    if unpacked is None:  # a pack
        return _import_paths(library, path, job)
    try:
        outcomes = _import_paths(library, unpacked, job)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    return [_named(outcome, str(unpacked), path.name) for outcome in outcomes]


def _import_paths(library: Library, path: Path, job: Job) -> list[Outcome]:
    return library.import_paths(
        [path],
        lambda name, phase, done, total: job.report(name, done, total),
        progress=lambda name, done, total: job.report(Path(name).name, done, total),
    )


def _named(outcome: Outcome, folder: str, name: str) -> Outcome:
    """Messages about an unpacked export name the uploaded zip, not the staging folder."""
    error = outcome.error.replace(folder, name) if outcome.error else outcome.error
    problems = tuple(problem.replace(folder, name) for problem in outcome.problems)
    return replace(outcome, error=error, problems=problems)


def publish_work(drafts: Drafts, draft_id: int) -> Work:
    """Publish the draft as it is when the job runs (its files and choices then); a refusal
    refuses the job, naming every problem."""

    def work(job: Job) -> ImportResult:
        draft = DraftPack.get_or_none(DraftPack.id == draft_id)
        if draft is None:
            raise JobRefused(gettext("The draft was deleted before it was published."))
        try:
            return drafts.publish(draft, lambda _name, done, total: job.report("", done, total))
        except PublishRefused as err:
            raise JobRefused(str(err.description), err.problems) from None

    return work


def verify_work(library: Library) -> Work:
    """Re-hash every file of every pack, then check every ZIM file whole."""

    def work(job: Job) -> Verified:
        damage = library.verify(lambda done, total: job.report("", done, total))
        zim_damage = library.zims.verify(
            lambda name, phase, done, total: job.report(name, done, total)
        )
        return Verified(damage, zim_damage, PackFile.select().count(), ZimArchive.select().count())

    return work
