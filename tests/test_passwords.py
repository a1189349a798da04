"""The one password and PIN hasher (sync.passwords), shared by the hub and central: central's
staff hashes from before it (its own scrypt format) still check."""

from __future__ import annotations

import base64
import hashlib

import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from sync.passwords import PASSWORD_METHOD, PIN_METHOD, check_secret, hash_pin, hash_secret


def old_central_hash(password: str, salt: bytes = b"0123456789abcdef") -> str:
    """What sync/central/staff.py stored before the hasher was shared."""
    key = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def test_passwords_and_pins_check_with_their_own_method() -> None:
    password, pin = hash_secret("long enough"), hash_pin("2580")
    assert password.startswith(PASSWORD_METHOD + "$") and pin.startswith(PIN_METHOD + "$")
    assert check_secret(password, "long enough") and not check_secret(password, "long enougH")
    assert check_secret(pin, "2580", method=PIN_METHOD) and not check_secret(pin, "2581")


def test_an_unknown_name_never_checks() -> None:
    assert not check_secret(None, "not a real secret")
    assert not check_secret(None, "not a real secret", method=PIN_METHOD)


def test_central_staff_hashes_from_before_still_check() -> None:
    stored = old_central_hash("long enough")
    assert check_secret(stored, "long enough")
    assert not check_secret(stored, "wrong password")
    assert not check_secret("scrypt$not base64$", "long enough")


@pytest.mark.parametrize("method", [PASSWORD_METHOD, PIN_METHOD, "scrypt:32768:8:1", "pbkdf2"])
def test_the_format_is_werkzeugs_both_ways(method: str) -> None:
    # The hub stored werkzeug's hashes before sync.passwords; both must keep checking.
    theirs = generate_password_hash("2580 or a password", method=method)
    assert check_secret(theirs, "2580 or a password") and not check_secret(theirs, "2581")
    ours = hash_secret("long enough")
    assert check_password_hash(ours, "long enough")


def test_one_rule_finds_a_typed_name_on_the_hub_and_at_central() -> None:
    from sync.names import find_by_name

    accounts = {"amina-juma": "by the rule", "mr.okello": "named before the rule"}
    assert find_by_name("  Amina Juma ", accounts.get) == "by the rule"
    assert find_by_name("amina-juma", accounts.get) == "by the rule"
    assert find_by_name("Mr.Okello", accounts.get) == "named before the rule"
    assert find_by_name("   ", accounts.get) is None
    both = {"amina-juma": "the rule's", "amina_juma": "older"}
    assert find_by_name("Amina_Juma", both.get) == "the rule's"  # the rule's name comes first
