"""`learnhub users|learners|progress`: accounts, the roster and derived progress."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from hub.cli.common import data_option, friendly_errors
from hub.core.datadir import prepare
from hub.core.db import db
from hub.core.settings import load_config
from hub.core.translate import gettext, ngettext
from hub.learning.events import rebuild_progress
from hub.people import roster
from hub.people.models import ROLES, Learner, PeopleError, StaffUser


def people_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """A refused person, class or roster file is one sentence (a file's lines go first)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PeopleError as err:
            raise click.ClickException(str(err)) from None
        except roster.RosterError as err:
            for problem in err.problems:
                click.echo(problem, err=True)
            raise click.ClickException(str(err)) from None

    return wrapper


@contextmanager
def _database(data_dir: Path | None) -> Iterator[None]:
    config = load_config(data_dir, {})
    prepare(config)
    with db.connection_context():
        yield


@click.group()
def users() -> None:
    """Coach and operator accounts."""


@users.command("add")
@data_option
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="coach or operator.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 8 characters (asked for when left out).",
)
@friendly_errors
@people_errors
def users_add(data_dir: Path | None, name: str, role: str, password: str) -> None:
    """Add a coach or an operator; they sign in at /signin/staff."""
    with _database(data_dir):
        user = roster.add_staff(name, role, password)
    role = gettext("operator") if user.role == "operator" else gettext("coach")
    click.echo(
        gettext(
            "added %(role)s %(name)s (user name: %(username)s)",
            role=role,
            name=user.display_name,
            username=user.username,
        )
    )


@users.command("list")
@data_option
@friendly_errors
def users_list(data_dir: Path | None) -> None:
    """List the coach and operator accounts."""
    with _database(data_dir):
        found = list(StaffUser.select().order_by(StaffUser.role, StaffUser.username))
    for user in found:
        click.echo(f"{user.username}  {user.role}  {user.display_name}")
    if not found:
        click.echo(gettext("There are no accounts yet."))


@click.group()
def learners() -> None:
    """Learners and their classes."""


@learners.command("add")
@data_option
@click.argument("name")
@click.option("--class", "classes", multiple=True, help="A class (created if new); repeatable.")
@click.option("--pin", default=None, help="4 to 6 digits; without one, the name alone signs in.")
@click.option("--language", default="", help="Preferred language, such as sw or fr.")
@friendly_errors
@people_errors
def learners_add(
    data_dir: Path | None, name: str, classes: tuple[str, ...], pin: str | None, language: str
) -> None:
    """Add a learner."""
    with _database(data_dir), db.atomic():
        groups = roster.find_classes(classes, create=True)
        learner = roster.add_learner(name, pin=pin, language=language, classes=groups)
    click.echo(
        gettext(
            "added %(name)s (user name: %(username)s)",
            name=learner.display_name,
            username=learner.username,
        )
    )


@learners.command("import")
@data_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Check the file and report; import nothing.")
@friendly_errors
@people_errors
def learners_import(data_dir: Path | None, file: Path, check: bool) -> None:
    """Add learners from a CSV file with the header name,class,pin,language."""
    if file.stat().st_size > roster.MAX_CSV_BYTES:
        raise click.ClickException(
            gettext("%(file)s is larger than 1 MB; split it into smaller files.", file=file)
        )
    data = file.read_bytes()
    with _database(data_dir):
        summary = roster.import_csv(data, check_only=check)
    classes = ", ".join(summary.new_classes) or gettext("none")
    if check:
        # Translators: English says this the same way for every number.
        line = ngettext(
            "would add %(num)d learner(s); %(skipped)d already on the hub; "
            "new classes: %(classes)s",
            "would add %(num)d learner(s); %(skipped)d already on the hub; "
            "new classes: %(classes)s",
            summary.added,
            skipped=summary.skipped,
            classes=classes,
        )
    else:
        # Translators: English says this the same way for every number.
        line = ngettext(
            "added %(num)d learner(s); %(skipped)d already on the hub; new classes: %(classes)s",
            "added %(num)d learner(s); %(skipped)d already on the hub; new classes: %(classes)s",
            summary.added,
            skipped=summary.skipped,
            classes=classes,
        )
    click.echo(line)


@learners.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@friendly_errors
def learners_list(data_dir: Path | None, as_json: bool) -> None:
    """List the learners and their classes."""
    with _database(data_dir):
        everyone = list(Learner.select().order_by(Learner.display_name, Learner.id))
        classes = roster.classes_of(everyone)
    rows: list[dict[str, Any]] = [
        {
            "username": learner.username,
            "name": learner.display_name,
            "classes": [group.name for group in classes[learner.id]],
            "language": learner.language,
            "pin": learner.pin_hash is not None,
        }
        for learner in everyone
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['username']}  {row['name']}  {', '.join(row['classes'])}")
    if not rows:
        click.echo(gettext("There are no learners yet."))


@learners.command("export")
@data_option
@friendly_errors
def learners_export(data_dir: Path | None) -> None:
    """Print the roster as CSV, in the import's format (PINs are never exported)."""
    with _database(data_dir):
        text = roster.export_csv(Learner.select().order_by(Learner.display_name, Learner.id))
    click.echo(text.removeprefix("\ufeff"), nl=False)


@click.group()
def progress() -> None:
    """Learners' progress, derived from the event log."""


@progress.command("rebuild")
@data_option
@friendly_errors
def progress_rebuild(data_dir: Path | None) -> None:
    """Recompute every learner's progress from the event log."""
    with _database(data_dir):
        count = rebuild_progress()
    click.echo(
        # Translators: English says this the same way for every number.
        ngettext(
            "rebuilt progress from %(num)d events", "rebuilt progress from %(num)d events", count
        )
    )
