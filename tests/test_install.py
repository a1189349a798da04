"""raspberrypi/install.sh staged into a temporary tree (--root): the files, modes, owners,
users and enabled units it would create; idempotent; --dry-run changes nothing; uninstall
keeps the data unless asked. And the static checks: shellcheck, systemd-analyze verify."""

from __future__ import annotations

import os
import py_compile
import stat
import subprocess
from pathlib import Path

import pytest

from tests.appliance_helpers import BIN, PI, ROOT, require_root, require_tool

SHELL_SCRIPTS = [
    PI / "install.sh",
    BIN / "learnhub",
    BIN / "learnhub-portal",
    BIN / "learnhub-clock-save",
    PI / "network" / "90-learnhub-portal",
    *sorted((PI / "image").rglob("*.sh")),
]
PYTHON_SCRIPTS = [BIN / "learnhub-appliance", BIN / "learnhub-usb", BIN / "learnhub-verify"]
UNITS = sorted(p for p in (PI / "systemd").iterdir() if p.suffix in (".service", ".timer"))

# path in the installed system -> mode
EXPECTED_FILES = {
    "/opt/learnhub/bin/learnhub-appliance": 0o755,
    "/opt/learnhub/bin/learnhub-usb": 0o755,
    "/opt/learnhub/bin/learnhub-verify": 0o755,
    "/opt/learnhub/bin/learnhub-portal": 0o755,
    "/opt/learnhub/bin/learnhub-clock-save": 0o755,
    "/usr/local/bin/learnhub": 0o755,
    "/etc/learnhub/learnhub.toml": 0o640,
    "/etc/learnhub/appliance.env": 0o644,
    "/etc/learnhub/dnsmasq.conf": 0o644,
    "/etc/NetworkManager/system-connections/learnhub-hotspot.nmconnection": 0o600,
    "/etc/NetworkManager/dnsmasq-shared.d/learnhub.conf": 0o644,
    "/etc/NetworkManager/dispatcher.d/90-learnhub-portal": 0o755,
    "/etc/modprobe.d/learnhub-wifi.conf": 0o644,
    "/etc/udev/rules.d/90-learnhub-usb.rules": 0o644,
    "/etc/systemd/journald.conf.d/60-learnhub.conf": 0o644,
    "/etc/sysusers.d/learnhub.conf": 0o644,
    "/etc/tmpfiles.d/learnhub.conf": 0o644,
    "/etc/hostname": 0o644,
    **{f"/etc/systemd/system/{unit.name}": 0o644 for unit in UNITS},
}
ENABLED = {
    "multi-user.target.wants/learnhub.service",
    "multi-user.target.wants/learnhub-dns.service",
    "timers.target.wants/learnhub-verify.timer",
    "timers.target.wants/learnhub-clock-save.timer",
    "timers.target.wants/learnhub-portal.timer",
}


def install(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    require_tool("systemd-sysusers")
    done = subprocess.run(
        ["bash", str(PI / "install.sh"), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def snapshot(root: Path) -> dict[str, tuple[int, int, int, bytes | str]]:
    """Every path in the tree: mode, owner, group, content (or link target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            content: bytes | str = os.readlink(path)
        elif path.is_file():
            content = path.read_bytes()
        else:
            content = ""
        found[str(path.relative_to(root))] = (info.st_mode, info.st_uid, info.st_gid, content)
    return found


def passwd_entry(root: Path) -> list[str]:
    for line in (root / "etc/passwd").read_text().splitlines():
        if line.startswith("learnhub:"):
            return line.split(":")
    raise AssertionError("no learnhub user")


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    require_root("install.sh --root sets owners, as on the target")
    root = tmp_path / "root"
    install(root, "--country", "KE", "--ssid", "Mwanga School", "--password", "classroom-7")
    return root


# --- static checks ---------------------------------------------------------------------


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_clean(script: Path) -> None:
    shellcheck = require_tool("shellcheck")
    done = subprocess.run(
        [shellcheck, "--severity=style", str(script)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("script", PYTHON_SCRIPTS, ids=lambda p: p.name)
def test_python_scripts_compile_and_are_executable(script: Path, tmp_path: Path) -> None:
    py_compile.compile(str(script), cfile=str(tmp_path / "out.pyc"), doraise=True)
    assert script.read_text().startswith("#!/usr/bin/python3\n")
    assert script.stat().st_mode & stat.S_IXUSR


def test_every_unit_verifies(tmp_path: Path) -> None:
    """systemd-analyze verify, with /opt/learnhub pointing into a tree where its programs
    exist (a stub stands in for the virtualenv's learnhub). Warnings count as failures."""
    analyze = require_tool("systemd-analyze")
    require_tool("dnsmasq")  # learnhub-dns.service runs it
    opt = tmp_path / "opt" / "learnhub"
    (opt / "bin").mkdir(parents=True)
    (opt / "venv" / "bin").mkdir(parents=True)
    for script in BIN.iterdir():
        (opt / "bin" / script.name).write_bytes(script.read_bytes())
        (opt / "bin" / script.name).chmod(0o755)
    (opt / "venv" / "bin" / "learnhub").write_text("#!/bin/sh\n")
    (opt / "venv" / "bin" / "learnhub").chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for unit in UNITS:
        text = unit.read_text().replace("/opt/learnhub", str(opt))
        (units / unit.name).write_text(text)
    names = [str(units / u.name) for u in UNITS]
    names.append(str(units / "learnhub-usb@sda1.service"))  # an instance, as udev starts it
    done = subprocess.run(
        [analyze, "verify", *names], capture_output=True, text=True, cwd=units, timeout=60
    )
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), (
        done.stdout + done.stderr
    )


def test_the_hub_unit_is_hardened_as_promised() -> None:
    unit = (PI / "systemd" / "learnhub.service").read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=60",
        "Restart=always",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/learnhub",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_SYS_TIME",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SYS_TIME",
        "User=learnhub",
    ):
        assert f"\n{line}\n" in unit, line
    assert "ProtectClock" not in unit  # it would take CAP_SYS_TIME away (hub/core/clock.py)
    assert unit.count("ReadWritePaths=") == 1


def test_the_udev_rule_starts_the_usb_service_for_usb_filesystems() -> None:
    rule = (PI / "udev" / "90-learnhub-usb.rules").read_text()
    [line] = [x for x in rule.splitlines() if x and not x.startswith("#")]
    for part in (
        'ACTION=="add"',
        'SUBSYSTEM=="block"',
        'ENV{ID_BUS}=="usb"',
        'ENV{ID_FS_USAGE}=="filesystem"',
        'ENV{SYSTEMD_WANTS}+="learnhub-usb@%k.service"',
    ):
        assert part in line


# --- install.sh --root -------------------------------------------------------------------


def test_stages_every_file_with_its_mode(staged: Path) -> None:
    for path, mode in EXPECTED_FILES.items():
        target = staged / path.lstrip("/")
        assert target.is_file(), path
        assert stat.S_IMODE(target.stat().st_mode) == mode, path
    shipped = {"learnhub-usb", "learnhub-portal", "learnhub-appliance"}
    for name in shipped:
        assert (staged / "opt/learnhub/bin" / name).read_bytes() == (BIN / name).read_bytes()
    assert not (staged / "opt/learnhub/venv").exists()  # made on the target only
    assert not (staged / "run").exists()


def test_creates_the_hub_user_and_its_dirs(staged: Path) -> None:
    _, _, uid, gid, gecos, home, shell = passwd_entry(staged)
    assert (home, shell, gecos) == ("/var/lib/learnhub", "/usr/sbin/nologin", "Learning Hub")
    assert int(uid) < 1000  # a system user
    data = staged / "var/lib/learnhub"
    info = data.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (int(uid), int(gid), 0o750)
    assert (data / "appliance").is_dir()
    assert os.readlink(data / "learnhub.toml") == "/etc/learnhub/learnhub.toml"
    config_dir = (staged / "etc/learnhub").stat()
    assert (config_dir.st_uid, config_dir.st_gid, stat.S_IMODE(config_dir.st_mode)) == (
        0,
        int(gid),
        0o750,
    )
    config = (staged / "etc/learnhub/learnhub.toml").stat()
    assert (config.st_uid, config.st_gid) == (0, int(gid))  # the hub reads it, as its group


def test_writes_the_settings_and_the_hotspot(staged: Path) -> None:
    config = (staged / "etc/learnhub/learnhub.toml").read_text()
    assert 'ssid = "Mwanga School"' in config and 'country = "KE"' in config
    assert "port = 80" in config and 'portal_host = "10.42.0.1"' in config
    hotspot = (staged / EXPECTED_FILES_KEYFILE).read_text()
    assert "ssid=Mwanga School" in hotspot and "psk=classroom-7" in hotspot
    assert (staged / "etc/hostname").read_text() == "learnhub\n"
    assert "127.0.1.1\tlearnhub" in (staged / "etc/hosts").read_text()


EXPECTED_FILES_KEYFILE = "etc/NetworkManager/system-connections/learnhub-hotspot.nmconnection"


def test_enables_the_units(staged: Path) -> None:
    wants = staged / "etc/systemd/system"
    found = {str(p.relative_to(wants)) for p in wants.glob("*.wants/*")}
    assert found == ENABLED
    for link in wants.glob("*.wants/*"):
        assert os.readlink(link) == f"/etc/systemd/system/{link.name}"


def test_running_again_changes_nothing_and_keeps_the_settings(staged: Path) -> None:
    config = staged / "etc/learnhub/learnhub.toml"
    config.write_text(config.read_text().replace('hub_name = "Learning Hub"', 'hub_name = "Mine"'))
    before = snapshot(staged)
    again = install(staged, "--country", "FR", "--ssid", "Other")
    assert "(0 files changed)" in again.stdout
    assert "kept /etc/learnhub/learnhub.toml" in again.stdout
    assert snapshot(staged) == before


def test_a_changed_script_is_replaced(staged: Path) -> None:
    target = staged / "opt/learnhub/bin/learnhub-usb"
    target.write_text("#!/bin/sh\necho tampered\n")
    target.chmod(0o777)
    again = install(staged)
    assert "wrote /opt/learnhub/bin/learnhub-usb" in again.stdout
    assert target.read_bytes() == (BIN / "learnhub-usb").read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


def test_dry_run_changes_nothing(tmp_path: Path, staged: Path) -> None:
    fresh = tmp_path / "fresh"
    done = install(fresh, "--country", "KE", "--dry-run")
    assert not fresh.exists()
    assert "would write /etc/systemd/system/learnhub.service (mode 0644)" in done.stdout
    assert "+ systemd-sysusers" in done.stdout
    assert "Dry run: nothing was changed." in done.stdout
    before = snapshot(staged)
    done = install(staged, "--uninstall", "--purge", "--dry-run")
    assert "removed /var/lib/learnhub" in done.stdout and "+ rm -rf --" in done.stdout
    assert snapshot(staged) == before


def test_without_wifi(tmp_path: Path) -> None:
    require_root("install.sh --root sets owners, as on the target")
    root = tmp_path / "root"
    install(root, "--no-wifi")
    assert "wifi = false" in (root / "etc/learnhub/learnhub.toml").read_text()
    assert not (root / EXPECTED_FILES_KEYFILE).exists()
    assert not (root / "etc/NetworkManager/dispatcher.d/90-learnhub-portal").exists()
    found = {p.name for p in (root / "etc/systemd/system").glob("*.wants/*")}
    assert found == {"learnhub.service", "learnhub-verify.timer", "learnhub-clock-save.timer"}


def test_a_wrong_setting_stops_the_install_with_one_sentence(tmp_path: Path) -> None:
    require_root("install.sh --root sets owners, as on the target")
    done = install(tmp_path / "root", "--country", "Kenya", check=False)
    assert done.returncode != 0
    assert "appliance.country must be the two-letter code" in done.stderr
    assert "Traceback" not in done.stderr


def test_uninstall_keeps_the_data_unless_asked(staged: Path) -> None:
    (staged / "var/lib/learnhub/learnhub.db").write_text("precious")
    done = install(staged, "--uninstall")
    assert "Kept: its data" in done.stdout
    assert not (staged / "opt/learnhub").exists()
    assert not (staged / "etc/systemd/system/learnhub.service").exists()
    assert not (staged / EXPECTED_FILES_KEYFILE).exists()
    assert not list((staged / "etc/systemd/system").glob("*.wants/learnhub*"))
    assert (staged / "var/lib/learnhub/learnhub.db").read_text() == "precious"
    assert (staged / "etc/learnhub/learnhub.toml").exists()
    passwd_entry(staged)  # the user stays: it owns the data
    install(staged, "--uninstall", "--purge")
    assert not (staged / "var/lib/learnhub").exists()
    assert not (staged / "etc/learnhub").exists()
    assert "learnhub:" not in (staged / "etc/passwd").read_text()


def test_reinstall_after_uninstall_finds_the_old_data(staged: Path) -> None:
    (staged / "var/lib/learnhub/learnhub.db").write_text("precious")
    install(staged, "--uninstall")
    install(staged)
    assert (staged / "var/lib/learnhub/learnhub.db").read_text() == "precious"
    assert 'ssid = "Mwanga School"' in (staged / "etc/learnhub/learnhub.toml").read_text()


# --- the image (pi-gen stage) --------------------------------------------------------------


def fake_pi_gen(tmp_path: Path) -> Path:
    pi_gen = tmp_path / "pi-gen"
    (pi_gen / "stage2").mkdir(parents=True)
    (pi_gen / "build-docker.sh").write_text("#!/bin/sh\n")
    (pi_gen / "build-docker.sh").chmod(0o755)
    return pi_gen


def test_prepare_a_pi_gen_build(tmp_path: Path) -> None:
    pi_gen = fake_pi_gen(tmp_path)
    wheel = tmp_path / "learnhub-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK\x05\x06" + bytes(18))
    ssid = "Shule ya $HOME 'Mwanga'"
    args = ["--country", "ke", "--ssid", ssid, "--wheel", str(wheel), str(pi_gen)]
    done = subprocess.run(
        ["bash", str(PI / "image" / "prepare.sh"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    stage = pi_gen / "stage-learnhub"
    files = stage / "00-learnhub" / "files"
    assert (files / wheel.name).read_bytes() == wheel.read_bytes()
    assert (files / "raspberrypi" / "install.sh").read_bytes() == (PI / "install.sh").read_bytes()
    assert not (files / "raspberrypi" / "image").exists()
    assert (files / "requirements" / "hub.txt").read_bytes() == (
        ROOT / "requirements" / "hub.txt"
    ).read_bytes()
    assert (files / "docs" / "operator-guide.md").is_file()
    for script in ("prerun.sh", "00-learnhub/00-run.sh", "00-learnhub/01-run-chroot.sh"):
        assert (stage / script).stat().st_mode & stat.S_IXUSR, script
    assert (stage / "EXPORT_IMAGE").is_file()
    assert (pi_gen / "stage2" / "SKIP_IMAGES").exists()
    config = (pi_gen / "config").read_text()
    assert "WPA_COUNTRY=KE\n" in config
    assert 'STAGE_LIST="stage0 stage1 stage2 stage-learnhub"' in config
    # The chroot step sources settings.env: awkward names must come back unchanged.
    echo = subprocess.run(
        [
            "bash",
            "-c",
            f'. "{files}/settings.env"; printf "%s|%s|%s" "$COUNTRY" "$SSID" "$PASSWORD"',
        ],
        capture_output=True,
        text=True,
    )
    assert echo.stdout == f"KE|{ssid}|"


def test_prepare_checks_the_settings_before_a_long_build(tmp_path: Path) -> None:
    pi_gen = fake_pi_gen(tmp_path)
    done = subprocess.run(
        ["bash", str(PI / "image" / "prepare.sh"), "--country", "Kenya", str(pi_gen)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "appliance.country" in done.stderr
    assert not (pi_gen / "stage-learnhub").exists()
