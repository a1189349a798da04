"""/pairs: central staff see the partner classes (issue #18 part 2), pair two classes on two
hubs by picking them from central's roster, end a pairing, and see the coaches' open
proposals. The same pairing as `learnhub central pair`; both hubs hear it in their next reply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from hub.central.auth import staff_only
from hub.core.errors import HubError
from sync.central import letters
from sync.central.db import execute, writing
from sync.central.letter_models import ClassPair, PartnerProposal
from sync.central.models import Hub, Roster

bp = Blueprint("central_pairs", __name__)
# Classes offered for picking; a district has a few hundred, the page stays one request.
MAX_CLASSES = 5000


@dataclass
class Pick:
    class_uid: str
    hub_id: str
    label: str

    @property
    def value(self) -> str:
        return f"{self.class_uid}@{self.hub_id}"


def _hub_names() -> dict[str, str]:
    return {hub.hub_id: hub.name for hub in Hub.select()}


def _class_names(uids: set[str]) -> dict[str, str]:
    rows = Roster.select(Roster.uid, Roster.name).where(
        Roster.kind == "class", Roster.uid.in_(list(uids))
    )
    return {row.uid: row.name for row in rows} if uids else {}


def _picks(hubs: dict[str, str]) -> list[Pick]:
    """Every living class, with the enrolled hub that made it, by hub then name."""
    rows = (
        Roster.select(Roster.uid, Roster.name, Roster.owner)
        .where(Roster.kind == "class", Roster.deleted == 0, Roster.owner.in_(list(hubs)))
        .limit(MAX_CLASSES)
    )
    picks = [Pick(r.uid, r.owner, f"{r.name} · {hubs[r.owner]}") for r in rows]
    return sorted(picks, key=lambda p: (hubs[p.hub_id].lower(), p.label.lower()))


def _letters_between() -> dict[frozenset[str], int]:
    """Letters central took between each two classes (either way): one grouped query."""
    rows = execute(
        "SELECT from_class, to_class, COUNT(*) FROM letter WHERE state <> 'refused'"
        " GROUP BY from_class, to_class"
    ).fetchall()
    counted: dict[frozenset[str], int] = {}
    for one, other, count in rows:
        key = frozenset((one, other))
        counted[key] = counted.get(key, 0) + int(count)
    return counted


def _counter(counted: dict[frozenset[str], int]) -> Callable[[ClassPair], int]:
    return lambda pair: counted.get(frozenset((pair.class_a, pair.class_b)), 0)


@bp.get("/pairs")
@staff_only
def index() -> ResponseReturnValue:
    hubs = _hub_names()
    pairs = ClassPair.ordered()
    proposals = PartnerProposal.open_ones()
    uids = {p.class_a for p in pairs} | {p.class_b for p in pairs}
    uids |= {p.from_class for p in proposals} | {p.to_class for p in proposals}
    return render_template(
        "pairs.html",
        pairs=pairs,
        proposals=proposals,
        hubs=hubs,
        names=_class_names(uids),
        letters_of=_counter(_letters_between()),
        picks=_picks(hubs),
    )


def _picked(field: str) -> tuple[str, str]:
    class_uid, at, hub_id = request.form.get(field, "").partition("@")
    if not at or Hub.by_id(hub_id) is None or Roster.find("class", class_uid) is None:
        raise HubError(400, "pick_a_class", gettext("Pick two classes from the lists."))
    return class_uid, hub_id


@bp.post("/pairs")
@staff_only
def pair() -> ResponseReturnValue:
    (one, hub_one), (other, hub_other) = _picked("one"), _picked("other")
    if hub_one == hub_other:
        raise HubError(400, "same_hub", gettext("Partner classes must be on two different hubs."))
    with writing():
        letters.pair_held(one, hub_one, other, hub_other)
    flash(gettext("The classes are partners; both hubs hear it with their next sync."))
    return redirect(url_for("central_pairs.index"), 303)


@bp.post("/pairs/<uid>/end")
@staff_only
def end(uid: str) -> ResponseReturnValue:
    if ClassPair.get_or_none(ClassPair.uid == uid) is None:
        raise HubError(404, "no_such_pairing", gettext("There is no such pairing."))
    with writing():
        letters.unpair(uid)
    flash(gettext("The pairing ended; no more letters travel between the two classes."))
    return redirect(url_for("central_pairs.index"), 303)
