"""Publishing a draft runs as a job (in-process, one job waiting at most): the request answers
at once with the job's page, which refreshes itself without JavaScript while the library is
held by other work, and which only the draft's maker (or an operator) may see; the draft page
shows the publishing's progress, then its outcome; a refused publish says why on both; a
draft deleted before its job runs is refused in words; more jobs than may wait are refused."""

from __future__ import annotations

import fcntl
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient

from hub.core.db import connected
from tests.test_admin import post
from tests.test_authoring import PNG, make_app, new_draft, send_files, signed_in
from tests.test_authoring import hub as _hub
from tests.test_authoring import operator as _operator
from tests.test_jobs_live import pack_zip
from tests.waiting import eventually

hub, operator = _hub, _operator  # an in-process hub with an operator signed in


def started(client: FlaskClient, draft_id: int) -> str:
    answer = post(client, f"/admin/own-packs/{draft_id}/publish")
    assert answer.status_code == 303, answer.text
    return urlsplit(answer.headers["Location"]).path


def job(client: FlaskClient, page: str) -> dict:
    answer = client.get(page + ".json")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    return answer.json


def ended(client: FlaskClient, page: str) -> dict:
    return eventually(lambda: (found := job(client, page))["finished"] and found, 30)


def test_publishing_is_a_job_its_page_follows_and_the_draft_page_shows(tmp_path: Path) -> None:
    hub: Flask = make_app(tmp_path, coaches_make_packs=True, jobs_waiting=1)
    coach = signed_in(hub, "Carol Coach", "coach")
    other = signed_in(hub, "Colin Coach", "coach")
    rivers, lakes, seas = (new_draft(coach, title) for title in ("Rivers", "Lakes", "Seas"))
    for draft_id in (rivers, lakes, seas):
        assert send_files(coach, draft_id, {"01 - Water.png": PNG}).status_code == 303
    lock_path = hub.config["LEARNHUB"].data_dir / "library.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another import holds the library
        page = started(coach, rivers)
        eventually(lambda: job(coach, page)["state"] == "running")
        waiting = started(coach, lakes)
        shown = coach.get(page)
        assert shown.status_code == 200 and "<h1>Publishing Rivers</h1>" in shown.text
        assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in shown.text
        assert (
            'data-state="running"' in shown.text and 'href="">See how far it is now' in shown.text
        )
        assert f'href="/admin/own-packs/{rivers}">Back to the pack' in shown.text
        assert job(coach, waiting)["line"] == "Waiting for the work before it to finish…"
        assert f'href="{page}">Starting…</a>' in coach.get(f"/admin/own-packs/{rivers}").text
        # Only the draft's maker follows it; a job of another draft is not found here.
        assert other.get(page).status_code == 404
        assert other.get(page + ".json").status_code == 404
        assert coach.get(waiting.replace(f"/{lakes}/", f"/{rivers}/")).status_code == 404
        # One job runs and one waits: a third is refused on the draft page, in words.
        busy = post(coach, f"/admin/own-packs/{seas}/publish")
        assert busy.status_code == 503
        assert "The hub is busy with other long work and 1 more waiting" in busy.text
        # A draft deleted before its job runs is not published.
        assert post(coach, f"/admin/own-packs/{lakes}/delete", confirm="1").status_code == 303
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert ended(coach, page)["outcome"] == ["Published version 1: learners see it now."]
    # Its page went with the draft; the operator's list of long work says what happened.
    assert coach.get(waiting).status_code == 404
    operator = signed_in(hub, "Olive Operator", "operator")
    gone = operator.get("/api/jobs/" + waiting.rsplit("/", 1)[1]).json
    assert gone["outcome"] == ["The draft was deleted before it was published."]
    done = coach.get(page).text
    assert 'http-equiv="refresh"' not in done and 'data-state="done"' in done
    draft_page = coach.get(f"/admin/own-packs/{rivers}").text
    assert "Last publishing: Published version 1: learners see it now." in draft_page
    assert "Published as own-rivers, version 1." in draft_page


def test_a_refused_publish_says_why_on_its_page_and_the_draft_page(
    hub: Flask, operator: FlaskClient, tmp_path: Path
) -> None:
    draft_id = new_draft(operator, "Taken")
    assert send_files(operator, draft_id, {"a.png": PNG}).status_code == 303
    # A pack from elsewhere arrives with the id the draft was given.
    with hub.app_context(), connected():
        zipped = pack_zip(tmp_path / "taken.zip", "own-taken", 1, 100)
        assert hub.extensions["library"].import_paths([zipped])[0].result is not None
    page = started(operator, draft_id)
    outcome = ended(operator, page)
    why = "A pack with the id own-taken came from elsewhere; this draft cannot replace it."
    assert outcome["state"] == "refused" and outcome["outcome"] == [why]
    assert f'role="alert">{why}</p>' in operator.get(page).text
    shown = operator.get(f"/admin/own-packs/{draft_id}").text
    assert f"Last publishing: {why}" in shown


def test_a_draft_with_no_file_is_refused_at_once(operator: FlaskClient) -> None:
    draft_id = new_draft(operator, "Empty")
    answer = post(operator, f"/admin/own-packs/{draft_id}/publish")
    assert answer.status_code == 400
    assert "a pack needs at least one lesson" in answer.text
