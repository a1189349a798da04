"""The hub's key pair and public identity."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from sync.identity import (
    IdentityError,
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
