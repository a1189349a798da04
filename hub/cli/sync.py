"""`learnhub sync`: the hub's identity, bundles to and from a USB stick, a push to central over
HTTP, and where sync stands."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from content.source import size_text
from hub.cli.common import data_option, echo, friendly_errors, open_hub
from hub.core.console import printable, printable_json
from hub.core.translate import gettext, ngettext
from hub.hubsync.central_pin import confirm, pin_file, trust_of
from hub.hubsync.push import PushResult, push
from hub.hubsync.service import ReplyResult, SyncError, SyncService, usb_folder
from hub.hubsync.zims import ZimOutcome
from hub.library.packs import Library
from sync.bundle import BundleError
from sync.identity import load_or_create
from sync.records import RecordError


def sync_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """A refused bundle or an unreachable central is one sentence, exit status 1 (central's
    own words inside it are printed escaped)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (SyncError, BundleError, RecordError) as err:
            raise click.ClickException(printable(err)) from None

    return wrapper


@contextmanager
def _service(data_dir: Path | None) -> Iterator[SyncService]:
    with open_hub(data_dir) as config:
        yield SyncService(config, load_or_create(config.data_dir), Library(config))


@click.group()
def sync() -> None:
    """Exchange progress, rosters and content with a central server."""


@sync.command("identity")
@data_option
@friendly_errors
def sync_identity(data_dir: Path | None) -> None:
    """Print this hub's public identity (JSON), for enrolment at central."""
    with _service(data_dir) as service:
        click.echo(printable_json(service.identity()))


@sync.command("pin")
@data_option
@click.argument("identity_file", type=click.Path(dir_okay=False, path_type=Path))
@friendly_errors
@sync_errors
def sync_pin(data_dir: Path | None, identity_file: Path) -> None:
    """Pin central's identity from a file carried by hand (`learnhub central identity` writes
    it): replies are accepted only when signed by this key, and the key counts as confirmed."""
    with _service(data_dir) as service:
        name, shown = pin_file(service, identity_file)
    line = gettext(
        "this hub now trusts %(name)s, fingerprint %(fingerprint)s (confirmed)",
        name=name,
        fingerprint=shown,
    )
    echo(line)


# The first name of `pin`, kept for the scripts and notes that use it.
sync.add_command(
    click.Command(
        "trust", callback=sync_pin.callback, params=sync_pin.params, help=sync_pin.help, hidden=True
    )
)


@sync.command("confirm")
@data_option
@click.argument("fingerprint")
@friendly_errors
@sync_errors
def sync_confirm(data_dir: Path | None, fingerprint: str) -> None:
    """Confirm central's key: type the FINGERPRINT central shows (`learnhub central identity`
    or central's dashboard); it must match the one `learnhub sync status` shows."""
    with _service(data_dir) as service:
        shown = confirm(service, fingerprint)
    echo(gettext("central's key %(fingerprint)s is confirmed", fingerprint=shown))


@sync.command("export")
@data_option
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@friendly_errors
@sync_errors
def sync_export(data_dir: Path | None, dest: Path) -> None:
    """Write everything central has not yet receipted into DEST/learnhub-sync/ (a USB stick)."""
    if not dest.is_dir():
        raise SyncError(
            gettext(
                "%(folder)s is not a folder; plug in the USB stick and give its folder.",
                folder=dest,
            )
        )
    with _service(data_dir) as service:
        result = service.export(dest)
    # Translators: English says this the same way for every number.
    line = ngettext(
        "wrote %(num)d bundle(s) to %(folder)s (%(events)d new progress event(s), "
        "%(roster)d roster change(s))",
        "wrote %(num)d bundle(s) to %(folder)s (%(events)d new progress event(s), "
        "%(roster)d roster change(s))",
        len(result.copied),
        folder=usb_folder(dest),
        events=result.events,
        roster=result.roster,
    )
    echo(line)


@sync.command("import")
@data_option
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@friendly_errors
@sync_errors
def sync_import(data_dir: Path | None, source: Path) -> None:
    """Apply the replies from central found in SOURCE (a bundle, a folder or a USB stick)."""
    with _service(data_dir) as service:
        results = service.import_path(source)
    refused = 0
    for result in results:
        echo(describe_reply(result))
        for zim in result.zims:
            echo(describe_zim_waiting(zim))
        for pack in result.packs:
            if pack.error:
                refused += 1
                line = gettext(
                    "pack %(pack)s %(version)s refused: %(error)s",
                    pack=pack.pack_id,
                    version=pack.version,
                    error=pack.error,
                )
                echo(line, err=True)
    if refused:
        # Translators: English says this the same way for every number.
        raise SyncError(
            ngettext(
                "%(num)d pack(s) were refused; they changed nothing.",
                "%(num)d pack(s) were refused; they changed nothing.",
                refused,
            )
        )


def describe_zim_waiting(record: dict[str, Any]) -> str:
    """A ZIM a reply on a stick names: its file never travels in a bundle."""
    return gettext(
        "central sends the ZIM %(name)s (%(size)s): it comes with the next sync over the "
        "network, or copy its file onto a stick and run `learnhub content import`",
        name=record["name"],
        size=size_text(record["size"]),
    )


def describe_zim(outcome: ZimOutcome) -> str:
    if outcome.error:
        return outcome.error
    return gettext("ZIM %(name)s: %(action)s", name=outcome.name, action=outcome.action)


def describe_reply(result: ReplyResult) -> str:
    marks = ", ".join(
        gettext("epoch %(epoch)s up to %(mark)s", epoch=epoch, mark=mark)
        for epoch, mark in result.receipts
    )
    installed = [f"{p.pack_id} {p.version}" for p in result.packs if p.action != "unchanged"]
    # Translators: English says this the same way for every number.
    return ngettext(
        "applied %(file)s: central holds %(marks)s; %(num)d bundle(s) cleared from the outbox; "
        "%(roster)d roster change(s); packs: %(packs)s",
        "applied %(file)s: central holds %(marks)s; %(num)d bundle(s) cleared from the outbox; "
        "%(roster)d roster change(s); packs: %(packs)s",
        len(result.removed),
        file=result.path.name,
        marks=marks or gettext("nothing new"),
        roster=result.roster.applied,
        packs=", ".join(installed) or gettext("none new"),
    )


@sync.command("push")
@data_option
@click.argument("url", required=False)
@friendly_errors
@sync_errors
def sync_push(data_dir: Path | None, url: str | None) -> None:
    """Send what waits to central over HTTP (URL, else the central_url setting), then apply
    central's reply."""
    with _service(data_dir) as service:
        result = push(service, url)
    echo(describe_push(result))
    if result.reply is not None:
        echo(describe_reply(result.reply))
    for zim in result.zims:
        echo(describe_zim(zim), err=zim.error is not None)


def describe_push(result: PushResult) -> str:
    # Translators: English says this the same way for every number.
    return ngettext(
        "pushed %(num)d bundle(s) to %(url)s (%(up)d bytes up, %(down)d bytes down)",
        "pushed %(num)d bundle(s) to %(url)s (%(up)d bytes up, %(down)d bytes down)",
        len(result.uploaded),
        url=result.url,
        up=result.counters.sent,
        down=result.counters.received,
    )


@sync.command("status")
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@friendly_errors
def sync_status(data_dir: Path | None, as_json: bool) -> None:
    """Where sync stands: last sync, what waits, the last error."""
    with _service(data_dir) as service:
        service.ensure_epoch()
        status = {**service.status(), **trust_of(service).as_json()}
    if as_json:
        click.echo(printable_json(status))
        return
    for line in status_lines(status):
        echo(line)


def key_line(status: dict[str, Any]) -> str:
    shown = status["central_fingerprint"]
    if shown is None:
        return gettext("central's key: not known yet (it is kept at the first sync)")
    if status["central_confirmed"]:
        return gettext("central's key: %(fingerprint)s (confirmed)", fingerprint=shown)
    return gettext(
        "central's key: %(fingerprint)s (NOT CONFIRMED: compare it with the fingerprint "
        "central shows, then run `learnhub sync confirm %(fingerprint)s`)",
        fingerprint=shown,
    )


def status_lines(status: dict[str, Any]) -> list[str]:
    lines = [gettext("hub %(hub)s, epoch %(epoch)s", hub=status["hub_id"], epoch=status["epoch"])]
    central = status["central_url"] or gettext("not set")
    lines.append(gettext("central: %(url)s", url=central))
    lines.append(key_line(status))
    lines.append(gettext("last sync: %(when)s", when=status["last_sync"] or gettext("never")))
    lines.append(
        gettext(
            "waiting: %(events)s progress event(s), %(roster)s roster change(s) not yet "
            "bundled, %(bundles)s bundle(s) (%(bytes)s bytes) not receipted",
            events=status["events_waiting"],
            roster=status["roster_waiting"],
            bundles=status["bundles_waiting"],
            bytes=status["bundle_bytes"],
        )
    )
    if status.get("pins_held_back"):
        lines.append(pins_held_back_words(status["pins_held_back"]))
    if status["last_error"]:
        lines.append(gettext("last error: %(error)s", error=status["last_error"]))
    return lines


def pins_held_back_words(count: int) -> str:
    return gettext(
        "Learner PINs waiting to travel: %(count)s. This hub does not know central's key yet, "
        "and PINs travel only sealed to it. Sync once over the network, or pin central's key "
        "with `learnhub sync pin central.json`.",
        count=count,
    )
