"""/api/share, the serving side of hub-to-hub copies: off unless the operator turns sharing on,
packs only (never learner data), blobs by sha256 with byte ranges for resuming."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.core.settings import Config, load_config
from hub.library.models import PackFile
from hub.web.app import create_app
from tests.conftest import SAMPLES

PACK = "fractions-en"


@pytest.fixture
def sharing_app(data_dir) -> Flask:
    config = load_config(data_dir, {"load_samples": True, "share_packs": True}, environ={})
    return create_app(prepare_data_dir(config))


@pytest.fixture
def sharing(sharing_app: Flask) -> FlaskClient:
    return sharing_app.test_client()


@pytest.mark.parametrize(
    "path", ["/api/share/packs", f"/api/share/packs/{PACK}", "/api/share/blobs/" + "a" * 64]
)
def test_sharing_is_off_by_default(config: Config, client: FlaskClient, path: str) -> None:
    assert config.share_packs is False
    response = client.get(path)
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "sharing_off"
    assert "share_packs" in error["message"]


def test_lists_the_packs_it_shares(sharing: FlaskClient) -> None:
    body = sharing.get("/api/share/packs").get_json()
    assert body["format"] == "learnhub-share/1"
    ids = {p["id"] for p in body["packs"]}
    assert ids == {p.name for p in SAMPLES.iterdir() if (p / "pack.json").is_file()}
    fractions = next(p for p in body["packs"] if p["id"] == PACK)
    assert fractions["lessons"] > 0 and fractions["size"] > 0


def test_exports_one_pack_manifest_and_files(sharing: FlaskClient) -> None:
    body = sharing.get(f"/api/share/packs/{PACK}").get_json()
    assert body["id"] == PACK == body["manifest"]["id"]
    assert body["version"] == body["manifest"]["version"]
    with connected():
        rows = {f.path: (f.sha256, f.size) for f in PackFile.select().where(PackFile.pack == PACK)}
    assert {f["path"]: (f["sha256"], f["size"]) for f in body["files"]} == rows
    assert sum(f["size"] for f in body["files"]) == body["size"]
    # Packs only: nothing about people, progress or the hub's keys.
    assert set(body) == {"format", "id", "version", "title", "size", "manifest", "files"}


def test_unknown_pack_is_404(sharing: FlaskClient) -> None:
    response = sharing.get("/api/share/packs/no-such-pack")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "pack_not_found"


def test_blob_whole_and_resumed_with_range(sharing: FlaskClient) -> None:
    entry = sharing.get(f"/api/share/packs/{PACK}").get_json()["files"][0]
    url = f"/api/share/blobs/{entry['sha256']}"
    whole = sharing.get(url)
    assert whole.status_code == 200
    assert hashlib.sha256(whole.data).hexdigest() == entry["sha256"]
    assert len(whole.data) == entry["size"]
    part = sharing.get(url, headers={"Range": "bytes=100-"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-{entry['size'] - 1}/{entry['size']}"
    assert part.data == whole.data[100:]


@pytest.mark.parametrize("name", ["0" * 64, "not-a-sha", "A" * 64, "../../secret_key"])
def test_only_blobs_of_packs_are_served(sharing: FlaskClient, sharing_app: Flask, name) -> None:
    # A stray blob in the store (an import in progress) is not offered either.
    stray = sharing_app.extensions["library"].store.path("0" * 64)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"stray")
    assert sharing.get(f"/api/share/blobs/{name}").status_code == 404


def test_learner_data_is_not_reachable(sharing: FlaskClient) -> None:
    for path in ("/api/share/events", "/api/share/learners", "/api/share/progress"):
        assert sharing.get(path).status_code == 404
