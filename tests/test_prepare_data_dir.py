"""Preparing a data dir is a step of its own (hub.cli.common.prepare_data_dir, which `learnhub
serve` runs), and create_app only wires an app over a prepared one: it changes nothing there,
and over a dir that is not ready it stops with one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.cli.common import prepare_data_dir
from hub.core.datadir import NotPrepared
from hub.core.db import db
from hub.core.settings import Config, load_config
from hub.web.app import create_app


def one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and message.count(". ") == 0


def files_of(config: Config) -> dict[str, tuple[int, int]]:
    """Every file under the data dir with its size and mtime; SQLite's -wal and -shm come and
    go with connections, so they are left out."""
    return {
        str(path.relative_to(config.data_dir)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(config.data_dir.rglob("*"))
        if path.is_file() and not path.name.endswith(("-wal", "-shm"))
    }


def test_create_app_over_a_missing_data_dir_says_so_and_makes_nothing(tmp_path: Path) -> None:
    config = load_config(tmp_path / "data", {"load_samples": False}, environ={})
    with pytest.raises(NotPrepared) as refused:
        create_app(config)
    message = str(refused.value)
    assert one_sentence(message), message
    assert str(config.data_dir) in message and "prepare_data_dir" in message
    assert not config.data_dir.exists()


def test_create_app_over_a_schema_left_behind_says_which_migration(tmp_path: Path) -> None:
    config = prepare_data_dir(load_config(tmp_path / "data", {"load_samples": False}, environ={}))
    with db.connection_context():
        db.execute_sql("DELETE FROM schema_migration WHERE version = 2")
    with pytest.raises(NotPrepared, match=r"schema migrations \[2\] not applied") as refused:
        create_app(config)
    assert one_sentence(str(refused.value))


def test_create_app_changes_nothing_in_a_prepared_data_dir(tmp_path: Path) -> None:
    config = prepare_data_dir(load_config(tmp_path / "data", {"load_samples": True}, environ={}))
    before = files_of(config)
    assert config.db_path.name in before
    app = create_app(config)
    app.extensions["search"].wait_idle()  # the index was built with the samples: nothing to do
    assert files_of(config) == before  # (serving writes, the clock's "last seen" for one)


def test_preparing_twice_keeps_the_keys_and_loads_the_samples_once(tmp_path: Path) -> None:
    config = load_config(tmp_path / "data", {"load_samples": True}, environ={})
    first = create_app(prepare_data_dir(config))
    packs = first.extensions["library"].is_empty()
    again = create_app(prepare_data_dir(config))
    assert not packs and again.extensions["keys"].hub_id == first.extensions["keys"].hub_id
    assert again.config["SECRET_KEY"] == first.config["SECRET_KEY"]
