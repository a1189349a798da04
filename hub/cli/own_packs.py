"""Packs from a plain folder on the command line: `learnhub content make`, the --title,
--language, --subject and --license options it shares with import, and how import and
`import --check` show what they made, found and would do (hub.cli.content uses these)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from content.errors import PackError, PackProblems
from content.folder_pack import PackFields, write_pack_json
from content.importer import check_pack
from content.source import MANIFEST_NAME, open_source
from hub.cli.common import data_option, echo, friendly_errors, open_library
from hub.core.settings import Config
from hub.core.translate import gettext, ngettext
from hub.library.pack_check import Checked


def pack_field_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--title, --language, --subject and --license, for packs made from a folder."""
    options = [
        click.option("--title", help="The title of a pack made from a folder."),
        click.option(
            "--language", help="Its language, such as en, sw or pt-BR (default: the hub's)."
        ),
        click.option("--subject", help="Its subject, such as mathematics."),
        click.option("--license", "license_", help="Its licence, such as CC-BY-4.0."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def pack_fields(config: Config, **given: str | None) -> PackFields:
    return PackFields(
        given.get("title"),
        given.get("language"),
        given.get("subject"),
        given.get("license_"),
        config.default_language,
    )


@click.command("make")
@data_option
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@pack_field_options
@friendly_errors
def content_make(data_dir: Path | None, folder: Path, **given: str | None) -> None:
    """Write the pack.json a folder of files makes, to edit and import again."""
    with open_library(data_dir) as library:
        made = write_pack_json(folder, pack_fields(library.config, **given), library.installed)
    for note in made.notes:
        echo(note)
    echo(
        gettext(
            "Wrote %(path)s (version %(version)s). Edit it, then import the folder; raise its "
            '"version" each time you change it after an import.',
            path=folder / MANIFEST_NAME,
            version=made.raw["version"],
        )
    )
    with open_source(folder) as source:
        try:
            check_pack(source)
        except PackProblems as err:
            show_problems(_has_problems(folder, len(err.problems)), err.problems)
            raise click.ClickException(_fix_first()) from None
        except PackError as err:
            show_problems(_has_problems(folder, 1), [str(err)])
            raise click.ClickException(_fix_first()) from None


def _has_problems(folder: Path, count: int) -> str:
    # Translators: English says this the same way for every number.
    return ngettext(
        "%(path)s has %(num)d problem(s):", "%(path)s has %(num)d problem(s):", count, path=folder
    )


def _fix_first() -> str:
    return gettext("Importing this folder would be refused until the problems above are fixed.")


def show_problems(header: str, problems: list[str] | tuple[str, ...]) -> None:
    """A header line, then each problem on its own line (all on stderr)."""
    echo(header, err=True)
    for problem in problems:
        echo(f"  - {problem}", err=True)


def refused_header(path: Path, count: int) -> str:
    # Translators: English says this the same way for every number.
    return ngettext(
        "refused %(path)s, with %(num)d problems:",
        "refused %(path)s, with %(num)d problems:",
        count,
        path=path,
    )


def show_notes(notes: tuple[str, ...] | list[str]) -> None:
    for note in notes:
        echo(note if note.startswith(" ") else f"  {note}")


def show_check(results: list[Checked]) -> None:
    """Print what importing would do; ClickException if anything would be refused."""
    for checked in results:
        if checked.action == "refused":
            show_problems(_would_refuse(checked), checked.problems)
            continue
        echo(_would(checked))
        show_notes(checked.notes)
    refused = sum(1 for checked in results if checked.action == "refused")
    if refused:
        raise click.ClickException(
            # Translators: English says this the same way for every number.
            ngettext(
                "%(failed)d of %(num)d would be refused; nothing was changed (--check).",
                "%(failed)d of %(num)d would be refused; nothing was changed (--check).",
                len(results),
                failed=refused,
            )
        )
    echo(gettext("Nothing was changed (--check)."))


def _would_refuse(checked: Checked) -> str:
    # Translators: English says this the same way for every number.
    return ngettext(
        "%(path)s would be refused, with %(num)d problem(s):",
        "%(path)s would be refused, with %(num)d problem(s):",
        len(checked.problems),
        path=checked.path,
    )


def _would(checked: Checked) -> str:
    if checked.action == "zim":
        return gettext("%(path)s: a ZIM file; import checks it.", path=checked.path)
    if checked.action == "unchanged":
        return gettext(
            "%(path)s: %(pack)s %(version)s is already installed; it would stay unchanged.",
            path=checked.path,
            pack=checked.pack_id,
            version=checked.version,
        )
    if checked.action == "upgrade":
        return gettext(
            "%(path)s: would upgrade %(pack)s %(previous)s -> %(version)s.",
            path=checked.path,
            pack=checked.pack_id,
            previous=checked.previous,
            version=checked.version,
        )
    # Translators: English says this the same way for every number.
    return ngettext(
        "%(path)s: would install %(pack)s %(version)s (%(num)d lessons).",
        "%(path)s: would install %(pack)s %(version)s (%(num)d lessons).",
        checked.lessons,
        path=checked.path,
        pack=checked.pack_id,
        version=checked.version,
    )
