"""`learnhub discover` and `learnhub content fetch`: hubs on the LAN, and packs copied from them."""

from __future__ import annotations

from pathlib import Path

import click

from content.source import size_text
from hub.cli.common import config_for, data_option, echo, friendly_errors, open_library
from hub.core.bounded_http import Bounds
from hub.core.console import printable_json
from hub.core.translate import gettext, ngettext
from hub.neighbours.discovery import DiscoveryError, Neighbour, browse
from hub.neighbours.errors import NeighbourError
from hub.neighbours.neighbour_hub import NeighbourHub
from hub.neighbours.pack_fetcher import FetchOutcome, fetch_packs
from hub.neighbours.share_claims import Offer, ZimOffer


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--timeout",
    type=click.FloatRange(0.5, 60),
    default=3.0,
    show_default=True,
    help="Seconds to listen for answers.",
)
def discover(as_json: bool, timeout: float) -> None:
    """List the Learning Hubs on the local network."""
    try:
        found = browse(timeout)
    except DiscoveryError as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        click.echo(printable_json([n.as_json() for n in found]))
        return
    if not found:
        echo(
            gettext(
                "No hubs answered on this network within %(seconds)s seconds.",
                seconds=f"{timeout:g}",
            )
        )
    for neighbour in found:
        echo(_describe_neighbour(neighbour))


def _describe_neighbour(n: Neighbour) -> str:
    if n.packs is None:
        packs = gettext("? packs")
    else:
        # Translators: English says this the same way for every number.
        packs = ngettext("%(num)d packs", "%(num)d packs", n.packs)
    sharing = gettext("shares packs") if n.sharing else gettext("sharing off")
    version = gettext("version %(version)s", version=n.version)
    return f"{n.name}  {n.url}  {version}  {packs}  {sharing}  id {n.hub_id}"


@click.command("fetch")
@data_option
@click.argument("url")
@click.argument("pack_ids", nargs=-1)
@friendly_errors
def fetch(data_dir: Path | None, url: str, pack_ids: tuple[str, ...]) -> None:
    """Copy packs from the hub at URL (see `learnhub discover`); without PACK_IDS, list the
    packs and ZIM files (zim:NAME) it offers. Only files this hub lacks travel, and an
    interrupted copy resumes."""
    if not pack_ids:
        bounds = Bounds.of(config_for(data_dir))
        neighbour = NeighbourHub(url, bounds)
        for offer in neighbour.offers():
            echo(_describe_offer(offer))
        for zim in _zim_offers(neighbour):
            echo(_describe_zim(zim))
        return
    with open_library(data_dir) as library:
        outcomes = fetch_packs(library, url, list(pack_ids))
    for outcome in outcomes:
        echo(_describe_outcome(outcome), err=outcome.error is not None)
    failed = sum(1 for o in outcomes if o.error)
    if failed:
        raise click.ClickException(
            # Translators: English says this the same way for every number.
            ngettext(
                "%(failed)d of %(num)d pack(s) were not copied; they changed nothing in the "
                "library.",
                "%(failed)d of %(num)d pack(s) were not copied; they changed nothing in the "
                "library.",
                len(outcomes),
                failed=failed,
            )
        )


def _describe_offer(offer: Offer) -> str:
    # Translators: English says this the same way for every number.
    lessons = ngettext("%(num)d lessons", "%(num)d lessons", offer.lessons)
    return f"{offer.id}  {offer.version}  {offer.language}  {lessons}  {offer.title}"


def _zim_offers(neighbour: NeighbourHub) -> list[ZimOffer]:
    """Its ZIMs, or none when it offers none to read (an older hub answers 404)."""
    try:
        return neighbour.zims()
    except NeighbourError:
        return []


def _describe_zim(zim: ZimOffer) -> str:
    # Translators: English says this the same way for every number.
    articles = ngettext("%(num)d articles", "%(num)d articles", zim.articles)
    return (
        f"{zim.pack_id}  {zim.date}  {zim.language}  {articles}  {size_text(zim.size)}  {zim.title}"
    )


def _describe_outcome(outcome: FetchOutcome) -> str:
    if outcome.error:
        return gettext("not copied %(pack)s: %(error)s", pack=outcome.pack_id, error=outcome.error)
    copied = outcome.copied
    assert copied is not None
    if copied.action == "unchanged":
        return gettext(
            "unchanged %(pack)s %(version)s (already installed)",
            pack=copied.pack_id,
            version=copied.version,
        )
    travelled = gettext(
        "%(files)d files, %(bytes)d bytes copied", files=copied.files, bytes=copied.bytes
    )
    if copied.action == "upgraded":
        return gettext(
            "upgraded %(pack)s %(previous)s -> %(version)s (%(copied)s)",
            pack=copied.pack_id,
            previous=copied.previous_version,
            version=copied.version,
            copied=travelled,
        )
    # Translators: English says this the same way for every number.
    return ngettext(
        "installed %(pack)s %(version)s (%(num)d lessons, %(copied)s)",
        "installed %(pack)s %(version)s (%(num)d lessons, %(copied)s)",
        copied.lessons,
        pack=copied.pack_id,
        version=copied.version,
        copied=travelled,
    )
