"""What the admin pages say about a job (hub/core/jobs.py): its progress line while it runs and
its outcome once finished, worded in the reader's language at each request (the job itself
keeps numbers and results, not sentences)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from content.source import size_text
from hub.core.jobs import Job
from hub.library.library_jobs import Verified
from hub.library.packs import ImportResult, Outcome
from hub.neighbours.pack_fetcher import FetchOutcome


def progress_line(job: Job) -> str:
    if job.state == "waiting":
        return _("Waiting for the work before it to finish…")
    if not job.stage and not job.total:
        return _("Starting…")
    done, total = size_text(job.done), size_text(job.total)
    if job.kind == "import":
        return _(
            "Importing %(name)s: %(done)s of %(total)s", name=job.stage, done=done, total=total
        )
    if job.kind == "copy":
        return _("Copying %(pack)s: %(done)s of %(total)s", pack=job.stage, done=done, total=total)
    if job.kind == "rebuild":
        return _("Indexing lessons: %(done)d of %(total)d", done=job.done, total=job.total)
    if job.kind == "publish":
        return _(
            "Publishing %(name)s: %(done)s of %(total)s", name=job.subject, done=done, total=total
        )
    if job.stage:
        return _("Checking %(name)s: %(done)s of %(total)s", name=job.stage, done=done, total=total)
    return _("Checking the library's files: %(done)s of %(total)s", done=done, total=total)


def title(job: Job) -> str:
    if job.kind == "import":
        return _("Import of %(name)s", name=job.subject)
    if job.kind == "copy":
        return _("Copy from %(url)s", url=job.subject)
    if job.kind == "rebuild":
        return _("Rebuilding the search index")
    if job.kind == "publish":
        return _("Publishing %(name)s", name=job.subject)
    return _("Checking every file of the library")


def outcome(job: Job) -> list[str]:
    """The finished job in sentences, the first saying how it went; empty while it runs."""
    if job.state == "refused":
        return [job.error or "", *job.problems]
    if job.state != "done":
        return []
    if job.kind == "import":
        return [_outcome_text(found) for found in job.result]
    if job.kind == "copy":
        return [_copied_text(found) for found in job.result]
    if job.kind == "rebuild":
        return [_("The search index was rebuilt: %(num)d lessons.", num=job.result)]
    if job.kind == "publish":
        return [_published_text(job.result)]
    return _verified_text(job.result)


def as_json(job: Job, url: str | None = None) -> dict[str, Any]:
    """The job for job-progress.js; `url` its page (the admin's list of jobs by default)."""
    return {
        **job.snapshot(),
        "line": progress_line(job),
        "outcome": outcome(job),
        "url": url or url_for("jobs.job_page", job_id=job.id),
    }


def _published_text(result: ImportResult) -> str:
    if result.action == "unchanged":
        return _("Nothing changed since version %(version)s was published.", version=result.version)
    return _("Published version %(version)s: learners see it now.", version=result.version)


def _outcome_text(found: Outcome) -> str:
    if found.zim is not None:
        return _("Imported the ZIM file %(name)s.", name=found.zim.name)
    result = found.result
    assert result is not None  # a refused outcome refuses the whole job
    if result.action == "unchanged":
        return _(
            "%(pack)s %(version)s is already installed.",
            pack=result.pack_id,
            version=result.version,
        )
    return _("Imported %(pack)s %(version)s.", pack=result.pack_id, version=result.version)


def _copied_text(found: FetchOutcome) -> str:
    copied = found.copied
    if found.error or copied is None:
        return _("%(pack)s was not copied: %(why)s", pack=found.pack_id, why=found.error)
    if copied.action == "unchanged":
        return _(
            "%(pack)s %(version)s was already installed.",
            pack=found.pack_id,
            version=copied.version,
        )
    return _(
        "%(pack)s %(version)s is installed (%(files)d files, %(size)s copied).",
        pack=found.pack_id,
        version=copied.version,
        files=copied.files,
        size=size_text(copied.bytes),
    )


def _verified_text(verified: Verified) -> list[str]:
    lines = [
        _(
            "damaged %(pack)s/%(path)s (%(problem)s); lessons: %(lessons)s",
            pack=item.pack_id,
            path=item.path,
            problem=item.problem,
            lessons=", ".join(item.lessons) or _("no lesson"),
        )
        for item in verified.damage
    ]
    lines += [
        _("damaged ZIM %(name)s: %(problem)s", name=item.name, problem=item.problem)
        for item in verified.zim_damage
    ]
    broken = len(verified.damage) + len(verified.zim_damage)
    if broken:
        head = ngettext(
            "%(num)d file is damaged; import its pack again to repair it.",
            "%(num)d files are damaged; import their packs again to repair them.",
            broken,
        )
        return [head, *lines]
    head = ngettext("All %(num)d file is intact.", "All %(num)d files are intact.", verified.files)
    if verified.zims:
        head += " " + ngettext(
            "All %(num)d ZIM file is intact.", "All %(num)d ZIM files are intact.", verified.zims
        )
    return [head]
