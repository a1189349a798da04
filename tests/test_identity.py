"""The hub's key pair and public identity."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sync.identity import (
    PUBLIC_FILE,
    IdentityError,
    KeyPair,
    load_or_create,
    parse_identity,
    public_identity,
    verify,
)


def test_key_is_made_once_private_and_stable(tmp_path: Path) -> None:
    keys = load_or_create(tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / "hub_key").st_mode) == 0o600
    again = load_or_create(tmp_path)
    assert again.public_key == keys.public_key and again.hub_id == keys.hub_id
    assert len(keys.hub_id) == 20 and keys.hub_id.isalnum()
    other = tmp_path / "other"
    other.mkdir()
    assert load_or_create(other).hub_id != keys.hub_id


def test_a_hub_names_itself_without_loading_cryptography(tmp_path: Path) -> None:
    """Serving pages and announcing the hub id needs only the public key noted beside the
    seed: cryptography (about 9 MB of a hub's memory) is not loaded for it."""
    made = load_or_create(tmp_path)
    assert (tmp_path / PUBLIC_FILE).is_file()
    code = (
        "import sys; from pathlib import Path; from sync.identity import load_or_create; "
        f"keys = load_or_create(Path({str(tmp_path)!r})); print(keys.hub_id); "
        "print(any(m.startswith(('cryptography', 'nacl')) for m in sys.modules))"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [made.hub_id, "False"]


# What a hub's public key note may be found as: (its own note, another hub's) -> the file.
NOTES: dict[str, Callable[[bytes, bytes], bytes | None]] = {
    "another hub's": lambda mine, theirs: theirs,
    "damaged": lambda mine, theirs: mine[:-1] + bytes([mine[-1] ^ 1]),
    "zeros": lambda mine, theirs: b"\0" * 40,
    "short": lambda mine, theirs: mine[:20],
    "missing": lambda mine, theirs: None,
}


@pytest.mark.parametrize("note", sorted(NOTES))
def test_a_public_key_note_that_is_not_this_seeds_is_made_again(tmp_path: Path, note: str) -> None:
    """A seed restored beside another hub's note, with a damaged one or none: the key is
    derived from the seed, never taken from such a note, and the note is made right."""
    folders = {name: tmp_path / name for name in ("mine", "theirs")}
    for folder in folders.values():
        folder.mkdir()
        load_or_create(folder)
    path = folders["mine"] / PUBLIC_FILE
    given = NOTES[note](path.read_bytes(), (folders["theirs"] / PUBLIC_FILE).read_bytes())
    if given is None:
        path.unlink()
    else:
        path.write_bytes(given)
    again = load_or_create(folders["mine"])
    assert again.public_key == KeyPair(again.seed).public_key
    assert path.read_bytes()[8:] == again.public_key
    assert load_or_create(folders["mine"]).hub_id == again.hub_id


def test_a_key_pair_never_shows_its_seed(tmp_path: Path) -> None:
    keys = load_or_create(tmp_path)
    assert keys.seed.hex() not in repr(keys) and repr(keys.seed) not in repr(keys)
    with pytest.raises(IdentityError):
        KeyPair(b"short")


def test_signatures_verify_and_tampering_does_not(tmp_path: Path) -> None:
    keys = load_or_create(tmp_path)
    signature = keys.sign(b"bundle")
    assert verify(keys.public_key, signature, b"bundle")
    assert not verify(keys.public_key, signature, b"bundlE")
    assert not verify(keys.public_key, b"\0" * 64, b"bundle")
    assert not verify(b"short", signature, b"bundle")


def test_public_identity_round_trip(tmp_path: Path) -> None:
    keys = load_or_create(tmp_path)
    doc = public_identity(keys, "Mwanga Primary")
    assert parse_identity(doc) == (keys.hub_id, keys.public_key, "Mwanga Primary")


@pytest.mark.parametrize(
    "change",
    [
        {"format": "other/1"},
        {"public_key": "not base64!"},
        {"public_key": base64.b64encode(b"x" * 31).decode()},
        {"hub_id": "aaaaaaaaaaaaaaaaaaaa"},
        {"name": ""},
        {"name": "x" * 101},
    ],
)
def test_broken_identities_are_refused(tmp_path: Path, change: dict) -> None:
    doc = {**public_identity(load_or_create(tmp_path), "Hub"), **change}
    with pytest.raises(IdentityError):
        parse_identity(doc)


def test_a_damaged_key_file_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "hub_key").write_bytes(b"short")
    with pytest.raises(IdentityError, match="is not a hub key"):
        load_or_create(tmp_path)
