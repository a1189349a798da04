"""The appliance's network: the settings file (learnhub-appliance), the files it renders for
NetworkManager and dnsmasq, the uplink decision (learnhub-portal), and a real dnsmasq with
those files answering every name with the hub's address only while there is no uplink."""

from __future__ import annotations

import configparser
import os
import random
import socket
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from hub.core.settings import load_config
from tests.appliance_helpers import BIN, load_script, require_tool
from tests.conftest import free_port
from tests.waiting import eventually

appliance = load_script("learnhub-appliance")


def first(tmp_path: Path, **overrides) -> Path:
    values = dict(
        wifi=True, ssid="Learning Hub", password="", country="ke", channel=6, address="10.42.0.1"
    )
    values.update(overrides)
    path = tmp_path / "learnhub.toml"
    path.write_text(appliance.first_config(**values))
    return path


def with_field(tmp_path: Path, line: str) -> Path:
    """The first config with one [appliance] line replaced or added."""
    path = first(tmp_path)
    key = line.split("=")[0].strip()
    lines = [raw for raw in path.read_text().splitlines() if not raw.startswith(key + " ")]
    path.write_text("\n".join(lines) + f"\n{line}\n")
    return path


def test_the_first_config_suits_the_hub_and_the_appliance(tmp_path: Path) -> None:
    path = tmp_path / "learnhub.toml"
    args = ["init-config", str(path), "--country", "ke", "--password", "classroom-7"]
    done = subprocess.run([sys.executable, str(BIN / "learnhub-appliance"), *args])
    assert done.returncode == 0
    a = appliance.load(path)
    assert (a.ssid, a.password, a.country, a.channel, a.band) == (
        "Learning Hub",
        "classroom-7",
        "KE",
        6,
        "bg",
    )
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    hub = load_config(tmp_path, environ={})  # the hub reads the same file, not [appliance]
    assert hub.port == 80 and hub.portal_host == "10.42.0.1"


def test_init_config_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "learnhub.toml"
    path.write_text("# mine\n")
    script = [sys.executable, str(BIN / "learnhub-appliance")]
    done = subprocess.run(
        [*script, "init-config", str(path), "--country", "KE"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "kept" in done.stdout
    assert path.read_text() == "# mine\n"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('ssid = ""', "appliance.ssid"),
        ('ssid = "' + "x" * 33 + '"', "appliance.ssid"),
        ('ssid = " padded"', "appliance.ssid"),
        ('ssid = "12;34;"', "appliance.ssid"),
        ('ssid = "tab\\there"', "appliance.ssid"),
        ('password = "short"', "appliance.password"),
        ('password = "' + "p" * 64 + '"', "appliance.password"),
        ('password = "caf\u00e9-au-lait"', "appliance.password"),
        ("channel = 14", "appliance.channel"),
        ('channel = "6"', "appliance.channel"),
        ('country = ""', "appliance.country"),
        ('country = "KEN"', "appliance.country"),
        ('address = "8.8.8.8"', "appliance.address"),
        ('address = "10.42.0.255"', "appliance.address"),
        ('address = "hub"', "appliance.address"),
        ('hostname = "Learn Hub"', "appliance.hostname"),
        ('interface = "wlan0; reboot"', "appliance.interface"),
        ('wifi = "yes"', "appliance.wifi"),
        ("speed = 3", "appliance.speed"),
    ],
)
def test_each_wrong_field_is_named(tmp_path: Path, line: str, field: str) -> None:
    path = with_field(tmp_path, line)
    with pytest.raises(appliance.ConfigError) as err:
        appliance.load(path)
    message = str(err.value)
    assert message.startswith(str(path)) and field in message and message.endswith(".")


def test_the_portal_must_send_phones_to_the_hubs_address(tmp_path: Path) -> None:
    path = first(tmp_path)
    path.write_text(path.read_text().replace('portal_host = "10.42.0.1"', 'portal_host = ""'))
    with pytest.raises(appliance.ConfigError, match="portal_host"):
        appliance.load(path)


def test_a_broken_file_is_one_sentence_from_the_command(tmp_path: Path) -> None:
    path = tmp_path / "learnhub.toml"
    path.write_text("[appliance\n")
    done = subprocess.run(
        [sys.executable, str(BIN / "learnhub-appliance"), "--config", str(path), "check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "not valid TOML" in done.stderr
    assert "Traceback" not in done.stderr


def keyfile(root: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(root / appliance.NM_KEYFILE)
    return parser


def test_an_open_hotspot(tmp_path: Path) -> None:
    root = tmp_path / "root"
    a = appliance.load(first(tmp_path))
    changed = appliance.render(a, root)
    assert len(changed) == 5
    nm = keyfile(root)
    assert nm["wifi"]["mode"] == "ap" and nm["wifi"]["ssid"] == "Learning Hub"
    assert nm["wifi"]["band"] == "bg" and nm["wifi"]["channel"] == "6"
    assert "wifi-security" not in nm
    assert nm["ipv4"]["method"] == "shared" and nm["ipv4"]["address1"] == "10.42.0.1/24"
    mode = (root / appliance.NM_KEYFILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600  # NetworkManager ignores keyfiles others can read
    dhcp = (root / appliance.NM_DNSMASQ).read_text()
    assert "port=0" in dhcp and "dhcp-lease-max=250" in dhcp
    assert "dhcp-option=option:dns-server,10.42.0.1" in dhcp
    dns = (root / appliance.DNS_CONF).read_text()
    assert "host-record=learnhub,learnhub.lan,learnhub.local,10.42.0.1" in dns
    assert "address=/#/" not in dns  # only learnhub-portal adds that, only while offline
    assert "ieee80211_regdom=KE" in (root / appliance.MODPROBE).read_text()
    assert appliance.render(a, root) == []  # idempotent


def test_a_protected_5ghz_hotspot_with_awkward_characters(tmp_path: Path) -> None:
    root = tmp_path / "root"
    path = first(tmp_path, ssid="Shule ya Mwanga \\ #1", password=r"pa\ss word#2", channel=36)
    appliance.render(appliance.load(path), root)
    nm = keyfile(root)
    assert nm["wifi"]["band"] == "a" and nm["wifi"]["channel"] == "36"
    assert nm["wifi"]["ssid"] == r"Shule ya Mwanga \\ #1"  # GLib key file escaping
    assert nm["wifi-security"]["psk"] == r"pa\\ss word#2"
    assert nm["wifi-security"]["key-mgmt"] == "wpa-psk"


def test_no_hotspot_removes_the_network_files(tmp_path: Path) -> None:
    root = tmp_path / "root"
    appliance.render(appliance.load(first(tmp_path, country="KE")), root)
    path = first(tmp_path, wifi=False)
    changed = appliance.render(appliance.load(path), root)
    assert appliance.NM_KEYFILE in changed
    assert not (root / appliance.NM_KEYFILE).exists()
    assert not (root / appliance.DNS_CONF).exists()
    assert "WIFI='no'" in (root / appliance.ENV_FILE).read_text()


# --- learnhub-portal: the uplink decision --------------------------------------------------


@pytest.fixture
def portal(tmp_path: Path):
    """learnhub-portal with pretend `ip` and `systemctl` commands."""
    require_tool("bash")
    fake = tmp_path / "fakebin"
    fake.mkdir()
    routes = tmp_path / "routes"
    routes.write_text("")
    calls = tmp_path / "calls"
    (fake / "ip").write_text(f'#!/bin/sh\ncat "{routes}"\n')
    (fake / "systemctl").write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n')
    for tool in fake.iterdir():
        tool.chmod(0o755)
    env_file = tmp_path / "appliance.env"
    env_file.write_text(appliance.env_file(appliance.load(first(tmp_path))))
    run_dir = tmp_path / "run"
    env = {
        **os.environ,
        "PATH": f"{fake}:{os.environ['PATH']}",
        "LEARNHUB_APPLIANCE_ENV": str(env_file),
        "LEARNHUB_RUN_DIR": str(run_dir),
    }

    def call(action: str, route: str = "") -> str:
        routes.write_text(route)
        done = subprocess.run(
            [str(BIN / "learnhub-portal"), action], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    call.run_dir = run_dir
    call.calls = calls
    call.env_file = env_file
    return call


def restarts(portal) -> int:
    return portal.calls.read_text().count("try-restart") if portal.calls.exists() else 0


def test_no_uplink_means_captive(portal) -> None:
    portal("apply")
    assert (portal.run_dir / "portal-state").read_text() == "captive\n"
    snippet = (portal.run_dir / "dns" / "captive.conf").read_text()
    assert "address=/#/10.42.0.1" in snippet
    assert "address=/dns.msftncsi.com/131.107.255.255" in snippet
    assert restarts(portal) == 1
    portal("apply")  # nothing changed: the DNS is not restarted again
    assert restarts(portal) == 1


def test_a_default_route_through_the_hotspot_is_no_uplink(portal) -> None:
    assert portal("status", "default via 10.42.0.1 dev wlan0 proto static\n") == "captive\n"


def test_an_uplink_turns_the_portal_off_and_back(portal) -> None:
    portal("apply")
    uplink = "default via 192.168.1.1 dev eth0 proto dhcp src 192.168.1.20 metric 100\n"
    assert "now online" in portal("apply", uplink)
    assert (portal.run_dir / "portal-state").read_text() == "online\n"
    assert not (portal.run_dir / "dns" / "captive.conf").exists()
    assert restarts(portal) == 2
    assert "now captive" in portal("apply", "")
    assert restarts(portal) == 3


def test_a_portal_switched_off_in_the_settings(portal) -> None:
    text = portal.env_file.read_text().replace("CAPTIVE_PORTAL='yes'", "CAPTIVE_PORTAL='no'")
    portal.env_file.write_text(text)
    assert portal("status") == "off\n"
    portal("write")
    assert not (portal.run_dir / "dns" / "captive.conf").exists()


# --- a real dnsmasq with the rendered files ------------------------------------------------


def dns_query(port: int, name: str, timeout: float = 3) -> tuple[int, list[str]]:
    """(rcode, IPv4 answers) for an A query to 127.0.0.1:port."""
    ident = random.randrange(65536)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + b"\0\1\0\1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, ("127.0.0.1", port))
        reply = sock.recv(4096)
    flags, answers = struct.unpack(">H", reply[2:4])[0], struct.unpack(">H", reply[6:8])[0]
    offset = 12 + len(question) + 4
    found = []
    for _ in range(answers):
        offset += 2 if reply[offset] & 0xC0 == 0xC0 else len(question)
        kind, _, _, length = struct.unpack(">HHIH", reply[offset : offset + 10])
        offset += 10
        if kind == 1:
            found.append(socket.inet_ntoa(reply[offset : offset + length]))
        offset += length
    return flags & 0xF, found


def start_dnsmasq(tmp_path: Path, port: int, snippets: Path) -> subprocess.Popen:
    dnsmasq = require_tool("dnsmasq")
    root = tmp_path / "root"
    appliance.render(appliance.load(first(tmp_path)), root)
    # The rendered file listens on the hub's Wi-Fi address; here, loopback on a high port.
    conf = (root / appliance.DNS_CONF).read_text().replace("10.42.0.1\nbind", "127.0.0.1\nbind")
    conf = conf.replace("listen-address=10.42.0.1", "listen-address=127.0.0.1")
    conf_file = tmp_path / "dnsmasq.conf"
    conf_file.write_text(conf + f"port={port}\nno-resolv\n")
    server = subprocess.Popen(
        [
            dnsmasq,
            "--keep-in-foreground",
            "--pid-file=",
            f"--conf-file={conf_file}",
            f"--conf-dir={snippets},*.conf",
            "--log-facility=-",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        eventually(
            lambda: dns_query(port, "learnhub.lan", timeout=0.2) or True,
            10,
            interval=0.1,
            ignoring=(OSError,),
            what="for dnsmasq to answer",
        )
    except AssertionError:
        server.kill()
        raise
    return server


@pytest.mark.parametrize("captive", [True, False])
def test_dnsmasq_answers_like_the_portal_says(tmp_path: Path, captive: bool) -> None:
    snippets = tmp_path / "dns"
    snippets.mkdir()
    if captive:
        a = appliance.load(first(tmp_path))
        (snippets / "captive.conf").write_text(appliance.captive_conf(a))
    port = free_port()
    server = start_dnsmasq(tmp_path, port, snippets)
    try:
        assert dns_query(port, "learnhub.lan") == (0, ["10.42.0.1"])
        assert dns_query(port, "learnhub.local") == (0, ["10.42.0.1"])
        gstatic = dns_query(port, "connectivitycheck.gstatic.com")
        ncsi = dns_query(port, "dns.msftncsi.com")
        if captive:
            assert gstatic == (0, ["10.42.0.1"])
            assert dns_query(port, "captive.apple.com") == (0, ["10.42.0.1"])
            assert ncsi == (0, ["131.107.255.255"])
        else:
            assert gstatic[1] == [] and ncsi[1] == []  # passed upstream (none here)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_portal_snippet_and_renderer_agree(tmp_path: Path, portal) -> None:
    """learnhub-portal (shell) writes what learnhub-appliance (Python) would."""
    portal("write")
    written = (portal.run_dir / "dns" / "captive.conf").read_text()
    expected = appliance.captive_conf(appliance.load(first(tmp_path)))
    lines = lambda text: [x for x in text.splitlines() if not x.startswith("#")]  # noqa: E731
    assert lines(written) == lines(expected)
