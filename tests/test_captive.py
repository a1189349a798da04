"""Captive-portal probes over real HTTP: every platform's check gets an answer that makes it
show its "sign in" sheet (never its "online" answer, never an error), and the sheet opens the
hub's home page. The probes name other hosts (the hub's DNS sends them here) or the hub's own."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from hub.cli.common import prepare_data_dir
from hub.core.settings import load_config
from hub.web.app import create_app
from hub.web.views.captive import PROBE_PATHS
from tests.conftest import LiveServer

HUB = "10.42.0.1"
PORTAL = f"http://{HUB}/"

# (platform, host the device asks, path, the "online" answer the hub must never give)
PROBES = [
    ("android", "connectivitycheck.gstatic.com", "/generate_204", None),
    ("android", "clients3.google.com", "/generate_204", None),
    ("android", "connect.rom.miui.com", "/generate_204", None),
    ("chromeos", "www.google.com", "/gen_204", None),
    ("apple", "captive.apple.com", "/hotspot-detect.html", b"Success"),
    ("apple", "www.apple.com", "/library/test/success.html", b"Success"),
    ("windows", "www.msftconnecttest.com", "/connecttest.txt", b"Microsoft Connect Test"),
    ("windows", "www.msftncsi.com", "/ncsi.txt", b"Microsoft NCSI"),
    ("firefox", "detectportal.firefox.com", "/canonical.html", b"support.mozilla.org"),
    ("firefox", "detectportal.firefox.com", "/success.txt", b"success"),
    ("gnome", "nmcheck.gnome.org", "/check_network_status.txt", b"NetworkManager is online"),
]


@pytest.fixture(scope="module")
def portal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real hub that knows its Wi-Fi address, as the installer configures it."""
    data = tmp_path_factory.mktemp("captive") / "data"
    server = LiveServer(data, env={"LEARNHUB_PORTAL_HOST": HUB, "LEARNHUB_LOAD_SAMPLES": "0"})
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


def ask(server: LiveServer, host: str, path: str, method: str = "GET"):
    """One request as a phone sends it: to the hub's address, naming whatever host."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, headers={"Host": host, "User-Agent": "probe"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def assert_portal(status: int, headers: dict[str, str], body: bytes, online: bytes | None) -> None:
    # 204, or a 200 with an empty body, would mean "online" (Android); 4xx/5xx would mean
    # "no internet" and show no sign-in at all. A redirect with a body is a portal everywhere.
    assert status == 302
    assert headers["Location"] == PORTAL
    assert headers["Cache-Control"] == "no-store"
    assert body and b"href" in body
    if online is not None:
        assert online not in body


@pytest.mark.server
@pytest.mark.parametrize(("platform", "host", "path", "online"), PROBES)
def test_each_platform_is_sent_to_the_hub(portal_server, platform, host, path, online) -> None:
    assert_portal(*ask(portal_server, host, path), online)


@pytest.mark.server
@pytest.mark.parametrize("host", [HUB, "learnhub.lan", "learnhub.local", "127.0.0.1"])
def test_the_probes_also_answer_on_the_hubs_own_names(portal_server, host) -> None:
    for path in PROBE_PATHS:
        assert_portal(*ask(portal_server, host, path), None)


@pytest.mark.server
def test_windows_browser_redirect_and_head_requests(portal_server) -> None:
    status, headers, _ = ask(portal_server, "www.msftconnecttest.com", "/redirect")
    assert status == 302 and headers["Location"] == PORTAL
    status, headers, body = ask(portal_server, "captive.apple.com", "/hotspot-detect.html", "HEAD")
    assert status == 302 and headers["Location"] == PORTAL and body == b""


@pytest.mark.server
def test_the_sign_in_sheet_lands_on_the_home_page(portal_server) -> None:
    status, _, body = ask(portal_server, HUB, "/")
    assert status == 200
    assert b"Learning Hub" in body


def test_without_a_portal_host_the_phone_stays_on_the_host_it_asked(tmp_path: Path) -> None:
    app: Flask = create_app(
        prepare_data_dir(load_config(tmp_path / "data", {"load_samples": False}, environ={}))
    )
    response = app.test_client().get("/generate_204", headers={"Host": "hub.school.example"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_every_probe_path_is_routed(app: Flask) -> None:
    rules = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}
    for path in PROBE_PATHS:
        assert rules[path].startswith("captive."), path
