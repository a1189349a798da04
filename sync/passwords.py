"""The one password and PIN hasher, for the hub's staff and learners and for central's staff.

It lives in `sync/` because both sides must import it and the layering allows only one
direction: the hub (hub/people) imports `sync`, central's logic (sync/central/staff.py) is
`sync` and never imports `hub`.

Hashes are in werkzeug's format (`method$salt$hex`), which the hub stored before this module,
made here with hashlib because a library imports no web framework (tests/test_layering.py).
Each hash carries its own parameters, so hashes made with other ones still check. Central's
staff hashes made before this module (`scrypt$<base64 salt>$<base64 key>`, scrypt n=2**14 r=8
p=1) still check too.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import string
import threading

# The shortest password a staff account may have, on a hub and at central.
MIN_PASSWORD = 8
# scrypt with 16 MiB (werkzeug's default takes 32 MiB and twice the time).
PASSWORD_METHOD = "scrypt:16384:8:1"
PIN_METHOD = "pbkdf2:sha256:20000"
# At most two secrets checked at once: a check is pure CPU on a 2-4 core Pi, so more at once
# adds only memory (16 MiB a password), never speed.
_CHECKING = threading.BoundedSemaphore(2)
# Central's own format before this module: "scrypt$" then base64 salt and key.
_OLD_CENTRAL = "scrypt$"
_OLD_CENTRAL_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# werkzeug's salt: 16 letters and digits; its default pbkdf2 rounds for hashes that name none.
_SALT_CHARS = string.ascii_letters + string.digits
_PBKDF2_ROUNDS = 1_000_000


def hash_secret(secret: str) -> str:
    """A password's hash."""
    return _hashed(secret, PASSWORD_METHOD)


def hash_pin(pin: str) -> str:
    """PINs get a cheaper hash than passwords: 10,000 PINs cannot be made strong by cost (the
    sign-in throttle is their guard), and a class list of 5,000 must import in minutes on a Pi."""
    return _hashed(pin, PIN_METHOD)


def check_secret(hashed: str | None, secret: str, *, method: str = PASSWORD_METHOD) -> bool:
    """Whether `secret` matches `hashed`. With no hash (an unknown name) a stand-in made with
    `method` is checked instead, so the answer takes as long as for a name that exists."""
    with _CHECKING:
        if hashed is not None and hashed.startswith(_OLD_CENTRAL):
            return _check_old_central(hashed, secret)
        return _matches(hashed or _stand_in(method), secret) and hashed is not None


@functools.cache
def _stand_in(method: str) -> str:
    return _hashed("not a real secret", method)


def _hashed(secret: str, method: str) -> str:
    salt = "".join(secrets.choice(_SALT_CHARS) for _ in range(16))
    return f"{method}${salt}${_digest(method, salt, secret)}"


def _matches(hashed: str, secret: str) -> bool:
    try:
        method, salt, expected = hashed.split("$", 2)
    except ValueError:
        return False
    return hmac.compare_digest(_digest(method, salt, secret), expected)


def _digest(method: str, salt: str, secret: str) -> str:
    """The hex digest werkzeug's `method` (scrypt:N:R:P or pbkdf2:HASH:ROUNDS) makes."""
    name, *args = method.split(":")
    if name == "scrypt":
        n, r, p = map(int, args) if args else (2**15, 8, 1)
        key = hashlib.scrypt(
            secret.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p
        )
        return key.hex()
    if name == "pbkdf2" and len(args) <= 2:
        algorithm = args[0] if args else "sha256"
        rounds = int(args[1]) if len(args) == 2 else _PBKDF2_ROUNDS
        return hashlib.pbkdf2_hmac(algorithm, secret.encode(), salt.encode(), rounds).hex()
    raise ValueError(f"Invalid hash method {method!r}.")


def _check_old_central(hashed: str, secret: str) -> bool:
    try:
        _, salt, key = hashed.split("$")
        expected = base64.b64decode(key)
        got = hashlib.scrypt(
            secret.encode(), salt=base64.b64decode(salt), **_OLD_CENTRAL_SCRYPT, dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)
