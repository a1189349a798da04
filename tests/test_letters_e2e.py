"""Partner classes end to end: two real hubs and a real central (SQLite and PostgreSQL). Central
pairs 4A on hub A with 5B on hub B; a learner of 4A writes with a photo, A's coach approves,
the letter travels via central to B, B's coach approves, a learner of 5B reads it, and A sees
sent -> at central -> delivered -> read. Once by USB folders only, once over HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.learning import letters
from hub.learning.letter_models import ClassPartner, Letter
from hub.people.models import ClassGroup, Learner
from hub.people.roster import add_class, add_learner
from hub.web.app import create_app
from tests.central_helpers import central_argv, clean_env, database_args
from tests.test_sync_hub_e2e import learnhub

pytestmark = pytest.mark.server
pytest_plugins = ["tests.central_fixtures", "tests.letters_fixtures"]

Carry = Callable[[Path], object]  # one sync of a hub with central, by USB or HTTP

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(200)


def run_central(data: Path, url: str | None, *args: str) -> str:
    head = 2 if args[0] == "hubs" else 1  # a group's subcommand takes the options
    argv = central_argv(*args[:head], "--data", str(data), *database_args(url), *args[head:])
    result = subprocess.run(argv, capture_output=True, text=True, env=clean_env(), timeout=120)
    assert result.returncode == 0, f"central {args}: {result.stdout}{result.stderr}"
    return result.stdout


def open_hub(data: Path, name: str = "") -> None:
    """Point this process's hub database at `data` (one hub at a time)."""
    overrides = {"load_samples": False, **({"hub_name": name} if name else {})}
    create_app(prepare_data_dir(load_config(data, overrides, environ={})))


def make_hub(data: Path, name: str, class_name: str) -> str:
    open_hub(data, name)
    with connected():
        group = add_class(class_name)
        add_learner(f"Learner of {name}", classes=[group])
    return group.uid


def enrol(hub: Path, central_data: Path, url: str | None, tmp_path: Path) -> str:
    identity = tmp_path / f"{hub.name}-identity.json"
    identity.write_text(learnhub("sync", "identity", "--data", str(hub)).stdout)
    run_central(central_data, url, "hubs", "add", str(identity))
    trust = tmp_path / "central-identity.json"
    trust.write_text(run_central(central_data, url, "identity"))
    learnhub("sync", "trust", str(trust), "--data", str(hub))
    return str(json.loads(identity.read_text())["hub_id"])


def letter_on(data: Path, uid: str) -> Letter:
    open_hub(data)
    with connected():
        return Letter.get(Letter.uid == uid)


def test_a_letter_travels_both_ways(
    two_hubs: tuple[Path, Path, Path, str | None], tmp_path: Path, carry: Carry
) -> None:
    a, b, central_data, url = two_hubs
    _round_trip(a, b, central_data, url, tmp_path, carry)


def _round_trip(
    a: Path, b: Path, central_data: Path, url: str | None, tmp_path: Path, carry: Carry
) -> None:
    hub_a = enrol(a, central_data, url, tmp_path)
    hub_b = enrol(b, central_data, url, tmp_path)
    carry(a)  # the classes reach central
    carry(b)
    run_central(central_data, url, "pair", f"4A@{hub_a}", f"5B@{hub_b}")
    carry(a)  # the pairing reaches both hubs
    carry(b)

    open_hub(a)
    with connected():
        group = ClassGroup.get(ClassGroup.name == "4A")
        [partner] = ClassPartner.active_of(group.uid)
        assert partner.partner_class == "5B"
        writer = Learner.get(Learner.display_name == "Learner of Mwanga")
        store = letters.store_of(a)
        # A learner of another class, or to a class not paired, cannot write.
        with pytest.raises(letters.LetterError):
            letters.compose(store, writer, group, "0" * 32, "Hi", "sw", [])
        with pytest.raises(letters.LetterError):
            letters.compose(store, writer, group, partner.partner_class_uid, "x", "sw", [b"<svg/>"])
        letter = letters.compose(
            store, writer, group, partner.partner_class_uid, "Habari <b>5B</b>!", "sw", [JPEG]
        )
        uid = letter.uid
        carry_before_approval = letters.outgoing(store)
        assert not carry_before_approval.letters  # not approved: it does not travel
        letters.decide(letter, approve=True)

    carry(a)
    assert letter_on(a, uid).state == "at_central"
    carry(b)  # B gets the letter, waiting for its coach
    open_hub(b)
    with connected():
        arrived = Letter.get(Letter.uid == uid)
        assert arrived.state == "waiting" and arrived.text == "Habari <b>5B</b>!"
        assert letters.store_of(b).has(arrived.files()[0]["sha256"])
    carry(b)  # tells central it has it
    carry(a)
    assert letter_on(a, uid).state == "delivered"
    open_hub(b)
    with connected():
        arrived = Letter.get(Letter.uid == uid)
        letters.decide(arrived, approve=True)
        letters.mark_read(Letter.get(Letter.uid == uid))
    carry(b)
    carry(a)
    assert letter_on(a, uid).state == "read"
    carry(a)  # nothing moves twice
    assert letter_on(a, uid).state == "read"
