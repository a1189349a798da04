"""A job's page in a real headless Chromium on a 360 px phone (`learnhub serve`, one job at a
time): an import uploaded on the own-packs page, and a draft's publishing, are held running
by another process holding the library; once it lets go the page reaches done. With
JavaScript the page updates in place (the same document, never reloaded); without it, it
refreshes itself until the outcome is shown."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.browser import fits_phone, shot
from tests.conftest import ROOT, LiveServer
from tests.test_authoring import PNG
from tests.test_authoring_browser import PASSWORD, make_pack, signed_in_page
from tests.test_jobs_live import pack_zip

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("job-page") / "data"
    add = [sys.executable, "-m", "hub", "users", "add", "Olive", "--role", "operator"]
    done = subprocess.run(
        [*add, "--password", PASSWORD, "--data", str(data)], cwd=ROOT, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    env = {"LEARNHUB_LOAD_SAMPLES": "false", "LEARNHUB_JOBS_WAITING": "0"}
    live = LiveServer(data, env=env)
    try:
        live.wait_until_ready()
        yield live
    finally:
        live.stop()


@contextmanager
def library_held(server: LiveServer) -> Iterator[Any]:
    """Another process (a CLI import, say) holds the library: a job waits on it, running."""
    with open(server.data_dir / "library.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield lock
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def running(page: Any) -> None:
    page.wait_for_selector("#job[data-state=running]", timeout=30000)
    assert page.locator("#job progress").count() == 1
    assert fits_phone(page)


def reaches_done_in_place(page: Any, server: LiveServer, lock: Any, words: str) -> None:
    """Mark the document, let the library go, and see the outcome in the same document."""
    page.evaluate("window.stillTheSamePage = true")
    fcntl.flock(lock, fcntl.LOCK_UN)
    page.wait_for_selector(f"#job[data-finished=yes][data-state=done] >> text={words}")
    assert page.evaluate("window.stillTheSamePage === true"), "the page was reloaded"
    assert page.locator("#job progress").count() == 0
    assert page.locator("#job [role=status]").inner_text() == words
    assert fits_phone(page)


def test_an_import_job_page_reaches_done_with_and_without_javascript(
    browser: Any, server: LiveServer, tmp_path: Path
) -> None:
    for script in (True, False):
        pack_id = "films-script" if script else "films-plain"
        zipped = pack_zip(tmp_path / f"{pack_id}.zip", pack_id, 1, 20000)
        page = signed_in_page(browser, server, script)
        page.set_input_files("#import-file", str(zipped))
        with library_held(server) as lock:
            page.click("text=Upload and import")
            page.wait_for_url("**/admin/jobs/*", timeout=30000)
            running(page)
            if script:
                shot(page, f"job-page-running-{pack_id}")
                reaches_done_in_place(page, server, lock, f"Imported {pack_id} 1.")
            else:
                assert page.locator("noscript meta[http-equiv=refresh]").count() == 1
                assert "See how far it is now" in page.inner_text("#job")
                fcntl.flock(lock, fcntl.LOCK_UN)
                # The page refreshes itself (every 2 s) until the import has finished.
                page.wait_for_selector("#job[data-finished=yes]", timeout=30000)
                assert page.inner_text("#job [role=status]") == f"Imported {pack_id} 1."
                assert page.locator("meta[http-equiv=refresh]").count() == 0
                assert fits_phone(page)
        shot(page, f"job-page-done-{pack_id}")
        page.context.close()


def test_a_publishing_page_reaches_done_in_place(
    browser: Any, server: LiveServer, tmp_path: Path
) -> None:
    page = signed_in_page(browser, server, True)
    make_pack(page, "Harbour boats")
    picture = tmp_path / "01 - Boats.png"
    picture.write_bytes(PNG)
    page.set_input_files("#upload-files", str(picture))
    page.click("form[data-upload-start] button[type=submit]")
    page.wait_for_selector("input[name=title][value='Boats']", timeout=30000)
    with library_held(server) as lock:
        page.click("button.wide:has-text('Publish')")
        page.wait_for_url("**/publishing/*")
        running(page)
        assert page.inner_text("h1") == "Publishing Harbour boats"
        reaches_done_in_place(page, server, lock, "Published version 1: learners see it now.")
    page.click("text=Back to the pack")
    page.wait_for_selector("text=Last publishing: Published version 1: learners see it now.")
    assert fits_phone(page)
    page.context.close()
