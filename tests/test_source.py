"""Reading packs safely from folders and zips (content/source.py), hostile ones included."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pytest

from content.errors import PackError
from content.source import (
    DEFAULT_LIMITS,
    FolderSource,
    Limits,
    PackSource,
    ZipSource,
    find_packs,
    open_source,
    path_problem,
)
from tests.content_helpers import (
    patch_entry,
    replace_name_bytes,
    sample_files,
    symlink_entry,
    write_pack_dir,
    write_pack_zip,
    write_zip,
    zip_bytes,
)

SMALL = Limits(
    max_total_bytes=10_000, max_file_bytes=5_000, max_files=5, max_ratio=20, ratio_min_bytes=1_000
)

ROOT = Path(__file__).resolve().parent.parent


def refused(path: Path, limits: Limits = DEFAULT_LIMITS, *, read: str | None = None) -> str:
    """The one-line message with which opening (and, if asked, reading) the source fails."""
    with pytest.raises(PackError) as caught, open_source(path, limits) as source:
        if read is not None:
            source.read(read)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message, message
    assert str(path) in message, message
    return message


# -- folders and zips that are fine ---------------------------------------------------------


@pytest.mark.parametrize("form", ["folder", "zip", "zipped folder"])
def test_sample_pack_reads_the_same_from_every_form(tmp_path: Path, form: str) -> None:
    if form == "folder":
        path = write_pack_dir(tmp_path / "pack")
    else:
        path = write_pack_zip(
            tmp_path / "pack.zip", folder="fractions" if form == "zipped folder" else ""
        )
    with open_source(path) as source:
        assert isinstance(source, PackSource) and source.name == str(path)
        assert source.paths() == sorted(["pack.json", *sample_files()])
        for name, data in sample_files().items():
            assert source.has(name) and source.size(name) == len(data)
            assert source.read(name) == data
        with source.open("v/intro.mp4") as stream:
            assert stream.read(10) == sample_files()["v/intro.mp4"][:10]
        assert not source.has("nope.txt")
        with pytest.raises(PackError, match='has no file "nope\\.txt"'):
            source.read("nope.txt")


def test_zip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    blob = tmp_path / "ab" / "abcdef0123"
    blob.parent.mkdir()
    blob.write_bytes(zip_bytes([("index.html", b"<p>app")]))
    with open_source(blob, name="apps/pie.zip") as source:
        assert isinstance(source, ZipSource)
        assert source.name == "apps/pie.zip"
        assert source.read("index.html") == b"<p>app"


def test_zipped_folder_ignores_macos_junk(tmp_path: Path) -> None:
    entries = [
        ("pack/pack.json", b"{}"),
        ("pack/a.html", b"a"),
        ("__MACOSX/pack/._pack.json", b"x"),
    ]
    with open_source(write_zip(tmp_path / "p.zip", entries)) as source:
        assert source.paths() == ["a.html", "pack.json"]


def test_zip_with_two_folders_is_not_unwrapped(tmp_path: Path) -> None:
    entries = [("a/pack.json", b"{}"), ("b/pack.json", b"{}")]
    with open_source(write_zip(tmp_path / "p.zip", entries)) as source:
        assert source.paths() == ["a/pack.json", "b/pack.json"]
        assert not source.has("pack.json")


def test_zip_with_a_folder_lacking_pack_json_is_not_unwrapped(tmp_path: Path) -> None:
    with open_source(write_zip(tmp_path / "p.zip", [("app/index.html", b"x")])) as source:
        assert source.paths() == ["app/index.html"]


def test_folder_entries_and_all_compressions_are_read(tmp_path: Path) -> None:
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        path = write_zip(
            tmp_path / f"{method}.zip", [("d/", b""), ("d/a.txt", b"hello " * 100)], method
        )
        with open_source(path) as source:
            assert source.paths() == ["d/a.txt"]
            assert source.read("d/a.txt") == b"hello " * 100


def test_names_are_matched_after_nfc_normalisation(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "café.html")
    composed = unicodedata.normalize("NFC", "café.html")
    for path in (write_zip(tmp_path / "p.zip", [(decomposed, b"x")]), tmp_path / "dir"):
        if path.name == "dir":
            path.mkdir()
            (path / decomposed).write_bytes(b"x")
        with open_source(path) as source:
            assert source.paths() == [composed]
            assert source.read(composed) == b"x" and source.read(decomposed) == b"x"


def test_folder_root_given_as_a_link_is_followed(tmp_path: Path) -> None:
    real = write_pack_dir(tmp_path / "real")
    (tmp_path / "link").symlink_to(real)
    with open_source(tmp_path / "link") as source:
        assert source.has("pack.json")


# -- what is neither a folder nor a zip -----------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    assert refused(tmp_path / "nope.zip") == f"{tmp_path / 'nope.zip'} does not exist."


def test_text_file_renamed_zip(tmp_path: Path) -> None:
    path = tmp_path / "notes.zip"
    path.write_text("just some notes\n")
    assert refused(path) == f"{path} is neither a folder nor a zip file."


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.zip"
    path.write_bytes(b"")
    assert refused(path).endswith("is neither a folder nor a zip file.")


def test_empty_zip(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "empty.zip", [])
    assert refused(path) == f"{path} is an empty zip file."


def test_truncated_zip(tmp_path: Path) -> None:
    data = zip_bytes([("a.txt", b"a" * 5000)])
    path = tmp_path / "cut.zip"
    path.write_bytes(data[: len(data) // 2])
    assert refused(path).endswith("is neither a folder nor a zip file.")


def test_damaged_central_directory(tmp_path: Path) -> None:
    data = bytearray(zip_bytes([("a.txt", b"a" * 5000)]))
    central = data.rfind(b"PK\x01\x02")
    data[central : central + 4] = b"XXXX"
    path = tmp_path / "bad.zip"
    path.write_bytes(bytes(data))
    assert refused(path) == f"{path} is not a readable zip file (damaged?)."


def test_special_file_as_pack(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert refused(fifo) == f"{fifo} is neither a folder nor a zip file."


# -- hostile zip entries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../evil.txt", "climbs out of the pack with .."),
        ("a/../../evil.txt", "climbs out of the pack with .."),
        ("/etc/evil.txt", "is an absolute path"),
        ("a\\..\\evil.txt", "contains a backslash"),
        ("C:/evil.txt", "starts with a drive letter"),
        ("a//b.txt", "has an empty or . part"),
        ("./a.txt", "has an empty or . part"),
        ("../", "climbs out of the pack with .."),
        ("a\x01b.txt", "contains a control character"),
    ],
)
def test_unsafe_entry_names(tmp_path: Path, name: str, problem: str) -> None:
    path = write_zip(tmp_path / "evil.zip", [("pack.json", b"{}"), (name, b"x")])
    message = refused(path)
    assert message.startswith(f"{path} holds an entry whose name {problem}: ")


def test_nul_in_entry_name(tmp_path: Path) -> None:
    # zipfile cuts names at NUL when reading and cannot write one: patch it in.
    data = replace_name_bytes(
        zip_bytes([("evil.txtXjpg", b"x")]), b"evil.txtXjpg", b"evil.txt\x00jpg"
    )
    path = tmp_path / "nul.zip"
    path.write_bytes(data)
    assert (
        refused(path)
        == f'{path} holds an entry whose name contains a NUL character: "evil.txt\\x00jpg".'
    )


def test_symlink_entry(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "link.zip", [("pack.json", b"{}"), symlink_entry("v/intro.mp4")])
    assert refused(path) == f'{path} holds a symbolic link at "v/intro.mp4"; packs may not.'


def test_special_file_entry(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("dev")
    info.create_system = 3
    info.external_attr = (stat.S_IFCHR | 0o666) << 16
    path = write_zip(tmp_path / "dev.zip", [("pack.json", b"{}"), (info, b"")])
    assert refused(path) == f'{path} holds a special file at "dev".'


def test_encrypted_entry(tmp_path: Path) -> None:
    data = patch_entry(zip_bytes([("pack.json", b"{}"), ("secret.html", b"x")]), 1, flag_bits=0x1)
    path = tmp_path / "locked.zip"
    path.write_bytes(data)
    assert refused(path) == f'{path}: "secret.html" is encrypted; packs must not use passwords.'


def test_unknown_compression_method(tmp_path: Path) -> None:
    data = patch_entry(zip_bytes([("a.txt", b"x" * 100)]), 0, compress_type=9)  # deflate64
    path = tmp_path / "d64.zip"
    path.write_bytes(data)
    assert refused(path) == (
        f'{path}: "a.txt" uses a compression method this hub cannot read (number 9); '
        "zip it with ordinary deflate."
    )


def test_duplicate_entry_names(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "dup.zip", [("pack.json", b"{}"), ("a.txt", b"1"), ("a.txt", b"2")])
    assert refused(path) == f'{path} holds the name "a.txt" twice.'


def test_names_equal_after_normalisation_are_duplicates(tmp_path: Path) -> None:
    entries = [(unicodedata.normalize(form, "é.txt"), b"x") for form in ("NFC", "NFD")]
    assert refused(write_zip(tmp_path / "dup.zip", entries)).endswith(
        'holds the name "é.txt" twice.'
    )
    folder = tmp_path / "dup"
    folder.mkdir()
    for name, data in entries:
        (folder / name).write_bytes(data)
    assert refused(folder) == f'{folder} holds two files named "é.txt".'


# -- limits and bombs ------------------------------------------------------------------------


def test_too_many_entries(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "many.zip", [(f"f{n}.txt", b"x") for n in range(6)])
    assert refused(path, SMALL) == f"{path} has more than 5 files."


def test_entry_count_is_checked_before_the_directory_is_read(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "many.zip", [(f"d{n}/", b"") for n in range(11)] + [("a", b"")])
    assert refused(path, SMALL) == f"{path} has more than 5 files."


def test_file_too_large(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "big.zip", [("big.bin", os.urandom(6_000))], zipfile.ZIP_STORED)
    assert refused(path, SMALL) == f'{path}: "big.bin" is 5.9 KB; the limit is 4.9 KB.'


def test_total_too_large(tmp_path: Path) -> None:
    entries = [(f"f{n}.bin", os.urandom(4_000)) for n in range(3)]
    path = write_zip(tmp_path / "big.zip", entries, zipfile.ZIP_STORED)
    assert refused(path, SMALL) == f"{path} unpacks to 11.7 KB; the limit is 9.8 KB."


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "bomb.zip", [("pack.json", b"{}"), ("zeros.bin", bytes(4 * 1024**2))]
    )
    message = refused(path)  # default limits: 200x from 1 MiB up
    assert message.startswith(f'{path}: "zeros.bin" expands ')
    assert message.endswith("times (the limit is 200); it looks like a zip bomb.")


def test_small_entries_may_compress_well(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "fine.zip", [("blank.html", bytes(500_000))])
    with open_source(path) as source:
        assert source.read("blank.html") == bytes(500_000)


def test_zip_bomb_by_total_ratio(tmp_path: Path) -> None:
    # each entry stays under ratio_min_bytes, the archive as a whole expands too much
    entries = [(f"z{n}.bin", bytes(900)) for n in range(5)]
    path = write_zip(tmp_path / "bomb.zip", entries)
    limits = Limits(max_ratio=3, ratio_min_bytes=1_000)
    message = refused(path, limits)
    assert message.startswith(f"{path} unpacks to ")
    assert message.endswith("times its size (the limit is 3); it looks like a zip bomb.")


def test_overlapping_entries(tmp_path: Path) -> None:
    # the trick of non-recursive zip bombs: many entries share one stretch of compressed bytes
    data = zip_bytes([("a.bin", bytes(5000)), ("b.bin", bytes(5000))])
    path = tmp_path / "overlap.zip"
    path.write_bytes(patch_entry(data, 1, header_offset=0))
    assert refused(path) == f"{path} has overlapping entries; it looks like a zip bomb."


def test_lying_header_declares_less_than_it_holds(tmp_path: Path) -> None:
    data = zip_bytes([("pack.json", b"{}"), ("big.bin", bytes(2 * 1024**2))])
    path = tmp_path / "liar.zip"
    path.write_bytes(patch_entry(data, 1, file_size=1000))
    with open_source(path) as source:
        assert source.size("big.bin") == 1000
        with pytest.raises(PackError) as caught:
            source.read("big.bin")
    assert str(caught.value) == f'{path}: "big.bin" holds more bytes than its declared 1000.'


def test_lying_header_declares_more_than_it_holds(tmp_path: Path) -> None:
    data = zip_bytes([("a.bin", bytes(3000))])
    path = tmp_path / "short.zip"
    path.write_bytes(patch_entry(data, 0, file_size=4000))
    assert refused(path, read="a.bin") == f'{path}: "a.bin" ends before its declared 4000 bytes.'


def test_damaged_entry_data(tmp_path: Path) -> None:
    data = bytearray(zip_bytes([("a.txt", os.urandom(3000))], zipfile.ZIP_STORED))
    data[100:110] = bytes(10)  # inside the stored data: the CRC no longer matches
    path = tmp_path / "crc.zip"
    path.write_bytes(bytes(data))
    assert (
        refused(path, read="a.txt") == f'{path}: "a.txt" is damaged (its checksum does not match).'
    )


def test_damaged_compressed_stream(tmp_path: Path) -> None:
    data = bytearray(zip_bytes([("a.txt", b"hello world " * 400)]))
    start = 30 + len("a.txt")
    data[start : start + 20] = b"\xff" * 20
    path = tmp_path / "zlib.zip"
    path.write_bytes(bytes(data))
    assert refused(path, read="a.txt") == f'{path}: "a.txt" is damaged and cannot be read.'


# -- hostile folders -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("v/intro.mp4", "/etc/passwd"),  # a file pointing out
        ("outside", ".."),  # a folder pointing out
        ("halves/inner", "../v"),  # a folder pointing inside
        ("dangling", "does-not-exist"),
        ("deep/er/still/x.html", "../../../pack.json"),
    ],
)
def test_folder_with_a_symlink_anywhere(tmp_path: Path, link: str, target: str) -> None:
    root = write_pack_dir(tmp_path / "pack")
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    (root / link).unlink(missing_ok=True)
    (root / link).symlink_to(target)
    assert refused(root) == f'{root} contains a symbolic link at "{link}"; packs may not.'


def test_link_swapped_in_after_listing_is_not_followed(tmp_path: Path) -> None:
    root = write_pack_dir(tmp_path / "pack")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"x" * len(sample_files()["v/intro.jpg"]))
    with open_source(root) as source:
        (root / "v" / "intro.jpg").unlink()
        (root / "v" / "intro.jpg").symlink_to(secret)
        with pytest.raises(PackError, match="cannot read"):
            source.read("v/intro.jpg")
        (root / "v").rename(root / "v-real")
        (root / "v").symlink_to(root / "v-real")
        with pytest.raises(PackError, match="cannot read"):
            source.read("v/intro.mp4")


def test_folder_file_that_grows_after_listing(tmp_path: Path) -> None:
    root = write_pack_dir(tmp_path / "pack")
    with open_source(root) as source:
        with open(root / "pack.json", "ab") as grow:
            grow.write(b" " * 10)
        with pytest.raises(PackError, match="holds more bytes than its declared"):
            source.read("pack.json")


def test_folder_with_a_special_file(tmp_path: Path) -> None:
    root = write_pack_dir(tmp_path / "pack")
    os.mkfifo(root / "halves" / "pipe")
    assert refused(root) == f'{root} contains a special file at "halves/pipe".'


def test_folder_limits(tmp_path: Path) -> None:
    root = tmp_path / "pack"
    root.mkdir()
    for n in range(6):
        (root / f"f{n}").write_bytes(b"x")
    assert refused(root, SMALL) == f"{root} has more than 5 files."
    big = tmp_path / "big"
    big.mkdir()
    (big / "a.bin").write_bytes(bytes(6_000))
    assert refused(big, SMALL) == f'{big}: "a.bin" is 5.9 KB; the limit is 4.9 KB.'
    (big / "a.bin").write_bytes(bytes(4_000))
    (big / "b.bin").write_bytes(bytes(4_000))
    (big / "c.bin").write_bytes(bytes(4_000))
    assert refused(big, SMALL) == f"{big} holds more than 9.8 KB of files."


def test_folder_file_name_not_utf8(tmp_path: Path) -> None:
    root = tmp_path / "pack"
    root.mkdir()
    (root / os.fsdecode(b"caf\xe9.html")).write_bytes(b"x")
    assert refused(root) == f'{root} has a file name that is not valid UTF-8: "caf\ufffd.html".'


# Opening a source in a process that keeps root's uid but not its power to read anything: the
# permission bits then apply to root as to anyone (CI runs the tests as root).
_OPEN_AS_SOMEONE = """
import sys
from pathlib import Path
from content.errors import PackError
from content.source import open_source
try:
    with open_source(Path(sys.argv[1])):
        pass
except PackError as error:
    print(error)
"""


def refused_without_root_powers(path: Path) -> str:
    if os.geteuid() != 0:
        return refused(path)
    drop = "-dac_override,-dac_read_search"
    argv = [sys.executable, "-c", _OPEN_AS_SOMEONE, str(path)]
    done = subprocess.run(
        ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout, done.stdout + done.stderr
    return done.stdout.strip()


def test_unreadable_folder(tmp_path: Path) -> None:
    root = write_pack_dir(tmp_path / "pack")
    (root / "halves").chmod(0)
    try:
        message = refused_without_root_powers(root)
    finally:
        (root / "halves").chmod(0o755)
    assert message.startswith(f"cannot read {root}: Permission denied"), message


# -- finding packs ---------------------------------------------------------------------------


def test_find_packs_on_a_pack(tmp_path: Path) -> None:
    folder = write_pack_dir(tmp_path / "pack")
    assert find_packs(folder) == [folder]
    archive = write_pack_zip(tmp_path / "pack.zip")
    assert find_packs(archive) == [archive]
    other = tmp_path / "notes.txt"
    other.write_text("x")
    assert find_packs(other) == [other]  # open_source then says what is wrong with it


def test_find_packs_on_a_usb_stick(tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    a = write_pack_zip(stick / "a.zip")
    b = write_pack_dir(stick / "b")
    c = write_pack_zip(stick / "C.ZIP")
    inner = write_pack_dir(stick / "learnhub-packs" / "d")
    inner_zip = write_pack_zip(stick / "learnhub-packs" / "e.zip")
    (stick / "photos").mkdir()
    (stick / "photos" / "cat.jpg").write_bytes(b"x")
    (stick / "._a.zip").write_bytes(b"resource fork")
    write_pack_zip(stick / ".hidden.zip")
    (stick / "readme.txt").write_text("x")
    (stick / "linked").symlink_to(b)
    assert find_packs(stick) == sorted([a, b, c, inner, inner_zip])


def test_find_packs_on_an_empty_or_missing_folder(tmp_path: Path) -> None:
    assert find_packs(tmp_path) == []
    with pytest.raises(PackError, match="does not exist"):
        find_packs(tmp_path / "nope")


# -- path rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["a.html", "a/b/c.mp4", "a..b", "...x/y", "é/ü.txt", "a b/c", "notes:1.txt"]
)
def test_safe_paths(path: str) -> None:
    assert path_problem(path) is None


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/a",
        "a/../b",
        "..",
        "a/..",
        "a\\b",
        "C:/a",
        "c:",
        "a\x00b",
        "a//b",
        "a/./b",
        "a/",
        "a\tb",
    ],
)
def test_unsafe_paths(path: str) -> None:
    assert path_problem(path)


def test_sources_close(tmp_path: Path) -> None:
    archive = write_pack_zip(tmp_path / "p.zip")
    source = open_source(archive)
    assert isinstance(source, ZipSource)
    source.close()
    folder = open_source(write_pack_dir(tmp_path / "d"))
    assert isinstance(folder, FolderSource)
    folder.close()
