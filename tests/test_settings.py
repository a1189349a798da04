"""Settings: declared once, documented, layered defaults < file < environment < flags."""

from __future__ import annotations

import dataclasses
import os
import stat
import typing
from pathlib import Path

import pytest

from hub.core.datadir import prepare, read_secret_key
from hub.core.migrations import MIGRATIONS
from hub.core.settings import (
    SETTINGS,
    Config,
    SettingsError,
    default_data_dir,
    load_config,
)

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for setting in SETTINGS:
        assert setting.help.strip(), setting.name
        assert f"`{setting.name}`" in readme, f"{setting.name} is not documented in README.md"


def test_config_fields_are_the_settings_with_their_types() -> None:
    # SETTINGS is read from Config's fields, so the two cannot drift; each field's declared
    # type is its default's type (mypy sees the field's type, the layers coerce by the default).
    hints = typing.get_type_hints(Config)
    fields = [f.name for f in dataclasses.fields(Config)]
    assert fields == ["data_dir", *(s.name for s in SETTINGS)]
    for setting in SETTINGS:
        assert hints[setting.name] is type(setting.default), setting.name
    assert load_config(Path("/nonexistent"), environ={}) == Config(Path("/nonexistent"))


def test_layers_in_order(tmp_path: Path) -> None:
    (tmp_path / "learnhub.toml").write_text('port = 9000\nhub_name = "From file"\nthreads = 2\n')
    env = {"LEARNHUB_PORT": "9100", "LEARNHUB_HUB_NAME": "From env"}
    config = load_config(tmp_path, {"port": 9200}, environ=env)
    assert config.port == 9200  # flag beats env beats file
    assert config.hub_name == "From env"  # env beats file
    assert config.threads == 2  # file beats default
    assert config.default_language == "en"  # default


def test_none_override_means_flag_not_given(tmp_path: Path) -> None:
    config = load_config(tmp_path, {"port": None}, environ={"LEARNHUB_PORT": "9100"})
    assert config.port == 9100


def test_data_dir_from_environment_else_per_user(tmp_path: Path) -> None:
    assert default_data_dir({"LEARNHUB_DATA": str(tmp_path)}) == tmp_path
    assert default_data_dir({"XDG_DATA_HOME": "/x"}) == Path("/x/learnhub")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("port = ", "not valid TOML"),
        ('port = "eighty"', "must be int"),
        ("colour = 3", "Unknown setting"),
        ("load_samples = 3", "must be bool"),
    ],
)
def test_bad_config_file_is_one_clear_sentence(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "learnhub.toml").write_text(toml)
    with pytest.raises(SettingsError, match=message) as caught:
        load_config(tmp_path, environ={})
    assert "\n" not in str(caught.value)


def test_bad_environment_value(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="load_samples"):
        load_config(tmp_path, environ={"LEARNHUB_LOAD_SAMPLES": "maybe"})
    with pytest.raises(SettingsError, match="port"):
        load_config(tmp_path, environ={"LEARNHUB_PORT": "http"})


def test_loading_settings_touches_nothing(tmp_path: Path) -> None:
    load_config(tmp_path / "new", environ={})
    assert not (tmp_path / "new").exists()


def test_first_run_creates_dir_database_and_private_key(tmp_path: Path) -> None:
    config = load_config(tmp_path / "data", environ={})
    prepare(config)
    assert config.db_path.is_file()
    mode = stat.S_IMODE(os.stat(config.secret_key_path).st_mode)
    assert mode == 0o600
    key = read_secret_key(config)
    assert len(key) == 64
    prepare(config)  # a second run keeps the key and the schema
    assert read_secret_key(config) == key


def test_schema_migrations_are_recorded(tmp_path: Path) -> None:
    from hub.core.db import db

    config = load_config(tmp_path, environ={})
    prepare(config)
    with db.connection_context():
        versions = [r[0] for r in db.execute_sql("SELECT version FROM schema_migration")]
        journal = db.execute_sql("PRAGMA journal_mode").fetchone()[0]
    assert versions == [version for version, _, _ in MIGRATIONS]
    assert journal == "wal"


def test_each_database_connection_keeps_at_most_the_set_bytes_of_pages(tmp_path: Path) -> None:
    from hub.core.db import db

    for kib in (512, 128):
        config = load_config(tmp_path, environ={"LEARNHUB_DATABASE_CACHE_BYTES": str(kib * 1024)})
        prepare(config)
        with db.connection_context():
            assert db.execute_sql("PRAGMA cache_size").fetchone()[0] == -kib
    with pytest.raises(SettingsError, match="database_cache_bytes"):
        load_config(tmp_path, environ={"LEARNHUB_DATABASE_CACHE_BYTES": "1"})
