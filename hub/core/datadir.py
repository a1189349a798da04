"""First run and every run: the data dir, the secret key, the database schema.

`prepare` makes them (the CLI runs it before anything else); `open_prepared` only checks
they are there and binds the database, for the app factory, which must not change a data dir
by being called (as flaskr keeps `init-db` out of `create_app`).
"""

from __future__ import annotations

import contextlib
import secrets
from importlib.resources import files
from pathlib import Path

from peewee import DatabaseError

from content.durable import write_bytes
from hub.core.db import connected, db, open_database
from hub.core.migrations import MIGRATIONS, migrate
from hub.core.settings import Config
from sync.identity import KEY_FILE, KeyPair, load_or_create


class NotPrepared(RuntimeError):
    """The data dir lacks what `prepare` makes; str() is one sentence."""


def samples_dir() -> Path:
    """The embedded default library shipped inside the `content` package."""
    return Path(str(files("content") / "samples"))


def prepare(config: Config) -> KeyPair:
    """Create what is missing (dir, keys, database) and bring the schema up to date; returns
    the hub's identity key pair."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    read_secret_key(config)
    keys = load_or_create(config.data_dir)
    open_database(config.db_path, config.database_cache_bytes)
    with db.connection_context():
        migrate(db)
    return keys


def open_prepared(config: Config) -> KeyPair:
    """Bind the database of a data dir `prepare` made, and return the hub's key pair, writing
    nothing; NotPrepared when a part is missing or the schema is behind this code."""
    missing = _missing(config)
    if missing:
        raise NotPrepared(
            f"The data dir {config.data_dir} is not prepared ({missing}): call "
            "prepare_data_dir(config) from hub.cli.common before create_app, as `learnhub "
            "serve` does."
        )
    return load_or_create(config.data_dir)  # it exists, so this only reads it


def _missing(config: Config) -> str:
    """What `prepare` would still have to make, in a few words; "" when nothing."""
    key = config.data_dir / KEY_FILE
    if not config.data_dir.is_dir():
        return "no such directory"
    if _read_secret(config.secret_key_path) is None:
        return f"no secret key in {config.secret_key_path.name}"
    if not key.is_file() or key.stat().st_size == 0:
        return f"no hub key in {KEY_FILE}"
    # SQLite would create a missing file on connecting: look before binding.
    if not config.db_path.is_file():
        return "no database"
    open_database(config.db_path, config.database_cache_bytes)
    try:
        with connected():
            applied = {row[0] for row in db.execute_sql("SELECT version FROM schema_migration")}
    except DatabaseError:
        return "no schema"
    behind = sorted({version for version, _, _ in MIGRATIONS} - applied)
    return f"schema migrations {behind} not applied" if behind else ""


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
