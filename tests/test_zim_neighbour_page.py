"""The operator's neighbour page lists a sharing hub's ZIM files beside its packs, as rows to
tick, and copies them through the same copy job (#15 part 5a), against a real sharing hub."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.core.db import connected
from hub.library.models import ZimArchive
from tests.conftest import LiveServer
from tests.progress_helpers import prepare_hub
from tests.test_discovery_page import TOKEN, finished_copy, sign_in
from tests.zim_helpers import ZimSpec, make_zim

pytestmark = pytest.mark.server

ZIM_ID = "zim:small_zim_en"


@pytest.fixture(scope="module")
def sharing_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("zim-page")
    made = make_zim(root / "made" / "small.zim", ZimSpec(name="small_zim_en", date="2024-05-01"))
    prepare_hub(root / "data", packs=[made], samples=False)
    server = LiveServer(root / "data", env={"LEARNHUB_SHARE_PACKS": "true"})
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def operator(app: Flask, client: FlaskClient) -> FlaskClient:
    sign_in(client, "operator")
    return client


def test_a_neighbour_s_zims_are_rows_to_tick_and_copy(
    operator: FlaskClient, sharing_hub: LiveServer, tmp_path: Path
) -> None:
    page = operator.get("/admin/neighbours/packs", query_string={"url": sharing_hub.url})
    assert page.status_code == 200
    row = re.search(rf'<tr data-pack-id="{ZIM_ID}" data-kind="zim">.*?</tr>', page.text, re.S)
    assert row is not None, page.text
    assert f'value="{ZIM_ID}"' in row[0] and "disabled" not in row[0]
    assert "Test library" in row[0] and "2024-05-01" in row[0] and "not installed" in row[0]
    token = TOKEN.search(page.text)[1]
    started = operator.post(
        "/admin/neighbours/copy",
        data={"csrf_token": token, "url": sharing_hub.url, "pack": ZIM_ID},
    )
    assert started.status_code == 302
    status = finished_copy(operator)
    assert f'data-pack-id="{ZIM_ID}" data-result="installed"' in status.text
    with connected():
        assert ZimArchive.by_name("small_zim_en") is not None
    again = operator.get("/admin/neighbours/packs", query_string={"url": sharing_hub.url})
    assert re.search(rf'value="{ZIM_ID}" id="zim-1" disabled', again.text)
    assert "the same version" in again.text
