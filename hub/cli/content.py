"""`learnhub content`: import, list, remove and verify the library (hub.cli.main loads it)."""

from __future__ import annotations

from pathlib import Path

import click

from content.source import size_text
from hub.cli.common import data_option, echo, friendly_errors, open_library
from hub.cli.lazy import LazyGroup
from hub.cli.own_packs import (
    content_make,
    pack_field_options,
    pack_fields,
    refused_header,
    show_check,
    show_notes,
    show_problems,
)
from hub.cli.progress import ProgressReport
from hub.cli.zim_progress import ZimProgressBars
from hub.core.console import printable_json
from hub.core.translate import gettext, ngettext
from hub.library.models import Pack, PackFile, ZimArchive
from hub.library.pack_check import check_paths
from hub.library.pack_export import pack_zip, write_zip
from hub.library.packs import Outcome
from hub.library.responses import pack_json, zim_json


# `fetch` brings network discovery, which the other commands never need.
@click.group(cls=LazyGroup, lazy={"fetch": "hub.cli.neighbours:fetch"})
def content() -> None:
    """Import, list, remove and verify content packs."""


@content.command("import")
@data_option
@click.option("--check", is_flag=True, help="Show what importing would do; change nothing.")
@pack_field_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@friendly_errors
def content_import(
    data_dir: Path | None, paths: tuple[Path, ...], check: bool, **given: str | None
) -> None:
    """Import packs and ZIM files: a pack folder, a .zip pack, a .zim file (or the parts of a
    split one, .zimaa, .zimab...), a folder (USB stick) holding many, or a folder of files
    (PDFs, videos, pictures, pages...) to make a pack from."""
    importing = ProgressReport(lambda name: gettext("Importing %(name)s", name=name))
    with open_library(data_dir) as library, ZimProgressBars() as bars, importing:
        fields = pack_fields(library.config, **given)
        if check:
            show_check(check_paths(library, list(paths), fields))
            return
        outcomes = library.import_paths(
            list(paths), bars.report, fields=fields, progress=importing.report
        )
    for outcome in outcomes:
        if len(outcome.problems) > 1:
            show_problems(refused_header(outcome.path, len(outcome.problems)), outcome.problems)
        else:
            echo(_describe(outcome), err=outcome.error is not None)
        if outcome.result is not None and outcome.result.action != "unchanged":
            show_notes(outcome.result.notes)
    failed = sum(1 for o in outcomes if o.error)
    if failed:
        raise click.ClickException(
            # Translators: English says this the same way for every number.
            ngettext(
                "%(failed)d of %(num)d pack(s) were refused; they changed nothing in the library.",
                "%(failed)d of %(num)d pack(s) were refused; they changed nothing in the library.",
                len(outcomes),
                failed=failed,
            )
        )


def _describe(outcome: Outcome) -> str:
    if outcome.error:
        if str(outcome.path) in outcome.error:
            return gettext("refused: %(error)s", error=outcome.error)
        return gettext("refused %(path)s: %(error)s", path=outcome.path, error=outcome.error)
    if outcome.zim is not None:
        return _describe_zim(outcome)
    result = outcome.result
    assert result is not None
    if result.action == "unchanged":
        return gettext(
            "unchanged %(pack)s %(version)s (already installed)",
            pack=result.pack_id,
            version=result.version,
        )
    if result.action == "upgraded":
        return gettext(
            "upgraded %(pack)s %(previous)s -> %(version)s",
            pack=result.pack_id,
            previous=result.previous_version,
            version=result.version,
        )
    # Translators: English says this the same way for every number.
    return ngettext(
        "installed %(pack)s %(version)s (%(num)d lessons)",
        "installed %(pack)s %(version)s (%(num)d lessons)",
        result.lessons,
        pack=result.pack_id,
        version=result.version,
    )


def _describe_zim(outcome: Outcome) -> str:
    zim = outcome.zim
    assert zim is not None
    if zim.action == "unchanged":
        return gettext(
            "unchanged ZIM %(name)s %(date)s (already installed)", name=zim.name, date=zim.date
        )
    if zim.action == "upgraded":
        return gettext(
            "replaced ZIM %(name)s %(previous)s -> %(date)s (the older file was deleted)",
            name=zim.name,
            previous=zim.previous_date,
            date=zim.date,
        )
    # Translators: English says this the same way for every number.
    return ngettext(
        "installed ZIM %(name)s %(date)s (%(num)d articles, %(size)s)",
        "installed ZIM %(name)s %(date)s (%(num)d articles, %(size)s)",
        zim.articles,
        name=zim.name,
        date=zim.date,
        size=size_text(zim.size),
    )


@content.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@friendly_errors
def content_list(data_dir: Path | None, as_json: bool) -> None:
    """List the installed packs and ZIM files."""
    with open_library(data_dir):
        counts = Pack.lesson_counts()
        fields = ("id", "version", "title", "language", "lessons", "size")
        rows = [pack_json(p, counts.get(p.id, 0), fields) for p in Pack.ordered()]
        zims = [zim_json(z) for z in ZimArchive.ordered()]
    if as_json:
        # ZIMs carry "kind": "zim"; packs keep exactly the fields they always had.
        click.echo(printable_json(rows + zims))
        return
    if not rows and not zims:
        echo(gettext("The library is empty."))
    for row in rows:
        # Translators: English says this the same way for every number.
        lessons = ngettext("%(num)d lessons", "%(num)d lessons", row["lessons"])
        echo(f"{row['id']}  {row['version']}  {row['language']}  {lessons}  {row['title']}")
    for zim in zims:
        # Translators: English says this the same way for every number.
        articles = ngettext("%(num)d articles", "%(num)d articles", zim["articles"])
        size = size_text(zim["size"])
        echo(f"{zim['id']}  {zim['date']}  {zim['language']}  {articles}  {size}  {zim['title']}")


@content.command("remove")
@data_option
@click.argument("pack_id")
@friendly_errors
def content_remove(data_dir: Path | None, pack_id: str) -> None:
    """Remove a pack and the files no other pack uses, or a ZIM file by its name."""
    with open_library(data_dir) as library:
        if ZimArchive.by_name(pack_id) is not None and Pack.by_id(pack_id) is None:
            removed = library.zims.remove(pack_id)
            echo(
                gettext(
                    "removed ZIM %(name)s (%(size)s freed)",
                    name=removed.name,
                    size=size_text(removed.size),
                )
            )
            return
        deleted = library.remove(pack_id)
    echo(
        # Translators: English says this the same way for every number.
        ngettext(
            "removed %(pack)s (%(num)d files no longer needed were deleted)",
            "removed %(pack)s (%(num)d files no longer needed were deleted)",
            deleted,
            pack=pack_id,
        )
    )


@content.command("verify")
@data_option
@friendly_errors
def content_verify(data_dir: Path | None) -> None:
    """Re-hash every file of the library and check every ZIM file whole; report damage."""
    checking = ProgressReport(lambda _: gettext("Checking the library's files"))
    with open_library(data_dir) as library, ZimProgressBars() as bars, checking:
        damage = library.verify(lambda done, total: checking.report("", done, total))
        total = PackFile.select().count()
        zim_damage = library.zims.verify(bars.report)
        zims = ZimArchive.select().count()
    for broken in zim_damage:
        echo(
            gettext("damaged ZIM %(name)s: %(problem)s", name=broken.name, problem=broken.problem),
            err=True,
        )
    if zim_damage and not damage:
        raise click.ClickException(
            # Translators: English says this the same way for every number.
            ngettext(
                "%(num)d ZIM file(s) are damaged; import them again to repair them.",
                "%(num)d ZIM file(s) are damaged; import them again to repair them.",
                len(zim_damage),
            )
        )
    for item in damage:
        lessons = ", ".join(item.lessons) or gettext("no lesson")
        line = gettext(
            "damaged %(pack)s/%(path)s (%(problem)s); lessons: %(lessons)s",
            pack=item.pack_id,
            path=item.path,
            problem=item.problem,
            lessons=lessons,
        )
        echo(line, err=True)
    if damage:
        raise click.ClickException(
            # Translators: English says this the same way for every number.
            ngettext(
                "%(num)d file(s) are damaged; import those packs again to repair them.",
                "%(num)d file(s) are damaged; import those packs again to repair them.",
                len(damage),
            )
        )
    # Translators: English says this the same way for every number.
    echo(ngettext("all %(num)d files are intact", "all %(num)d files are intact", total))
    if zims:
        # Translators: English says this the same way for every number.
        echo(ngettext("all %(num)d ZIM files are intact", "all %(num)d ZIM files are intact", zims))


@content.command("export")
@data_option
@click.argument("pack_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@friendly_errors
def content_export(data_dir: Path | None, pack_id: str, file: Path) -> None:
    """Write an installed pack as a pack .zip that another hub imports as the same pack."""
    with open_library(data_dir) as library:
        packed = pack_zip(library.store, pack_id)
    write_zip(packed, file)
    echo(
        gettext(
            "wrote %(pack)s %(version)s to %(path)s",
            pack=pack_id,
            version=packed.version,
            path=file,
        )
    )


content.add_command(content_make)
