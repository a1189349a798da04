"""The index's life beside the library: updated in the same operation, by one writer, from
this process or another; rebuilt when missing, damaged or behind; answering throughout."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from hub.cli.common import prepare_data_dir
from hub.cli.search import search as search_cli
from hub.core.db import connected, open_database
from hub.core.settings import Config
from hub.library import cache
from hub.library.models import LibraryState
from hub.library.packs import Library
from hub.search import service as service_module
from hub.search.service import SearchService
from hub.web.app import create_app
from tests.conftest import ROOT
from tests.content_helpers import write_pack_dir
from tests.test_search import PACKS, add_search, afya_sw, import_packs, science_en, science_fr


@pytest.fixture
def hub(app: Flask, config: Config, tmp_path: Path) -> Flask:
    """An app with search and the four-language library."""
    add_search(app, config)
    import_packs(app, tmp_path / "packs")
    yield app
    app.extensions["search"].wait_idle()


def service(app: Flask) -> SearchService:
    return app.extensions["search"]


def keys(app: Flask, q: str, **params: object) -> list[str]:
    response = app.test_client().get("/api/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.text
    return [f"{r['pack_id']}/{r['lesson_id']}" for r in response.json["results"]]


def answer(app: Flask, q: str) -> dict:
    response = app.test_client().get("/api/search", query_string={"q": q})
    assert response.status_code == 200, response.text
    return response.json


def restart(config: Config) -> Flask:
    """A new app on the same data dir, as after `learnhub serve` starts again."""
    return add_search(create_app(prepare_data_dir(config)), config)


def index_generation(app: Flask) -> int | None:
    return service(app).index.generation()


def db_generation(config: Config) -> int:
    open_database(config.db_path, config.database_cache_bytes)
    with connected():
        return LibraryState.current()


def pack_dir(root: Path, make, **changes: object) -> Path:
    manifest, files = make()
    manifest.update(changes)
    return write_pack_dir(root / f"{manifest['id']}-{manifest['version']}", manifest, files)


# --- Same operation, one writer ------------------------------------------------------------------


def test_index_follows_import_upgrade_and_remove(
    hub: Flask, config: Config, tmp_path: Path
) -> None:
    library = hub.extensions["library"]
    assert index_generation(hub) == db_generation(config)
    assert "science-en/running" in keys(hub, "breathing")

    manifest, files = science_en()
    manifest["version"] = "1.1.0"
    manifest["lessons"][0]["title"] = "Jogging and breathing"
    folder = write_pack_dir(tmp_path / "upgrade", manifest, files)
    assert library.import_paths([folder])[0].result.action == "upgraded"
    assert keys(hub, "jogging") == ["science-en/running"]
    assert index_generation(hub) == db_generation(config)

    library.remove("science-en")
    assert keys(hub, "breathing") == [] and keys(hub, "jogging") == []
    assert "sciences-fr/equations" in keys(hub, "equation")  # the other packs stay
    assert index_generation(hub) == db_generation(config)
    assert service(hub).suggested("jog").items == []


def test_a_failed_index_update_does_not_fail_the_import(
    hub: Flask, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service(hub).index, "replace_packs", broken)
    library = hub.extensions["library"]
    library.remove("afya-sw")
    assert "search index not updated" in caplog.text
    assert index_generation(hub) == db_generation(config) - 1  # behind: caught up at start
    monkeypatch.undo()
    again = restart(config)
    assert service(again).wait_idle()
    assert keys(again, "mikono") == []


def test_a_cli_process_updates_the_index_a_server_searches(
    hub: Flask, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`learnhub content remove` in another process (wired as hub/cli/common.py's open_library)."""
    now = [1000.0]
    monkeypatch.setattr(cache, "_clock", lambda: now[0])
    cache.library_changed()
    assert keys(hub, "mikono") == ["afya-sw/kunawa"]
    run_cli_process(config, "library.remove('afya-sw')")
    # Answers are kept per library generation, which the server reads again within
    # RECHECK_SECONDS of a change another process made (as it does for pages).
    now[0] += cache.RECHECK_SECONDS
    assert keys(hub, "mikono") == []  # the server's searchers move to the new generation
    assert index_generation(hub) == db_generation(config)


def run_cli_process(config: Config, action: str) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from hub.core.datadir import prepare
        from hub.core.db import db
        from hub.library.packs import Library
        from hub.search.service import attach
        from hub.core.settings import load_config

        data = Path({str(config.data_dir)!r})
        config = load_config(data, {{"load_samples": False}}, environ={{}})
        prepare(config)
        with db.connection_context():
            library = Library(config)
            attach(library, config)
            {action}
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_search_never_fails_while_imports_commit(
    hub: Flask, config: Config, tmp_path: Path
) -> None:
    library = hub.extensions["library"]
    stop = threading.Event()
    answers: list[tuple[int, int]] = []
    failures: list[BaseException] = []

    def student() -> None:
        client = hub.test_client()
        try:
            while not stop.is_set():
                for q in ("breathing", "equation", "mikono", "photosyntesis", '"water cycle"'):
                    response = client.get("/api/search", query_string={"q": q})
                    answers.append((response.status_code, len(response.json.get("results", []))))
        except BaseException as err:
            failures.append(err)

    students = [threading.Thread(target=student) for _ in range(3)]
    for thread in students:
        thread.start()
    try:
        for version in range(1, 6):
            for make in (science_en, afya_sw):
                folder = pack_dir(tmp_path, make, version=f"1.{version}.0")
                assert library.import_paths([folder])[0].error is None
            library.remove("sciences-fr")
            import_packs(hub, tmp_path / f"fr-{version}", (science_fr,))
    finally:
        stop.set()
        for thread in students:
            thread.join(30)
    assert not failures
    assert answers and {status for status, _ in answers} == {200}
    assert sum(n for _, n in answers) > 0


def test_search_never_fails_while_another_process_imports(
    hub: Flask, config: Config, tmp_path: Path
) -> None:
    folders = [pack_dir(tmp_path, science_en, version=f"2.{n}.0") for n in range(4)]
    stop = threading.Event()
    statuses: list[int] = []

    def student() -> None:
        client = hub.test_client()
        while not stop.is_set():
            statuses.append(client.get("/api/search?q=breathing").status_code)

    thread = threading.Thread(target=student)
    thread.start()
    try:
        paths = ", ".join(f"Path({str(f)!r})" for f in folders)
        run_cli_process(config, f"library.import_paths([{paths}])")
    finally:
        stop.set()
        thread.join(30)
    assert statuses and set(statuses) == {200}
    assert index_generation(hub) == db_generation(config)


# --- Noticed at start, rebuilt without stopping service ------------------------------------------


def test_rebuild_after_the_index_directory_is_deleted(hub: Flask, config: Config) -> None:
    service(hub).index.close()
    shutil.rmtree(config.data_dir / "search")
    again = restart(config)
    assert answer(again, "breathing")["total"] in (0, 1)  # answered while it rebuilds
    assert service(again).wait_idle()
    assert keys(again, "breathing") == ["science-en/running"]
    assert index_generation(again) == db_generation(config)


def test_index_deleted_under_a_running_server(hub: Flask, config: Config) -> None:
    shutil.rmtree(config.data_dir / "search")
    service(hub)._checked_at = 0
    body = answer(hub, "breathing")
    assert body["total"] in (0, 1)
    assert service(hub).wait_idle()
    assert keys(hub, "breathing") == ["science-en/running"]


def damage_index(folder: Path, damage: str) -> None:
    (current,) = folder.glob("index-*.sqlite")
    for extra in folder.glob("index-*.sqlite-*"):  # its WAL: the damage is in the file itself
        extra.unlink()
    if damage == "garbage":
        current.write_bytes(b"\x80\x04not a database at all" * 500)
    elif damage == "truncated":
        current.write_bytes(current.read_bytes()[:3000])
    elif damage == "older version":
        with sqlite3.connect(current) as db:
            db.execute("UPDATE meta SET value = 1 WHERE key = 'schema'")
        db.close()
    elif damage == "empty dir":
        shutil.rmtree(folder)
        folder.mkdir()
    elif damage == "whoosh":  # the index of hubs before FTS5
        shutil.rmtree(folder)
        folder.mkdir()
        (folder / "_MAIN_3.toc").write_bytes(b"\x80\x04not ours")
        (folder / "MAIN_abc.seg").write_bytes(bytes(1000))
    else:
        shutil.rmtree(folder)
        folder.mkdir()
        (folder / "notes.txt").write_text("someone else's files")


@pytest.mark.parametrize(
    "damage", ["garbage", "truncated", "older version", "empty dir", "whoosh", "foreign"]
)
def test_a_damaged_index_is_rebuilt_at_start(hub: Flask, config: Config, damage: str) -> None:
    service(hub).index.close()
    folder = config.data_dir / "search"
    damage_index(folder, damage)
    again = restart(config)
    answer(again, "breathing")
    assert service(again).wait_idle()
    assert keys(again, "breathing") == ["science-en/running"]
    # The new file is all that is left: nothing foreign or stale is kept beside it.
    assert [p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm"))] == [
        service(again).index.current().name
    ]


def test_an_index_behind_the_database_is_rebuilt_at_start(
    hub: Flask, config: Config, tmp_path: Path
) -> None:
    """A crash between the library's commit and the index's: the library moved on alone."""
    unhooked = Library(config)  # no search listener: as if the process died before it ran
    manifest, files = science_en()
    manifest.update(id="science-en-2", version="1.0.0")
    manifest["lessons"][0]["title"] = "Sprinting and breathing"
    assert (
        unhooked.import_paths([write_pack_dir(tmp_path / "p2", manifest, files)])[0].error is None
    )
    assert index_generation(hub) == db_generation(config) - 1
    again = restart(config)
    assert service(again).wait_idle()
    assert keys(again, "sprinting") == ["science-en-2/running"]


def test_a_running_server_catches_up_with_a_crashed_writer(
    hub: Flask, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "CHECK_EVERY_SECONDS", 0.0)
    Library(config).remove("afya-sw")  # the library changes; nothing tells the index
    answer(hub, "mikono")  # this search notices, and starts a rebuild
    assert service(hub).wait_idle()
    assert keys(hub, "mikono") == []


def test_searches_during_a_rebuild_use_the_old_index(
    hub: Flask, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    started = threading.Event()
    real = service(hub)._rebuild_locked

    def slow(generation: int, progress: object = None) -> int:
        started.set()
        release.wait(30)
        return real(generation, progress)

    monkeypatch.setattr(service(hub), "_rebuild_locked", slow)
    service(hub)._start_job("rebuild", lambda: service(hub).rebuild())
    assert started.wait(10)
    body = answer(hub, "breathing")
    assert body["results"][0]["lesson_id"] == "running"
    assert body["notice"]["code"] == "updating"
    release.set()
    assert service(hub).wait_idle()
    assert answer(hub, "breathing")["notice"] is None


def test_searches_without_any_usable_index_say_so(
    hub: Flask, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = service(hub)._rebuild_locked
    monkeypatch.setattr(service(hub), "_rebuild_locked", lambda g: release.wait(30) and real(g))
    service(hub).index.close()
    shutil.rmtree(config.data_dir / "search")
    for path in ("/api/search?q=breathing", "/search?q=breathing", "/api/search/suggest?q=br"):
        assert hub.test_client().get(path).status_code == 200
    body = answer(hub, "breathing")
    assert body["total"] == 0 and body["notice"]["code"] == "rebuilding"
    assert "being rebuilt" in hub.test_client().get("/search?q=breathing").text
    release.set()
    assert service(hub).wait_idle()
    assert keys(hub, "breathing") == ["science-en/running"]


def test_an_empty_hub_makes_no_index_and_no_notice(app: Flask, config: Config) -> None:
    add_search(app, config)
    assert answer(app, "anything") == {
        "query": "anything",
        "total": 0,
        "page": 1,
        "pages": 0,
        "results": [],
        "facets": {f: [] for f in ("language", "subject", "grade", "kind", "pack", "source")},
        "suggestion": None,
        "notice": None,
    }
    assert not (config.data_dir / "search").exists()


# --- learnhub search rebuild ---------------------------------------------------------------------


def test_cli_rebuild(hub: Flask, config: Config) -> None:
    service(hub).index.close()
    shutil.rmtree(config.data_dir / "search")
    result = CliRunner().invoke(search_cli, ["rebuild", "--data", str(config.data_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("search index rebuilt: 15 lessons in ")
    assert keys(restart(config), "breathing") == ["science-en/running"]


def test_cli_rebuild_errors_are_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "learnhub.toml").write_text("port = [")
    result = CliRunner().invoke(search_cli, ["rebuild", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "is not valid TOML" in result.stderr


def test_rebuild_logs_what_it_did(hub: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="hub.search.service"):
        assert service(hub).rebuild() == sum(len(make()[0]["lessons"]) for make in PACKS)
    assert "search index rebuilt: 15 lessons" in caplog.text


def test_an_overloaded_hub_says_the_search_failed_and_rebuilds_nothing(
    hub: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*_args: object) -> None:
        raise TimeoutError("every search connection stayed busy")

    monkeypatch.setattr(service(hub).index._pool, "acquire", busy)
    body = answer(hub, "breathing")
    assert body["total"] == 0 and body["notice"]["code"] == "failed"
    assert not service(hub).busy("rebuild")
    monkeypatch.undo()
    assert keys(hub, "breathing") == ["science-en/running"]


def test_an_index_damaged_under_a_running_server_is_rebuilt(hub: Flask) -> None:
    """Damage inside FTS5's own tables: the file opens and records the right generation,
    only searches fail. The index's check finds it, and the index is rebuilt anyway."""
    path = service(hub).index.current()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM fts_en_data WHERE id > 1")  # the English index's segments
    db.close()
    assert service(hub).index.generation() is not None  # still looks current
    body = answer(hub, "breathing")
    assert body["total"] == 0 and body["notice"]["code"] == "rebuilding"
    assert service(hub).wait_idle()
    assert keys(hub, "breathing") == ["science-en/running"]
    assert service(hub).index.healthy()
