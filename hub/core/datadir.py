"""First run and every run: the data dir, the secret key, the database schema."""

from __future__ import annotations

import contextlib
import secrets
from importlib.resources import files
from pathlib import Path

from content.durable import write_bytes
from hub.core.db import db, open_database
from hub.core.migrations import migrate
from hub.core.settings import Config
from sync.identity import KeyPair, load_or_create


def samples_dir() -> Path:
    """The embedded default library shipped inside the `content` package."""
    return Path(str(files("content") / "samples"))


def prepare(config: Config) -> KeyPair:
    """Create what is missing (dir, keys, database) and bring the schema up to date; returns
    the hub's identity key pair."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    read_secret_key(config)
    keys = load_or_create(config.data_dir)
    open_database(config.db_path)
    with db.connection_context():
        migrate(db)
    return keys


def read_secret_key(config: Config) -> str:
    """The key that signs session cookies: made once, readable by the hub's user only."""
    return secret_file(config.secret_key_path)


# A key from secrets.token_hex(32) has 64 characters; anything shorter was cut by a crash of
# an older version (which created the file before writing it) and is made anew.
SECRET_CHARS = 64


def secret_file(path: Path) -> str:
    """A random secret kept in `path`: made (0600, written whole) the first time, then read."""
    secret = _read_secret(path)
    if secret is not None:
        return secret
    # Create-only when there is no file, so two processes starting at once share one key.
    with contextlib.suppress(FileExistsError):
        new = secrets.token_hex(32).encode("ascii")
        write_bytes(path, new, mode=0o600, exclusive=not path.exists())
    secret = _read_secret(path)
    if secret is None:
        raise OSError(f"{path} cannot be read back after it was written")
    return secret


def _read_secret(path: Path) -> str | None:
    try:
        secret = path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError, ValueError):
        return None
    return secret if len(secret) >= SECRET_CHARS else None
