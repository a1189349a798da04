"""First run and every run: the data dir, the secret key, the database schema."""

from __future__ import annotations

import os
import secrets
from importlib.resources import files
from pathlib import Path

from hub.db import db, open_database
from hub.migrations import migrate
from hub.settings import Config
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


def secret_file(path: Path) -> str:
    """A random secret kept in `path`: made (0600, fsynced) the first time, then read."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32))
        handle.flush()
        os.fsync(handle.fileno())
    return path.read_text(encoding="ascii").strip()
