"""Long work as jobs through the real server (`learnhub serve` on 127.0.0.1, jobs_waiting 0:
one job at a time, none waiting): a big pack .zip uploaded in pieces is imported by a job
whose progress is seen moving through /api/jobs/<id> and on its page (which refreshes itself
without JavaScript); a refused import's sentences are shown; a second job while one runs is
refused in words; verify and search rebuilds run the same way."""

from __future__ import annotations

import fcntl
import json
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_authoring_live import PIECE, Hub, operator_hub, put_piece
from tests.waiting import eventually

FILES = 12
FILE_BYTES = 16 * 1024 * 1024  # 192 MB in all: long enough on any disk to be seen moving


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data = tmp_path_factory.mktemp("jobs") / "data"
    with operator_hub(data, {"LEARNHUB_JOBS_WAITING": "0"}) as hub:
        yield hub


def pack_zip(path: Path, pack_id: str, files: int, size: int, manifest_text: str = "") -> Path:
    lessons = [
        {"id": f"v{n}", "title": f"Film {n}", "kind": "video", "file": f"v{n}.mp4"}
        for n in range(files)
    ]
    manifest = {"format": "learnhub-pack/1", "id": pack_id, "version": "1", "title": pack_id}
    manifest.update({"language": "en", "lessons": lessons})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        out.writestr("pack.json", manifest_text or json.dumps(manifest))
        for n in range(files):
            with open("/dev/urandom", "rb") as noise:
                out.writestr(f"v{n}.mp4", noise.read(size))
    return path


def upload_import(hub: Hub, path: Path) -> dict[str, Any]:
    """Send a file to import in pieces, as uploads.js does; the last answer names the job."""
    size = path.stat().st_size
    with hub.form("/admin/own-packs/import/uploads", name=path.name, size=str(size)) as answer:
        url = f"/admin/own-packs/import/uploads/{json.loads(answer.read())['upload_id']}"
    with open(path, "rb") as sent:
        for start in range(0, size, PIECE):
            last = put_piece(hub, url, sent.read(PIECE), start, size)
    assert last["done"] is True, last
    return last


def job(hub: Hub, page: str) -> dict[str, Any]:
    path = urllib.parse.urlsplit(page).path  # a job page's address, whole or its path
    with hub.open(path.replace("/admin/jobs/", "/api/jobs/")) as answer:
        assert answer.headers["Cache-Control"] == "no-store"
        return json.loads(answer.read())


def page(hub: Hub, path: str) -> str:
    with hub.open(path) as answer:
        return answer.read().decode()


def finished(hub: Hub, url: str) -> dict[str, Any]:
    return eventually(lambda: (found := job(hub, url))["finished"] and found, 120)


def test_a_big_import_shows_its_progress_moving(hub: Hub, tmp_path: Path) -> None:
    big = pack_zip(tmp_path / "films.zip", "big-films", FILES, FILE_BYTES)
    url = upload_import(hub, big)["job"]
    seen: list[tuple[str, int, int]] = []
    shown_running = ""
    while not (now := job(hub, url))["finished"]:
        if now["state"] == "running" and now["total"]:
            seen.append((now["line"], now["done"], now["total"]))
            if not shown_running:
                shown_running = page(hub, url)
    done = {value for _, value, _ in seen}
    assert len(done) >= 2, seen  # moved while it ran
    assert all(0 < value <= total for _, value, total in seen)
    assert seen[0][0].startswith("Importing films.zip: ")
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in shown_running
    assert 'data-state="running"' in shown_running and "<progress max=" in shown_running
    assert now["state"] == "done" and now["outcome"] == ["Imported big-films 1."]
    shown = page(hub, url)
    assert "Imported big-films 1." in shown and 'http-equiv="refresh"' not in shown
    assert "Imported big-films 1." in page(hub, "/admin/jobs/")
    assert not list((hub.server.data_dir / "drafts" / "imports").glob("*/*"))  # upload dropped


def test_a_refused_import_shows_every_reason(hub: Hub, tmp_path: Path) -> None:
    bad = pack_zip(tmp_path / "bad.zip", "bad-pack", 1, 10, '{"id": "bad-pack",}')
    url = upload_import(hub, bad)["job"]
    ended = finished(hub, url)
    assert ended["state"] == "refused"
    assert ended["outcome"][0] == "bad.zip was not imported; nothing changed."
    assert any("comma before }" in line for line in ended["outcome"][1:]), ended
    shown = page(hub, url)
    assert 'data-state="refused"' in shown and "comma before }" in shown
    assert 'role="alert">bad.zip was not imported; nothing changed.' in shown


def test_a_second_job_while_one_runs_is_refused_in_words(hub: Hub, tmp_path: Path) -> None:
    small = pack_zip(tmp_path / "small.zip", "small-pack", 1, 1000)
    # Another process (a CLI import, say) holds the library: the first job waits on it, running.
    with open(hub.server.data_dir / "library.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url = upload_import(hub, small)["job"]
        assert job(hub, url)["state"] == "running"
        with hub.form("/admin/jobs/rebuild") as answer:
            assert answer.url.endswith("/admin/jobs/")
            assert "The hub is busy with other long work" in answer.read().decode()
        size = str(small.stat().st_size)
        with pytest.raises(urllib.error.HTTPError) as busy:
            hub.form("/admin/own-packs/import/uploads", name="small.zip", size=size)
        assert busy.value.code == 503 and busy.value.headers["Retry-After"] == "30"
        assert "try again when it has finished" in json.loads(busy.value.read())["error"]["message"]
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert finished(hub, url)["outcome"] == ["Imported small-pack 1."]
    with hub.form("/admin/jobs/rebuild") as answer:
        rebuilt = answer.url
    assert "/admin/jobs/" in rebuilt and finished(hub, rebuilt)["outcome"][0].startswith(
        "The search index was rebuilt: "
    )


def test_verify_runs_as_a_job_and_names_damage(hub: Hub, tmp_path: Path) -> None:
    url = upload_import(hub, pack_zip(tmp_path / "check.zip", "check-pack", 2, 5000))["job"]
    assert finished(hub, url)["state"] == "done"
    with hub.form("/admin/jobs/verify") as answer:
        verified = finished(hub, answer.url)
    assert verified["state"] == "done" and verified["outcome"][0].startswith("All ")
    assert verified["outcome"][0].endswith("files are intact.")
    blobs = sorted((hub.server.data_dir / "blobs").glob("*/*"))
    with open(blobs[0], "r+b") as damaged:
        damaged.write(b"changed")
    with hub.form("/admin/jobs/verify") as answer:
        verified = finished(hub, answer.url)
    assert verified["outcome"][0] == "1 file is damaged; import its pack again to repair it."
    assert "(changed); lessons:" in verified["outcome"][1]
