"""The USB handler (raspberrypi/bin/learnhub-usb) against a folder that plays the stick: packs
in learnhub-packs/ and at the top, sync bundles, junk, hostile zips and planted links; and once
against a real filesystem on a loop device, mounted and unmounted as udev would have it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.appliance_helpers import BIN, ROOT, load_script, require_root, require_tool
from tests.content_helpers import (
    sample_files,
    sample_manifest,
    symlink_entry,
    write_pack_dir,
    write_pack_zip,
    write_zip,
)

usb = load_script("learnhub-usb")


@pytest.fixture
def hub_command(tmp_path: Path) -> Path:
    """`learnhub` as the appliance has it: this checkout's hub, in its own process."""
    command = tmp_path / "bin" / "learnhub"
    command.parent.mkdir()
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m hub "$@"\n')
    command.chmod(0o755)
    return command


def fake_hub(tmp_path: Path, with_sync: bool, reply: bool = True) -> tuple[Path, Path]:
    """A stand-in `learnhub` that records its calls (for the sync commands, which the sync
    work brings: before it, `learnhub sync --help` fails)."""
    calls = tmp_path / "calls.txt"
    command = tmp_path / "fakebin" / "learnhub"
    command.parent.mkdir()
    sync_help = "exit 0" if with_sync else 'echo "No such command sync." >&2; exit 2'
    no_reply = 'echo "Error: No reply from central for this hub (abc) is in $3." >&2; exit 1'
    sync_import = 'echo "imported 1 reply bundle"; exit 0' if reply else no_reply
    command.write_text(
        textwrap.dedent(f"""\
            #!/bin/sh
            echo "$*" >> "{calls}"
            case "$1 $2" in
              "sync --help") {sync_help} ;;
              "sync import") {sync_import} ;;
              "sync export") echo "exported 42 events"; exit 0 ;;
              "content import") echo "installed fractions-en 1.0.0 (4 lessons)"; exit 0 ;;
            esac
            exit 3
            """)
    )
    command.chmod(0o755)
    return command, calls


def run_usb(stick: Path, data: Path, command: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "LEARNHUB_DATA": str(data),
        "LEARNHUB_BIN": str(command),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, str(BIN / "learnhub-usb"), "folder", str(stick), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(root: Path) -> dict[str, bytes | str]:
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = "-> " + os.readlink(path)
        elif path.is_file():
            found[key] = path.read_bytes()
        else:
            found[key] = "dir"
    return found


def last_run(data: Path) -> dict:
    return json.loads((data / "appliance" / "usb.json").read_text())["runs"][0]


def report(stick: Path) -> str:
    return (stick / "learnhub-report.txt").read_bytes().decode().replace("\r\n", "\n")


@pytest.fixture
def stick(tmp_path: Path) -> Path:
    """A stick as people bring them: packs, a hostile zip, and whatever else was on it."""
    root = tmp_path / "stick"
    packs = root / "learnhub-packs"
    write_pack_dir(packs / "fractions")
    water = sample_manifest(id="water-fr", language="fr")
    write_pack_zip(packs / "water.zip", water, sample_files(), folder="eau")
    traversal = [("pack.json", json.dumps(sample_manifest(id="evil")).encode()), ("../x", b"x")]
    write_zip(packs / "evil.zip", traversal)
    (packs / "notes.txt").write_text("bring more video next time")
    write_pack_zip(
        root / "health.zip", sample_manifest(id="health-sw", language="sw"), sample_files()
    )
    write_zip(root / "holiday-photos.zip", [("beach.jpg", b"\xff\xd8")])  # not a pack
    (root / "broken.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    write_zip(
        root / "linky.zip",
        [("pack.json", json.dumps(sample_manifest(id="linky")).encode()), symlink_entry("a")],
    )
    (root / "Documents").mkdir()
    (root / "Documents" / "letter.txt").write_text("Dear district office")
    return root


def test_imports_packs_refuses_hostile_ones_and_reports(
    stick: Path, tmp_path: Path, hub_command: Path
) -> None:
    data = tmp_path / "data"
    before = snapshot(stick)
    done = run_usb(stick, data, hub_command)
    assert done.returncode == 1, done.stdout + done.stderr  # some packs were refused
    run = last_run(data)
    assert run["state"] == "failed" and run["safe_to_remove"] is True
    lines = run["lines"]
    assert "installed fractions-en 1.0.0 (4 lessons)" in lines
    assert "installed water-fr 1.0.0 (4 lessons)" in lines
    assert "installed health-sw 1.0.0 (4 lessons)" in lines
    refused = [line for line in lines if line.startswith("refused")]
    assert any("learnhub-packs/evil.zip" in line for line in refused)
    assert any("linky.zip" in line for line in refused)
    assert not any("holiday-photos" in line or "broken.zip" in line for line in lines)
    assert run["message"].startswith("3 new pack(s), 2 refused.")
    assert str(stick) not in json.dumps(run)  # paths as the operator sees them on the stick
    text = report(stick)
    assert text.startswith("Learning Hub, USB stick, ")
    assert "- installed health-sw 1.0.0 (4 lessons)" in text
    assert (stick / "learnhub-report.txt").read_bytes().count(b"\r\n") >= 5
    after = snapshot(stick)
    del after["learnhub-report.txt"]
    assert after == before  # nothing else on the stick changed
    assert not (tmp_path / "x").exists()
    listing = subprocess.run(
        [str(hub_command), "content", "list", "--data", str(data)], capture_output=True, text=True
    )
    assert sorted(line.split()[0] for line in listing.stdout.splitlines()) == [
        "fractions-en",
        "health-sw",
        "water-fr",
    ]


def test_plugging_it_in_again_changes_nothing(
    stick: Path, tmp_path: Path, hub_command: Path
) -> None:
    data = tmp_path / "data"
    run_usb(stick, data, hub_command)
    run_usb(stick, data, hub_command)
    run = last_run(data)
    assert run["message"].startswith("3 already on the hub, 2 refused.")
    assert len(json.loads((data / "appliance" / "usb.json").read_text())["runs"]) == 2


def test_a_stick_with_nothing_for_the_hub_is_left_alone(tmp_path: Path, hub_command: Path) -> None:
    stick = tmp_path / "stick"
    (stick / "DCIM").mkdir(parents=True)
    (stick / "DCIM" / "img001.jpg").write_bytes(b"\xff\xd8")
    write_zip(stick / "backup.zip", [("notes.txt", b"x")])
    (stick / ".learnhub-packs-not").mkdir()
    before = snapshot(stick)
    done = run_usb(stick, tmp_path / "data", hub_command)
    assert done.returncode == 0
    assert snapshot(stick) == before
    run = last_run(tmp_path / "data")
    assert run["state"] == "nothing"
    assert run["message"] == "Nothing for the hub on this stick; it was left as it was."


def test_planted_links_are_not_followed(tmp_path: Path, hub_command: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "precious.txt"
    precious.write_text("keep me")
    stick = tmp_path / "stick"
    write_pack_dir(stick / "learnhub-packs" / "fractions")
    (stick / "learnhub-report.txt").symlink_to(precious)
    (stick / "learnhub-sync").symlink_to(outside)
    done = run_usb(stick, tmp_path / "data", hub_command)
    assert done.returncode == 0, done.stdout + done.stderr
    assert precious.read_text() == "keep me"
    assert not (stick / "learnhub-report.txt").is_symlink()
    assert "installed fractions-en" in report(stick)
    assert os.listdir(outside) == ["precious.txt"]  # the linked "sync folder" was ignored


def test_a_symlinked_packs_folder_is_ignored(tmp_path: Path, hub_command: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_pack_dir(elsewhere / "fractions")
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "learnhub-packs").symlink_to(elsewhere)
    run_usb(stick, tmp_path / "data", hub_command)
    assert last_run(tmp_path / "data")["state"] == "nothing"


def test_sync_runs_when_the_hub_can_sync(tmp_path: Path) -> None:
    command, calls = fake_hub(tmp_path, with_sync=True)
    stick = tmp_path / "stick"
    write_pack_dir(stick / "learnhub-packs" / "fractions")
    (stick / "learnhub-sync").mkdir()
    (stick / "learnhub-sync" / "reply-0001.lhb").write_bytes(b"a reply from central")
    done = run_usb(stick, tmp_path / "data", command)
    assert done.returncode == 0, done.stdout + done.stderr
    assert calls.read_text().splitlines() == [
        f"content import {stick / 'learnhub-packs'}",
        "sync --help",
        f"sync import {stick}",  # the stick itself: sync finds its learnhub-sync/ folder
        f"sync export {stick}",
    ]
    run = last_run(tmp_path / "data")
    assert run["state"] == "done"
    assert "imported 1 reply bundle" in run["lines"] and "exported 42 events" in run["lines"]
    assert "- exported 42 events" in report(stick)


def test_a_first_trip_without_a_reply_still_exports(tmp_path: Path) -> None:
    command, calls = fake_hub(tmp_path, with_sync=True, reply=False)
    stick = tmp_path / "stick"
    (stick / "learnhub-sync").mkdir(parents=True)
    done = run_usb(stick, tmp_path / "data", command)
    assert done.returncode == 0, done.stdout + done.stderr
    assert calls.read_text().splitlines()[-1] == f"sync export {stick}"
    run = last_run(tmp_path / "data")
    assert run["state"] == "done"
    assert run["lines"][0].startswith("No reply from central is on the stick yet")


def test_sync_with_this_hubs_own_sync_commands(tmp_path: Path, hub_command: Path) -> None:
    """The real `learnhub sync`: a first trip carries a bundle out."""
    stick = tmp_path / "stick"
    (stick / "learnhub-sync").mkdir(parents=True)
    done = run_usb(stick, tmp_path / "data", hub_command)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list((stick / "learnhub-sync").glob("*-to-central-*.lhb"))
    assert last_run(tmp_path / "data")["state"] == "done"


def test_before_sync_exists_the_sync_folder_is_left_as_it_was(tmp_path: Path) -> None:
    command, calls = fake_hub(tmp_path, with_sync=False)
    stick = tmp_path / "stick"
    (stick / "learnhub-sync").mkdir(parents=True)
    (stick / "learnhub-sync" / "reply-0001.lhb").write_bytes(b"a reply from central")
    before = snapshot(stick / "learnhub-sync")
    done = run_usb(stick, tmp_path / "data", command)
    assert done.returncode == 0, done.stdout + done.stderr
    assert calls.read_text().splitlines() == ["sync --help"]
    assert snapshot(stick / "learnhub-sync") == before
    assert "cannot sync by USB yet" in report(stick)


def test_a_read_only_stick_still_imports_and_says_so(tmp_path: Path, hub_command: Path) -> None:
    require_root("a read-only folder stops root only through a read-only mount")
    stick = tmp_path / "stick"
    write_pack_dir(stick / "learnhub-packs" / "fractions")
    mount = shutil.which("mount")
    if mount is None or subprocess.run([mount, "--bind", str(stick), str(stick)]).returncode:
        pytest.skip("cannot bind-mount here")
    try:
        subprocess.run([mount, "-o", "remount,ro,bind", str(stick)], check=True)
        done = run_usb(stick, tmp_path / "data", hub_command)
    finally:
        subprocess.run(["umount", str(stick)], check=True)
    assert done.returncode == 0
    run = last_run(tmp_path / "data")
    assert "installed fractions-en 1.0.0 (4 lessons)" in run["lines"]
    assert any("could not be written on the stick" in line for line in run["lines"])


def test_which_zips_are_packs(tmp_path: Path) -> None:
    top = write_pack_zip(tmp_path / "top.zip")
    folder = write_pack_zip(tmp_path / "folder.zip", folder="fractions")
    two = write_zip(tmp_path / "two.zip", [("a/pack.json", b"{}"), ("b/x", b"")])
    deep = write_zip(tmp_path / "deep.zip", [("a/b/pack.json", b"{}")])
    (tmp_path / "empty.zip").write_bytes(b"")
    assert usb.is_pack_zip(top) and usb.is_pack_zip(folder)
    assert not usb.is_pack_zip(two) and not usb.is_pack_zip(deep)
    assert not usb.is_pack_zip(tmp_path / "empty.zip")


# --- a real stick: a FAT filesystem on a loop device ---------------------------------------


def kernel_has(filesystem: str) -> bool:
    listed = Path("/proc/filesystems").read_text().splitlines()
    return any(line.split()[-1] == filesystem for line in listed if line.strip())


@pytest.fixture
def real_stick(tmp_path: Path):
    """A 48 MB "stick" holding one pack, attached to a loop device, detached after: FAT32 as
    sticks come, or ext4 where the kernel has no FAT (some CI kernels)."""
    require_root("loop devices and mount")
    image = tmp_path / "stick.img"
    with open(image, "wb") as handle:
        handle.truncate(48 * 1024 * 1024)
    content = tmp_path / "content"
    write_pack_dir(content / "learnhub-packs" / "fractions")
    fat = kernel_has("vfat") and shutil.which("mkfs.vfat")
    if fat:
        mkfs = [shutil.which("mkfs.vfat"), "-F", "32", "-n", "KINGSTON", str(image)]
    else:
        mkfs = [require_tool("mkfs.ext4"), "-q", "-L", "KINGSTON", "-d", str(content), str(image)]
    subprocess.run(mkfs, check=True, capture_output=True)
    attach = subprocess.run(
        ["losetup", "--find", "--show", str(image)], capture_output=True, text=True
    )
    if attach.returncode != 0:
        pytest.skip(f"no loop device here: {attach.stderr.strip()}")
    device = attach.stdout.strip()
    try:
        if fat:
            fill = tmp_path / "fill"
            fill.mkdir()
            subprocess.run(["mount", device, str(fill)], check=True)
            try:
                shutil.copytree(content, fill, dirs_exist_ok=True)
            finally:
                subprocess.run(["umount", str(fill)], check=True)
        yield Path(device)
    finally:
        subprocess.run(["losetup", "-d", device], check=False)


def test_a_real_stick_is_mounted_imported_reported_and_unmounted(
    real_stick: Path, tmp_path: Path, hub_command: Path
) -> None:
    data = tmp_path / "data"
    mounts = tmp_path / "mounts"
    env = {
        **os.environ,
        "LEARNHUB_DATA": str(data),
        "LEARNHUB_BIN": str(hub_command),
        "LEARNHUB_USER": "root",
        "LEARNHUB_USB_MOUNTS": str(mounts),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, str(BIN / "learnhub-usb"), "device", real_stick.name],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run = last_run(data)
    assert run["label"] == "KINGSTON" and run["device"] == real_stick.name
    assert run["state"] == "done" and run["safe_to_remove"] is True
    assert "installed fractions-en 1.0.0 (4 lessons)" in run["lines"]
    mounted = subprocess.run(["findmnt", "-rn", "-S", str(real_stick)], capture_output=True)
    assert mounted.returncode != 0  # unmounted
    assert not (mounts / real_stick.name).exists()
    check = tmp_path / "check"
    check.mkdir()
    subprocess.run(["mount", "-o", "ro", str(real_stick), str(check)], check=True)
    try:
        assert "installed fractions-en" in report(check)
    finally:
        subprocess.run(["umount", str(check)], check=True)


def test_a_disk_in_fstab_or_mounted_is_left_alone(real_stick: Path, tmp_path: Path) -> None:
    place = tmp_path / "busy"
    place.mkdir()
    subprocess.run(["mount", "-o", "ro", str(real_stick), str(place)], check=True)
    try:
        env = {**os.environ, "LEARNHUB_DATA": str(tmp_path / "data")}
        done = subprocess.run(
            [sys.executable, str(BIN / "learnhub-usb"), "device", real_stick.name],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        subprocess.run(["umount", str(place)], check=True)
    assert done.returncode == 0 and "left alone" in done.stderr
    assert not (tmp_path / "data" / "appliance" / "usb.json").exists()


@pytest.mark.parametrize("name", ["../sda1", "sda1;reboot", "nosuchdisk9"])
def test_odd_device_names_are_ignored(name: str, tmp_path: Path) -> None:
    env = {**os.environ, "LEARNHUB_DATA": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, str(BIN / "learnhub-usb"), "device", name],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "ignored" in done.stderr
    assert not (tmp_path / "data").exists()


def test_zim_files_on_a_stick_are_imported(tmp_path: Path, hub_command: Path) -> None:
    from tests.zim_helpers import CORNER, INVALID, RAY, split

    stick = tmp_path / "stick"
    (stick / "learnhub-packs").mkdir(parents=True)
    shutil.copy(CORNER, stick / "learnhub-packs")
    split(RAY, stick, 300_000)  # at the top, as a split set (FAT sticks take 4 GB at most)
    shutil.copy(INVALID[0], stick)
    data = tmp_path / "data"
    run_usb(stick, data, hub_command)
    run = last_run(data)
    assert run["message"].startswith("2 new pack(s), 1 refused."), run
    text = report(stick)
    assert (
        "installed ZIM corner-cases-en" in text and "installed ZIM wikipedia_en_ray_charles" in text
    )
    assert "Checking" not in text  # no progress bars in the report
    run_usb(stick, data, hub_command)
    assert last_run(data)["message"].startswith("2 already on the hub, 1 refused.")


def test_h5p_activities_and_books_at_the_top_are_imported(
    tmp_path: Path, hub_command: Path
) -> None:
    """A lone .h5p or .epub at the top of a stick becomes a pack of one lesson; a hostile
    activity is refused with its reason; a book or activity deeper down is not picked up."""
    from tests.epub_helpers import write_epub
    from tests.test_h5p import SHARED

    stick = tmp_path / "stick"
    (stick / "Documents").mkdir(parents=True)
    shutil.copy(SHARED / "H5P.TrueFalse.h5p", stick / "Berries quiz.h5p")
    shutil.copy(SHARED / "invalid" / "xss-svg.h5p", stick)
    write_epub(stick / "Sungura.EPUB")
    write_epub(stick / "Documents" / "private.epub")
    assert [p.name for p in usb.plan(stick).packs] == [
        "Berries quiz.h5p",
        "Sungura.EPUB",
        "xss-svg.h5p",
    ]
    data = tmp_path / "data"
    run_usb(stick, data, hub_command)
    run = last_run(data)
    assert run["message"].startswith("2 new pack(s), 1 refused."), run
    text = report(stick)
    assert "h5p-berries-quiz" in text and "epub-sungura" in text
    assert "SVG image with script" in text
    listed = subprocess.run(
        [str(hub_command), "content", "list", "--json", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    packs = {pack["id"]: pack for pack in json.loads(listed.stdout)}
    assert set(packs) == {"h5p-berries-quiz", "epub-sungura"}
    run_usb(stick, data, hub_command)
    assert last_run(data)["message"].startswith("2 already on the hub, 1 refused.")
