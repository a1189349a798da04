"""Kept search answers: a class asking the same thing at once costs the hub one search, and a
kept answer never outlives the index generation it was read from."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.cli.common import prepare_data_dir
from hub.core.settings import load_config
from hub.library import cache
from hub.search import engine, titles
from hub.web.app import create_app
from tests.test_search import add_search, import_packs, science_en


@pytest.fixture
def hub(tmp_path: Path) -> Flask:
    config = load_config(tmp_path / "data", {"load_samples": False}, environ={})
    app = add_search(create_app(prepare_data_dir(config)), config)
    import_packs(app, tmp_path, (science_en,))
    app.extensions["search"].wait_idle()
    return app


def counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[object]:
    calls: list[object] = []
    real = getattr(module, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def rebuilding(monkeypatch: pytest.MonkeyPatch, service: object, busy: bool) -> None:
    monkeypatch.setattr(service, "busy", lambda name="rebuild": busy)


def titles_for(client: FlaskClient, q: str, **params: str) -> list[str]:
    answer = client.get("/api/search", query_string={"q": q, **params})
    assert answer.status_code == 200, answer.text
    return [hit["title"] for hit in answer.json["results"]]


def test_the_same_search_runs_once(hub: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = counting(monkeypatch, engine, "run")
    client = hub.test_client()
    first = [titles_for(client, "water") for _ in range(3)]
    assert len(runs) == 1 and first[0] == first[2] and first[0][0] == "The water cycle"
    assert client.get("/search", query_string={"q": "water"}).status_code == 200
    assert len(runs) == 1  # the page and the API share the answer
    titles_for(client, "water", page="2")
    titles_for(client, "water", kind="video")
    assert len(runs) == 3  # another page or filter is another search
    kept = {entry["name"]: entry for entry in cache.stats()}["search answers"]
    assert kept["entries"] >= 3 and 0 < kept["bytes"] <= kept["budget"]


def test_suggestions_are_kept_per_reader(hub: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = counting(monkeypatch, titles, "suggest")
    monkeypatch.setattr("hub.search.service.suggest", titles.suggest)
    client = hub.test_client()
    for _ in range(3):
        found = client.get("/api/search/suggest?q=wat").json["suggestions"]
        assert [s["title"] for s in found] == ["The water cycle"]
    assert len(asked) == 1
    client.get("/api/search/suggest?q=wat", headers={"Accept-Language": "fr"})
    assert len(asked) == 2  # another reader may rank other languages first


def test_a_change_to_the_library_is_never_hidden_by_a_kept_answer(
    hub: Flask, tmp_path: Path
) -> None:
    client = hub.test_client()
    assert titles_for(client, "fractions") == ["Fractions"]
    assert client.get("/api/search/suggest?q=fra").json["suggestions"]
    library = hub.extensions["library"]
    library.remove("science-en")
    hub.extensions["search"].wait_idle()
    assert titles_for(client, "fractions") == []
    assert client.get("/api/search/suggest?q=fra").json["suggestions"] == []


def test_a_kept_answer_is_not_marked_by_a_rebuild(
    hub: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = hub.extensions["search"]
    client = hub.test_client()
    rebuilding(monkeypatch, service, True)
    busy = client.get("/api/search?q=water").json
    assert busy["notice"]["code"] == "updating"
    rebuilding(monkeypatch, service, False)
    assert client.get("/api/search?q=water").json["notice"] is None


def test_a_visitors_results_page_is_kept_only_when_settled(
    hub: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = hub.extensions["search"]
    visitor = hub.test_client()
    rebuilding(monkeypatch, service, True)
    catching_up = visitor.get("/search?q=water")
    assert catching_up.headers["Cache-Control"] == "no-store"
    assert "being updated" in catching_up.text
    rebuilding(monkeypatch, service, False)
    settled = visitor.get("/search?q=water")
    assert "being updated" not in settled.text and "no-store" not in str(settled.cache_control)
    runs = counting(monkeypatch, engine, "run")
    monkeypatch.setattr("hub.web.views.search.render_template", None)  # a kept page renders nothing
    assert visitor.get("/search?q=water").data == settled.data and runs == []
