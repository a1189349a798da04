"""The one migration runner (sync.migrate) as the hub uses it: a database a newer hub migrated
is refused in one sentence, not written to. Central's side: test_central_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.main import main
from hub.core.datadir import prepare
from hub.core.db import db
from hub.core.settings import load_config
from sync.migrate import SchemaTooNew, migrate


def test_a_database_from_a_newer_hub_is_refused(tmp_path: Path) -> None:
    config = load_config(tmp_path, {"load_samples": False}, environ={})
    prepare(config)
    with db.connection_context():
        db.execute_sql(
            "INSERT INTO schema_migration (version, name, applied_at) VALUES (99, 'later', '')"
        )
    with pytest.raises(SchemaTooNew, match="schema version 99, newer than"):
        prepare(config)
    result = CliRunner().invoke(main, ["content", "list", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "The database is at schema version 99, newer than this version" in result.output


def test_each_step_runs_once_in_order(tmp_path: Path) -> None:
    ran: list[int] = []
    steps = [(n, f"step {n}", lambda _db, n=n: ran.append(n)) for n in (1, 2, 3)]
    config = load_config(tmp_path, {"load_samples": False}, environ={})
    prepare(config)
    with db.connection_context():
        assert migrate(db, "test_migration", steps[:2]) == [1, 2]
        assert migrate(db, "test_migration", steps) == [3]
    assert ran == [1, 2, 3]
