"""`learnhub central`: the central server's commands (serve, enrol hubs, import bundles,
publish packs and rosters to hubs, status). Errors are one sentence and exit status 1.

Central keeps its own data dir: --data, else $LEARNHUB_CENTRAL_DATA, else the hub's default
data dir's `central` folder. Its database: --database (or $LEARNHUB_CENTRAL_DATABASE), a
postgresql:// URL, else SQLite in the data dir.
"""

from __future__ import annotations

import errno
import functools
import getpass
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from peewee import OperationalError

from content.errors import PackError
from content.source import size_text
from content.zim import ZimError
from hub.central.app import create_central_app, terms_of
from hub.cli.common import friendly_errors
from hub.core import affinity, collector
from hub.core.settings import default_data_dir, load_config
from hub.web.server import Guard, create_server
from sync.bundle import BundleError
from sync.central import letters, roster, shared_packs
from sync.central.db import connected, writing
from sync.central.errors import CentralError
from sync.central.hubs import enrol, known, set_status
from sync.central.models import APPROVED, REVOKED, Hub, Roster
from sync.central.reports import hubs_overview
from sync.central.service import Central
from sync.central.staff import add_staff
from sync.fingerprint import fingerprint
from sync.identity import IdentityError
from sync.migrate import SchemaTooNew
from sync.records import RecordError

log = logging.getLogger("learnhub.central")

DATA_ENV = "LEARNHUB_CENTRAL_DATA"

# Not hub.cli.common's --data: central's default is a folder of its own, and the help says so.
data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Central's data directory (default: $LEARNHUB_CENTRAL_DATA, else the `central` "
    "folder of the hub's default data directory).",
)

database_option = click.option(
    "--database",
    "database_url",
    envvar="LEARNHUB_CENTRAL_DATABASE",
    default=None,
    help="postgresql://USER:PASSWORD@HOST/DB (default: SQLite in the data dir; "
    "$LEARNHUB_CENTRAL_DATABASE).",
)


def central_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Central's refusals, and an unreachable database, as one sentence."""

    @functools.wraps(command)
    @friendly_errors
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (
            CentralError,
            BundleError,
            RecordError,
            IdentityError,
            PackError,
            ZimError,
            SchemaTooNew,
        ) as err:
            raise click.ClickException(str(err)) from None
        except OperationalError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise click.ClickException(f"The central database cannot be used: {first}.") from None

    return wrapper


def central_dir(data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    return default_data_dir(os.environ) / "central"


@contextmanager
def opened(data_dir: Path | None, database_url: str | None) -> Iterator[Central]:
    central = Central.open(central_dir(data_dir), database_url)
    central.terms = terms_of(load_config(central.data_dir))
    with connected():
        yield central


@click.group()
def central() -> None:
    """The central server: enrol hubs, apply their bundles, publish packs and rosters."""


@central.command()
@data_option
@database_option
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8090, show_default=True, help="Port to listen on.")
@click.option("--threads", type=int, default=4, show_default=True, help="Worker threads.")
@central_errors
def serve(
    data_dir: Path | None, database_url: str | None, host: str, port: int, threads: int
) -> None:
    """Serve central's pages and the sync API hubs upload to."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    service = Central.open(central_dir(data_dir), database_url)
    # The settings are the hub's (hub/core/settings.py): learnhub.toml in central's data dir,
    # LEARNHUB_* in the environment. Only sync uploads take more than a small body.
    config = load_config(service.data_dir)
    if config.one_cpu:
        affinity.keep_to_one_cpu()  # before the server's threads start
    app = create_central_app(service, config=config)
    guard = Guard.from_config(config, {"/api/sync/uploads/": app.config["MAX_CONTENT_LENGTH"]})
    try:
        server = create_server(
            app, host=host, port=port, threads=threads, ident="learnhub-central", guard=guard
        )
    except OSError as err:
        raise _bind_error(err, host, port) from None
    log.info("Learning Hub central is serving %s on http://%s:%s/", service.data_dir, host, port)
    collector.settle()  # as `learnhub serve`: full collections skip what starting made
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _bind_error(err: OSError, host: str, port: int) -> click.ClickException:
    where = f"Port {port} on {host}"
    if err.errno == errno.EADDRINUSE:
        return click.ClickException(f"{where} is already in use; choose another with --port.")
    if err.errno == errno.EACCES:
        return click.ClickException(
            f"{where} needs more privileges (ports below 1024 need root); "
            "choose another with --port."
        )
    return click.ClickException(f"{where} cannot be used: {err.strerror}.")


@central.command("identity")
@data_option
@database_option
@central_errors
def identity(data_dir: Path | None, database_url: str | None) -> None:
    """Print central's public identity (JSON) for hubs to pin, and its fingerprint (on
    stderr, so that `> central.json` keeps the JSON alone)."""
    with opened(data_dir, database_url) as service:
        click.echo(json.dumps(service.identity(), indent=2))
        shown = fingerprint(service.keys.public_key)
    click.echo(
        f"fingerprint {shown}: a hub that trusts this central shows the same one "
        "(Admin -> Sync, `learnhub sync status`).",
        err=True,
    )


@central.command("import")
@data_option
@database_option
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@central_errors
def import_bundles(data_dir: Path | None, database_url: str | None, path: Path) -> None:
    """Apply every hub bundle in PATH (a .lhb file, a folder, or a USB stick holding
    learnhub-sync/) and write each hub's reply next to its bundles."""
    with opened(data_dir, database_url) as service:
        outcomes, replies = service.import_path(path)
    if not outcomes:
        raise click.ClickException(f"No hub bundle was found in {path}.")
    for outcome in outcomes:
        if outcome.error:
            click.echo(f"refused {outcome.path.name}: {outcome.error}", err=True)
            continue
        done = outcome.applied
        assert done is not None
        click.echo(
            f"applied {outcome.path.name}: {done.accepted} new, {done.duplicates} already here, "
            f"{done.quarantined} quarantined; contiguous up to {done.high_water}"
        )
    for reply in replies:
        click.echo(f"wrote {reply.path}")
    refused = sum(1 for outcome in outcomes if outcome.error)
    if refused:
        raise click.ClickException(
            f"{refused} of {len(outcomes)} bundle(s) were refused; they changed nothing."
        )


@central.command("status")
@data_option
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@central_errors
def status(data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """Hubs, events and learners central holds."""
    with opened(data_dir, database_url) as service:
        found = service.status()
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(
        f"{found['hubs']} hubs ({found['hubs_pending']} waiting for approval), "
        f"{found['learners']} learners, {found['events']} events, "
        f"{found['quarantined']} quarantined, {found['packs']} packs, {found['zims']} ZIMs "
        f"({found['database']})"
    )


# ------------------------------------------------------------------------------- hubs


@central.group()
def hubs() -> None:
    """Enrol, list, approve and revoke hubs."""


@hubs.command("add")
@data_option
@database_option
@click.argument("identity_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@central_errors
def hubs_add(data_dir: Path | None, database_url: str | None, identity_file: Path) -> None:
    """Enrol (and approve) a hub from the JSON `learnhub sync identity` printed on it."""
    try:
        document = json.loads(identity_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CentralError(f"{identity_file} is not a JSON identity file.") from None
    with opened(data_dir, database_url):
        hub = enrol(document)
    click.echo(f"enrolled {hub.name} ({hub.hub_id})")


@hubs.command("list")
@data_option
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@central_errors
def hubs_list(data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """Every hub with its status, last contact, lag and counts."""
    with opened(data_dir, database_url):
        rows: list[dict[str, Any]] = [
            {
                "hub_id": row.hub.hub_id,
                "name": row.hub.name,
                "status": row.hub.status,
                "last_contact": row.hub.last_contact,
                "lag_seconds": row.lag_seconds,
                "events": row.hub.events,
                "learners": row.learners,
                "missing": row.missing,
                "quarantined": row.hub.quarantined,
            }
            for row in hubs_overview()
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No hub is enrolled yet.")
    for row in rows:
        lag = "never" if row["lag_seconds"] is None else f"{row['lag_seconds'] / 3600:.1f} h ago"
        click.echo(
            f"{row['hub_id']}  {row['status']:<8}  {row['events']} events  "
            f"last contact {lag}  {row['name']}"
        )


def _status_command(action: str, new_status: str) -> None:
    @hubs.command(action)
    @data_option
    @database_option
    @click.argument("hub_id")
    @central_errors
    def command(data_dir: Path | None, database_url: str | None, hub_id: str) -> None:
        with opened(data_dir, database_url):
            hub = set_status(hub_id, new_status)
        click.echo(f"{hub.name} ({hub.hub_id}) is {hub.status}")

    command.__doc__ = f"{action.capitalize()} a hub (by its hub id)."


_status_command("approve", APPROVED)
_status_command("revoke", REVOKED)


# ----------------------------------------------------------------------- staff users


@central.group()
def users() -> None:
    """Central staff accounts (for the web pages)."""


@users.command("add")
@data_option
@database_option
@click.argument("name")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Their password."
)
@central_errors
def users_add(data_dir: Path | None, database_url: str | None, name: str, password: str) -> None:
    """Add a central staff account."""
    with opened(data_dir, database_url):
        staff = add_staff(name, password)
    click.echo(f"added {staff.username}")


# ------------------------------------------------------------- content and rosters


@central.group()
def packs() -> None:
    """Content packs central publishes to hubs."""


@packs.command("add")
@data_option
@database_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@central_errors
def packs_add(data_dir: Path | None, database_url: str | None, paths: tuple[Path, ...]) -> None:
    """Add packs (a pack folder, a .zip, or a folder holding many) to central's library."""
    with opened(data_dir, database_url) as service:
        added = service.library.add_paths(list(paths))
    for item in added:
        verb = "added" if item.new else "already here:"
        click.echo(f"{verb} {item.pack_id} {item.version}")


@packs.command("list")
@data_option
@database_option
@central_errors
def packs_list(data_dir: Path | None, database_url: str | None) -> None:
    """The newest version of every pack central has."""
    with opened(data_dir, database_url) as service:
        releases = service.library.releases()
    if not releases:
        click.echo("Central has no packs yet.")
    for release in releases:
        click.echo(f"{release.pack_id}  {release.version}  {release.language}  {release.title}")


@central.group()
def zims() -> None:
    """Kiwix libraries (ZIM files) central sends to hubs."""


@zims.command("add")
@data_option
@database_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@central_errors
def zims_add(data_dir: Path | None, database_url: str | None, paths: tuple[Path, ...]) -> None:
    """Add ZIM files (a .zim, any part of a split .zimaa set, or a folder holding them) to
    central's library, each checked whole first."""
    with opened(data_dir, database_url) as service:
        added = service.zims.add_paths(list(paths))
    for item in added:
        verb = "added" if item.new else "already here:"
        click.echo(f"{verb} {item.name} {item.date or '(no date)'} ({item.uuid})")


@zims.command("list")
@data_option
@database_option
@central_errors
def zims_list(data_dir: Path | None, database_url: str | None) -> None:
    """The newest edition of every ZIM central has, with its file."""
    with opened(data_dir, database_url) as service:
        releases = [(r, service.zims.path_of(r)) for r in service.zims.releases()]
    if not releases:
        click.echo("Central has no ZIM files yet.")
    for release, path in releases:
        click.echo(
            f"{release.name}  {release.date}  {release.language}  {size_text(release.size)}  "
            f"{release.title}  {path}"
        )


@central.group()
def assign() -> None:
    """Send packs, ZIMs, classes or learners to a hub (they travel in its next reply)."""


@assign.command("pack")
@data_option
@database_option
@click.argument("pack_id")
@click.argument("hub_id")
@central_errors
def assign_pack(data_dir: Path | None, database_url: str | None, pack_id: str, hub_id: str) -> None:
    """Send PACK_ID (its newest version, now and after upgrades) to HUB_ID."""
    with opened(data_dir, database_url) as service:
        service.library.assign(pack_id, hub_id)
    click.echo(f"{pack_id} goes to {hub_id} with its next reply")


@assign.command("zim")
@data_option
@database_option
@click.argument("name")
@click.argument("hub_id")
@central_errors
def assign_zim(data_dir: Path | None, database_url: str | None, name: str, hub_id: str) -> None:
    """Send the ZIM NAME (its newest edition, now and after newer ones) to HUB_ID: its next
    reply names it, and the hub downloads it within its bandwidth cap."""
    with opened(data_dir, database_url) as service:
        service.zims.assign(name, hub_id)
    click.echo(f"ZIM {name} goes to {hub_id}: its next sync over the network fetches it")


def _assign_roster(kind: str, label: str) -> None:
    @assign.command(kind)
    @data_option
    @database_option
    @click.argument("name_or_uid")
    @click.argument("hub_id")
    @central_errors
    def command(
        data_dir: Path | None, database_url: str | None, name_or_uid: str, hub_id: str
    ) -> None:
        with opened(data_dir, database_url), writing():
            known(hub_id)
            record = _find(kind, name_or_uid)
            roster.send_to(kind, record.uid, hub_id)
        click.echo(f"{label} {record.name} ({record.uid}) goes to {hub_id} with its next reply")

    command.__doc__ = f"Send a {label} (by name or uid) to a hub."


_assign_roster("class", "class")
_assign_roster("learner", "learner")


def _find(kind: str, name_or_uid: str) -> Roster:
    found = Roster.find(kind, name_or_uid)
    if found is not None and not found.deleted:
        return found
    named = Roster.named(kind, name_or_uid)
    if len(named) == 1:
        return named[0]
    if named:
        raise CentralError(f"Several {kind}es are called {name_or_uid!r}; give the uid instead.")
    raise CentralError(f"Central knows no {kind} {name_or_uid!r}.")


@central.group()
def learners() -> None:
    """Learners made at central (they reach hubs through `assign`)."""


@learners.command("add")
@data_option
@database_option
@click.argument("name")
@click.option("--class", "class_name", default=None, help="Put them in this class (name or uid).")
@click.option("--hub", "hub_id", default=None, help="Send them to this hub.")
@central_errors
def learners_add(
    data_dir: Path | None,
    database_url: str | None,
    name: str,
    class_name: str | None,
    hub_id: str | None,
) -> None:
    """Add a learner at central."""
    with opened(data_dir, database_url), writing():
        record = roster.create("learner", name=name.strip(), language="")
        if class_name:
            group = _find("class", class_name)
            roster.create_member(group.uid, record["uid"])
        if hub_id:
            known(hub_id)
            roster.send_to("learner", record["uid"], hub_id)
    click.echo(f"added learner {name.strip()} ({record['uid']})")


@central.group()
def classes() -> None:
    """Classes made at central."""


@classes.command("add")
@data_option
@database_option
@click.argument("name")
@click.option("--hub", "hub_id", default=None, help="Send the class to this hub.")
@central_errors
def classes_add(
    data_dir: Path | None, database_url: str | None, name: str, hub_id: str | None
) -> None:
    """Add a class at central."""
    with opened(data_dir, database_url), writing():
        record = roster.create("class", name=name.strip())
        if hub_id:
            known(hub_id)
            roster.send_to("class", record["uid"], hub_id)
    click.echo(f"added class {name.strip()} ({record['uid']})")


@hubs.command("region")
@data_option
@database_option
@click.argument("hub_id")
@click.argument("region")
@central_errors
def hubs_region(data_dir: Path | None, database_url: str | None, hub_id: str, region: str) -> None:
    """Set the region a hub is in (shown with the packs its teachers share)."""
    region = " ".join(region.split())
    if len(region) > 200:
        raise click.ClickException("A region is at most 200 characters.")
    with opened(data_dir, database_url), writing():
        known(hub_id)
        Hub.update(region=region).where(Hub.hub_id == hub_id).execute()
    click.echo(f"hub {hub_id} is in {region or 'no region'}")


@central.group()
def shared() -> None:
    """Packs teachers share through central: review them."""


@shared.command("list")
@data_option
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@central_errors
def shared_list(data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """Every pack hubs offered, waiting ones first."""
    with opened(data_dir, database_url):
        rows = [
            {
                "pack_id": o.pack_id,
                "version": o.version,
                "hub_id": o.hub_id,
                "title": o.title,
                "author": o.author,
                "license": o.license,
                "size": o.size,
                "status": o.status,
                "reason": o.reason,
                "accepted_version": o.accepted_version,
            }
            for o in shared_packs.offers()
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No hub has shared a pack yet.")
    for row in rows:
        click.echo(
            f"{row['status']:<9} {row['pack_id']}  {row['version']}  {row['title']}"
            f"  by {row['author'] or '?'} ({row['hub_id']}, {row['license']})"
            + (f"  - {row['reason']}" if row["reason"] else "")
        )


@shared.command("accept")
@data_option
@database_option
@click.argument("pack_id")
@click.option("--hub", "hub_id", default=None, help="The offering hub, when several offer it.")
@central_errors
def shared_accept(
    data_dir: Path | None, database_url: str | None, pack_id: str, hub_id: str | None
) -> None:
    """Accept a shared pack into the catalog; hubs that pick it receive it."""
    with opened(data_dir, database_url) as service:
        version = shared_packs.accept(service.library, pack_id, _operator(), hub_id)
    click.echo(f"accepted {pack_id} {version}")


@shared.command("decline")
@data_option
@database_option
@click.argument("pack_id")
@click.option("--reason", required=True, help="Why; the school reads it after its next sync.")
@click.option("--hub", "hub_id", default=None, help="The offering hub, when several offer it.")
@central_errors
def shared_decline(
    data_dir: Path | None, database_url: str | None, pack_id: str, reason: str, hub_id: str | None
) -> None:
    """Decline a shared pack, with a reason that travels back to its school."""
    with opened(data_dir, database_url):
        shared_packs.decline(pack_id, reason, _operator(), hub_id)
    click.echo(f"declined {pack_id}")


def _operator() -> str:
    """Who reviewed, as far as a command line can tell."""
    return f"cli:{getpass.getuser()}"


@central.command("pair")
@data_option
@database_option
@click.argument("one")
@click.argument("other")
@central_errors
def pair_classes(data_dir: Path | None, database_url: str | None, one: str, other: str) -> None:
    """Pair two classes on two hubs (each CLASS@HUB, HUB its id or name) as partners: they
    may write letters to each other, each letter approved by both coaches."""
    with opened(data_dir, database_url), writing():
        pairing = letters.pair(one, other)
    click.echo(f"paired {one} with {other} ({pairing.uid}); both hubs hear it in their next reply")


@central.command("pairs")
@data_option
@database_option
@click.option("--json", "as_json", is_flag=True, help="One JSON list instead of lines.")
@central_errors
def list_pairs(data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """Every pairing of partner classes, newest first: its uid, state and the two classes."""
    with opened(data_dir, database_url):
        found = letters.pairings()
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    for pairing in found:
        click.echo(f"{pairing['uid']}  {pairing['state']:6}  {pairing['one']}  {pairing['other']}")


@central.command("unpair")
@data_option
@database_option
@click.argument("pair_uid")
@central_errors
def unpair_classes(data_dir: Path | None, database_url: str | None, pair_uid: str) -> None:
    """End a pairing: no more letters travel between the two classes."""
    with opened(data_dir, database_url), writing():
        letters.unpair(pair_uid)
    click.echo(f"ended {pair_uid}")


if __name__ == "__main__":  # pragma: no cover - `python -m hub.central.cli` before it is wired in
    central()
