"""Discovery on a real network: hubs in their own network namespaces joined by a veth pair,
as two Pis on one Wi-Fi would be. They find each other and copy a pack; Debian's avahi-browse,
an independent mDNS client, sees the hub; a hub started with no network keeps serving and
announces itself when a network appears.

The namespaces, links and 10.199.x.x addresses are made by these tests inside namespaces of
their own and removed afterwards. It needs root and `ip netns` (iproute2); the avahi test
also needs avahi-daemon, avahi-utils and dbus.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.identity import load_or_create
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parent.parent
PORT = 8080
READY_TIMEOUT = 60.0


def _netns_problem() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root (run the tests as root to include them)"
    if shutil.which("ip") is None:
        return "`ip` (Debian package iproute2) is not installed"
    probe = f"lhprobe{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` does not work here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


_PROBLEM = _netns_problem()
pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(_PROBLEM is not None, reason=_PROBLEM or ""),
]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Lab:
    """Network namespaces, veth links and the processes started in them; all removed after."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.tag = secrets.token_hex(3)
        self.namespaces: list[str] = []
        self.processes: list[subprocess.Popen] = []

    def namespace(self, name: str, lo_up: bool = True) -> str:
        full = f"lh{self.tag}{name}"
        ip("netns", "add", full)
        self.namespaces.append(full)
        if lo_up:
            ip("-n", full, "link", "set", "lo", "up")
        return full

    def link(self, ns_a: str, address_a: str, ns_b: str, address_b: str) -> tuple[str, str]:
        """A veth pair, one end in each namespace, with a /24 address on each end."""
        end_a, end_b = f"v{self.tag}{ns_a[-1]}", f"v{self.tag}{ns_b[-1]}"
        ip(
            "link",
            "add",
            end_a,
            "netns",
            ns_a,
            "type",
            "veth",
            "peer",
            "name",
            end_b,
            "netns",
            ns_b,
        )
        for ns, end, address in ((ns_a, end_a, address_a), (ns_b, end_b, address_b)):
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", end)
            ip("-n", ns, "link", "set", end, "up")
        return end_a, end_b

    def run(self, ns: str, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ip", "netns", "exec", ns, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )

    def learnhub(
        self, *args: str, ns: str | None, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        """`learnhub ARGS` in namespace `ns` (None: this machine's own, for data-only work)."""
        command = [sys.executable, "-m", "hub", *args]
        if ns is not None:
            return self.run(ns, *command, timeout=timeout)
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)

    def serve(self, ns: str, name: str, **settings: str) -> Hub:
        data = self.tmp / f"data-{name}"
        log = self.tmp / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNHUB_")}
        env.update({f"LEARNHUB_{k.upper()}": v for k, v in settings.items()})
        env["LEARNHUB_HUB_NAME"] = name
        command = [sys.executable, "-m", "hub", "serve", "--data", str(data)]
        with open(log, "wb") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", ns, *command, "--host", "0.0.0.0", "--port", str(PORT)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )
        self.processes.append(process)
        return Hub(self, ns, name, data, log, process)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


class Hub:
    def __init__(
        self, lab: Lab, ns: str, name: str, data: Path, log: Path, process: subprocess.Popen
    ) -> None:
        self.has_operator = False
        self.lab, self.ns, self.name, self.data, self.log, self.process = (
            lab,
            ns,
            name,
            data,
            log,
            process,
        )

    @property
    def hub_id(self) -> str:
        return load_or_create(self.data).hub_id

    def get(self, path: str) -> dict:
        """GET a JSON document from this hub, from inside its own namespace."""
        script = textwrap.dedent(
            f"""
            import sys, time, urllib.request
            deadline = time.monotonic() + {READY_TIMEOUT}
            while True:
                try:
                    with urllib.request.urlopen("http://127.0.0.1:{PORT}{path}", timeout=2) as r:
                        sys.stdout.write(r.read().decode()); break
                except OSError:
                    if time.monotonic() > deadline: raise
                    time.sleep(0.1)
            """
        )
        result = self.lab.run(self.ns, sys.executable, "-c", script, timeout=READY_TIMEOUT + 10)
        assert result.returncode == 0, result.stderr + self.log.read_text()
        return json.loads(result.stdout)

    def operator_page(self, path: str) -> str:
        """An operator's page, signed in from inside the hub's namespace."""
        if not self.has_operator:
            self._add_operator()
        script = textwrap.dedent(
            f"""
            import json, sys, urllib.request
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
            body = json.dumps({{"username": "olive-operator", "password": "a-long-secret"}})
            opener.open(urllib.request.Request(
                "http://127.0.0.1:{PORT}/api/session", body.encode(),
                {{"Content-Type": "application/json"}}), timeout=10)
            with opener.open("http://127.0.0.1:{PORT}{path}", timeout=30) as page:
                sys.stdout.write(page.read().decode())
            """
        )
        result = self.lab.run(self.ns, sys.executable, "-c", script)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def _add_operator(self) -> None:
        added = self.lab.learnhub(
            "users",
            "add",
            "--data",
            str(self.data),
            "--role",
            "operator",
            "--password",
            "a-long-secret",
            "Olive Operator",
            ns=None,
        )
        assert added.returncode == 0, added.stderr
        self.has_operator = True

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        wait_until(lambda: text in self.log.read_text(), timeout, f"{text!r} in {self.log}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


def wait_until(check: Callable[[], object], timeout: float, what: str) -> object:
    return eventually(check, timeout, interval=0.2, what=f"waiting for {what}")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    made = Lab(tmp_path)
    try:
        yield made
    finally:
        made.close()


def discover(lab: Lab, ns: str, timeout: float = 3) -> list[dict]:
    result = lab.learnhub("discover", "--json", "--timeout", str(timeout), ns=ns)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def seen(lab: Lab, ns: str, hub_id: str, check: Callable[[dict], bool] = lambda row: True):
    """The row for `hub_id` once `learnhub discover` in `ns` shows it and `check` holds."""

    def look() -> dict | None:
        rows = [r for r in discover(lab, ns) if r["hub_id"] == hub_id and check(r)]
        return rows[0] if rows else None

    return wait_until(look, 40, f"hub {hub_id} seen from {ns}")


# --- two hubs ---------------------------------------------------------------------------------


def test_two_hubs_find_each_other_and_copy_a_pack(lab: Lab) -> None:
    school_a, school_b = lab.namespace("a"), lab.namespace("b")
    lab.link(school_a, "10.199.1.1", school_b, "10.199.1.2")
    hub_a = lab.serve(school_a, "Hub A", share_packs="true")
    hub_b = lab.serve(school_b, "Hub B", load_samples="false")
    assert hub_a.get("/healthz")["packs"] == 3 and hub_b.get("/healthz")["packs"] == 0

    row = seen(lab, school_b, hub_a.hub_id)
    assert row["name"] == "Hub A"
    assert (row["address"], row["port"], row["packs"], row["sharing"]) == (
        "10.199.1.1",
        PORT,
        3,
        True,
    )
    assert row["version"] == hub_a.get("/healthz")["version"]
    assert seen(lab, school_a, hub_b.hub_id)["sharing"] is False
    # Hub A's operator page lists hub B from what hub A's advertiser heard.
    page = hub_a.operator_page("/admin/neighbours/")
    assert f'data-hub-id="{hub_b.hub_id}"' in page and "10.199.1.2:8080" in page
    assert hub_a.hub_id not in page.split('id="neighbours"')[1]  # not itself

    fetched = lab.learnhub(
        "content", "fetch", "--data", str(hub_b.data), row["url"], "fractions-en", ns=school_b
    )
    assert fetched.returncode == 0, fetched.stderr
    assert "installed fractions-en" in fetched.stdout
    # The running hub B serves the copied pack, and soon tells the network it has one pack.
    assert [p["id"] for p in hub_b.get("/api/packs")["packs"]] == ["fractions-en"]
    seen(lab, school_a, hub_b.hub_id, lambda r: r["packs"] == 1)

    # Hub B does not share: hub A is refused with a clear sentence.
    refused = lab.learnhub(
        "content",
        "fetch",
        "--data",
        str(hub_a.data),
        "10.199.1.2:8080",
        "fractions-en",
        ns=school_a,
    )
    assert refused.returncode == 1
    assert "does not share its packs" in refused.stderr

    # A hub that stops says goodbye: hub B's advertiser drops it at once, not after the
    # records' lifetime (75 minutes).
    assert f'data-hub-id="{hub_a.hub_id}"' in hub_b.operator_page("/admin/neighbours/")
    assert hub_a.stop() == 0
    assert "Traceback" not in hub_a.log.read_text()
    wait_until(
        lambda: hub_a.hub_id not in hub_b.operator_page("/admin/neighbours/"),
        10,
        "hub A to leave hub B's list",
    )


# --- an independent client ----------------------------------------------------------------------

AVAHI_TOOLS = ("avahi-daemon", "avahi-browse", "dbus-daemon")

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"""

AVAHI_CONFIG = """[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces={interface}
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
disable-publishing=yes
"""

# Run inside the client's namespace (`ip netns exec` gives it a mount namespace of its own):
# a private /run for avahi's pid file, a private system bus, then browse until the hub shows.
AVAHI_SCRIPT = """set -eu
mount -t tmpfs tmpfs /run
mkdir -p /run/avahi-daemon
dbus-daemon --config-file={tmp}/bus.conf --fork --print-pid > {tmp}/dbus.pid
export DBUS_SYSTEM_BUS_ADDRESS=unix:path={tmp}/bus
avahi-daemon -f {tmp}/avahi.conf --no-drop-root --no-chroot --no-rlimits > {tmp}/avahi.log 2>&1 &
avahi=$!
trap 'kill $avahi; kill $(cat {tmp}/dbus.pid)' EXIT
for attempt in $(seq 30); do
  if avahi-browse --resolve --parsable --terminate {service} > {tmp}/browse.txt 2>&1 \\
     && grep -q '^=' {tmp}/browse.txt; then
    cat {tmp}/browse.txt; exit 0
  fi
  sleep 1
done
cat {tmp}/browse.txt {tmp}/avahi.log; exit 1
"""


def avahi_browse(lab: Lab, ns: str, interface: str, service: str) -> list[list[str]]:
    """Resolved records `avahi-browse -rpt` prints, split into fields, names unescaped."""
    tmp = lab.tmp / f"avahi-{service.strip('_').split('.')[0]}"
    tmp.mkdir()
    (tmp / "bus.conf").write_text(BUS_CONFIG.format(socket=tmp / "bus"))
    (tmp / "avahi.conf").write_text(AVAHI_CONFIG.format(interface=interface))
    script = AVAHI_SCRIPT.format(tmp=tmp, service=service)
    result = lab.run(ns, "sh", "-c", script, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split(";") for line in result.stdout.splitlines() if line.startswith("=")]
    return [[_unescape(field) for field in row] for row in rows]


def _unescape(text: str) -> str:
    """avahi-browse escapes bytes of names as \\DDD (decimal)."""
    raw, i = bytearray(), 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1 : i + 4].isdigit():
            raw.append(int(text[i + 1 : i + 4]))
            i += 4
        else:
            raw += text[i].encode()
            i += 1
    return raw.decode("utf-8", "replace")


@pytest.mark.skipif(
    not all(shutil.which(t) for t in AVAHI_TOOLS),
    reason="avahi-daemon, avahi-utils and dbus (Debian packages) are not installed",
)
def test_avahi_browse_sees_the_hub(lab: Lab) -> None:
    hub_ns, client_ns = lab.namespace("h"), lab.namespace("c")
    _, client_end = lab.link(hub_ns, "10.199.3.1", client_ns, "10.199.3.2")
    hub = lab.serve(hub_ns, "Mwanga School")
    hub.wait_for_log("Announced on the network")

    web = avahi_browse(lab, client_ns, client_end, "_http._tcp")
    # =;interface;protocol;name;type;domain;host;address;port;txt
    assert [(r[3], r[7], r[8], r[9]) for r in web] == [
        ("Learning Hub \u2013 Mwanga School", "10.199.3.1", str(PORT), '"path=/"')
    ]
    (record,) = avahi_browse(lab, client_ns, client_end, "_learnhub._tcp")
    assert (record[3], record[7], record[8]) == ("Mwanga School", "10.199.3.1", str(PORT))
    txt = dict(item.strip('"').split("=", 1) for item in record[9].split('" "'))
    assert txt["id"] == hub.hub_id
    assert (txt["packs"], txt["share"], txt["api"]) == ("3", "off", "/api")


# --- no network at start ----------------------------------------------------------------------


def test_no_network_keeps_serving_then_announces_when_one_appears(lab: Lab) -> None:
    lonely = lab.namespace("n", lo_up=False)  # not even loopback
    hub = lab.serve(lonely, "Late Wifi")
    hub.wait_for_log("No network to announce the hub on; waiting for one.")
    assert hub.process.poll() is None, hub.log.read_text()

    ip("-n", lonely, "link", "set", "lo", "up")  # now it can be asked
    assert hub.get("/healthz")["status"] == "ok"
    assert "Announced" not in hub.log.read_text()  # loopback is not a network to announce on

    neighbour = lab.namespace("m")
    lonely_end, _ = lab.link(lonely, "10.199.4.1", neighbour, "10.199.4.2")  # the Wi-Fi is up
    hub.wait_for_log("and 'Late Wifi' at 10.199.4.1.")
    row = seen(lab, neighbour, hub.hub_id)
    assert (row["name"], row["addresses"]) == ("Late Wifi", ["10.199.4.1"])

    ip("-n", lonely, "addr", "add", "10.199.4.11/24", "dev", lonely_end)  # and another address
    hub.wait_for_log("addresses changed to 10.199.4.1, 10.199.4.11")
    seen(lab, neighbour, hub.hub_id, lambda r: "10.199.4.11" in r["addresses"])

    assert hub.stop() == 0
    log = hub.log.read_text()
    assert "Traceback" not in log and "ERROR" not in log
