"""Teachers' own packs on the admin pages (issue 16), in-process: make a draft, upload files
(plain form and pieces), set titles, order and topics, write a quiz, publish through the
import, export as a .zip that another hub imports as the same pack; and every hostile case:
names that climb out, Content-Range lies, offsets that do not line up, pieces too large, someone
else's draft, no CSRF token, a coach when coaches are not allowed, a full draft space."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from hub.cli.common import prepare_data_dir
from hub.cli.main import main
from hub.core.db import connected
from hub.core.settings import load_config
from hub.library.draft_uploads import MAX_CHUNK, DraftUpload
from hub.library.drafts import DraftPack
from hub.library.models import Lesson, Pack, Topic
from hub.library.packs import Library
from hub.people.models import StaffUser
from hub.web.app import create_app
from tests.test_admin import csrf, post, staff_sign_in
from tests.waiting import eventually

PASSWORD = "teacher-pw"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
PAGE = (
    b"<html><head><title>x</title></head><body><p>Water cycle</p><img src='rain.png'></body></html>"
)


def make_app(tmp_path: Path, **settings: object) -> Flask:
    config = load_config(tmp_path / "data", {"load_samples": False, **settings}, environ={})
    return create_app(prepare_data_dir(config))


def signed_in(app: Flask, name: str, role: str) -> FlaskClient:
    with app.app_context(), connected():
        user = StaffUser.add(name, role, PASSWORD)
    client = app.test_client()
    staff_sign_in(client, user.username, PASSWORD)
    return client


@pytest.fixture
def hub(tmp_path: Path) -> Flask:
    return make_app(tmp_path)


@pytest.fixture
def operator(hub: Flask) -> FlaskClient:
    return signed_in(hub, "Olive Operator", "operator")


def new_draft(client: FlaskClient, title: str = "Water and weather") -> int:
    response = post(
        client,
        "/admin/own-packs/",
        title=title,
        language="en",
        license="CC-BY-SA-4.0",
        author="Amina Juma, Kibera School",
        subject="science",
    )
    assert response.status_code == 303, response.text
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def send_files(client: FlaskClient, draft_id: int, files: dict[str, bytes]):
    data = {"csrf_token": csrf(client), "files": [(io.BytesIO(b), n) for n, b in files.items()]}
    return client.post(f"/admin/own-packs/{draft_id}/files", data=data)


def start(client: FlaskClient, url: str, name: str, size: int):
    data = {"csrf_token": csrf(client), "name": name, "size": str(size)}
    return client.post(url, data=data, headers={"Accept": "application/json"})


def put(client: FlaskClient, url: str, body: bytes, content_range: str, **headers: str):
    headers = {"Content-Range": content_range, "X-CSRF-Token": csrf(client), **headers}
    return client.put(url, data=body, headers={**headers, "Accept": "application/json"})


def publish(client: FlaskClient, draft_id: int) -> dict:
    """Publish as the page does: a job, followed on its page until it has finished."""
    answer = post(client, f"/admin/own-packs/{draft_id}/publish")
    assert answer.status_code == 303, answer.text
    page = urlsplit(answer.headers["Location"]).path
    assert page.startswith(f"/admin/own-packs/{draft_id}/publishing/")
    return eventually(lambda: (job := client.get(page + ".json").json)["finished"] and job, 30)


def test_a_teacher_makes_a_pack_publishes_it_and_it_is_like_any_other(
    hub: Flask, operator: FlaskClient, tmp_path: Path
) -> None:
    draft_id = new_draft(operator)
    sent = send_files(
        operator,
        draft_id,
        {"02 - The water cycle.html": PAGE, "rain.png": PNG, "01 - Clouds.png": PNG},
    )
    assert sent.status_code == 303, sent.text
    page = operator.get(f"/admin/own-packs/{draft_id}").text
    assert "The water cycle" in page and "Clouds" in page and "rain.png" in page
    # Pieces: a quiz-free PDF-less third lesson sent in two pieces, as uploads.js does.
    body = PNG * 3
    started = start(operator, f"/admin/own-packs/{draft_id}/uploads", "03 - Sun.png", len(body))
    assert started.status_code == 201, started.text
    url = f"/admin/own-packs/{draft_id}/uploads/{started.json['upload_id']}"
    half = len(body) // 2
    first = put(operator, url, body[:half], f"bytes 0-{half - 1}/{len(body)}")
    assert first.json == {"received": half, "size": len(body), "done": False}
    last = put(operator, url, body[half:], f"bytes {half}-{len(body) - 1}/{len(body)}")
    assert last.json["done"] is True
    # Titles, order and a topic.
    form = {
        "csrf_token": csrf(operator),
        "file": ["01 - Clouds.png", "02 - The water cycle.html", "03 - Sun.png"],
        "title": ["Clouds in the sky", "The water cycle", "The sun"],
        "position": ["2", "1", "3"],
        "topic": ["Weather", "", "Weather"],
    }
    assert operator.post(f"/admin/own-packs/{draft_id}/lessons", data=form).status_code == 303
    assert publish(operator, draft_id)["outcome"] == ["Published version 1: learners see it now."]
    with hub.app_context(), connected():
        draft = DraftPack.get_by_id(draft_id)
        pack = Pack.with_manifest(draft.pack_id)
        assert pack is not None and pack.license == "CC-BY-SA-4.0"
        assert pack.manifest["author"] == "Amina Juma, Kibera School"
        lessons = [lesson.title for lesson in Lesson.in_pack(pack.id)]
        assert lessons == ["The water cycle", "Clouds in the sky", "The sun"]
        assert [t.title for t in Topic.select().where(Topic.pack == pack.id)] == ["Weather"]
        assert pack.manifest["lessons"][0]["assets"] == ["rain.png"]
    # An ordinary pack: its lessons are found by search, and publishing again is unchanged.
    found = operator.get("/api/search?q=water+cycle").json
    assert any(r["pack_id"] == draft.pack_id for r in found["results"]), found
    again = publish(operator, draft_id)
    assert again["outcome"] == ["Nothing changed since version 1 was published."]
    assert "Nothing changed since version 1" in operator.get(f"/admin/own-packs/{draft_id}").text
    # Exported from the page, it imports on another hub as the same pack.
    exported = operator.get(f"/admin/own-packs/export/{draft.pack_id}.zip")
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    target = tmp_path / "other.zip"
    target.write_bytes(exported.data)
    other = load_config(tmp_path / "other", {"load_samples": False}, environ={})
    prepare_data_dir(other)
    outcome = Library(other).import_paths([target])[0]
    assert outcome.result is not None and outcome.result.pack_id == draft.pack_id
    assert outcome.result.version == "1" and outcome.result.lessons == 3


def test_export_on_the_command_line_reimports_to_the_same_pack(
    hub: Flask, operator: FlaskClient, tmp_path: Path
) -> None:
    draft_id = new_draft(operator, "Counting")
    send_files(operator, draft_id, {"one.png": PNG})
    publish(operator, draft_id)
    data = str(hub.config["LEARNHUB"].data_dir)
    runner = CliRunner()
    target = tmp_path / "counting.zip"
    result = runner.invoke(main, ["content", "export", "own-counting", str(target), "--data", data])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(target) as archive:
        manifest = json.loads(archive.read("pack.json"))
        assert archive.read("one.png") == PNG
    assert manifest["id"] == "own-counting" and manifest["license"] == "CC-BY-SA-4.0"
    other = tmp_path / "other"
    result = runner.invoke(main, ["content", "import", str(target), "--data", str(other)])
    assert result.exit_code == 0 and "installed own-counting 1" in result.output, result.output
    missing = runner.invoke(main, ["content", "export", "nope", str(target), "--data", data])
    assert missing.exit_code == 1 and "No pack with id 'nope'" in missing.output


def test_the_quiz_editor_without_javascript(hub: Flask, operator: FlaskClient) -> None:
    draft_id = new_draft(operator)
    url = f"/admin/own-packs/{draft_id}/quiz"
    assert 'name="q0-prompt"' in operator.get(url).text  # a first question to fill in
    fields = {
        "csrf_token": csrf(operator),
        "title": "Check: weather",
        "count": "1",
        "q0-id": "q1",
        "q0-type": "single",
        "q0-prompt": "What falls from clouds?",
        "q0-choices": "Sand\n* Rain\nLeaves",
        "q0-hint": "It is wet.",
    }
    grown = operator.post(url, data={**fields, "action": "add-numeric"})
    assert 'name="q1-answer"' in grown.text and 'name="q0-choices"' in grown.text
    fields.update({"count": "4", "q1-id": "q2", "q1-type": "numeric", "q1-prompt": "2 + 2?"})
    fields.update({"q1-answer": "4", "q2-id": "q3", "q2-type": "multiple", "q2-prompt": "Wet?"})
    fields.update({"q2-choices": "* Rain\nSun\n* Snow", "q3-id": "q4", "q3-type": "text"})
    fields.update({"q3-prompt": "Frozen rain?", "q3-answer": "snow\nhail", "pick": "3"})
    fields.update({"mastery_correct": "2", "mastery_of": "3", "q3-explanation": "Ice."})
    preview = operator.post(url, data={**fields, "action": "preview"})
    assert preview.status_code == 200, preview.text
    assert "Preview: what learners see" in preview.text and "Check my answer" in preview.text
    saved = operator.post(url, data={**fields, "action": "save"})
    assert saved.status_code == 303, saved.text
    edit = operator.get(saved.headers["Location"]).text
    assert "* Rain" in edit and "hail" in edit
    wrong = operator.post(url, data={**fields, "q0-choices": "Sand\nRain", "action": "save"})
    assert wrong.status_code == 400
    assert "mark the right choice with *" in wrong.text
    assert publish(operator, draft_id)["state"] == "done"
    with hub.app_context(), connected():
        pack_id = DraftPack.get_by_id(draft_id).pack_id
        quiz = Lesson.get(Lesson.pack == pack_id, Lesson.kind == "exercise")
    assert quiz.title == "Check: weather"
    page = operator.get(f"/lessons/{pack_id}/{quiz.lesson_id}/quiz")
    assert page.status_code == 200


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.html", "..\\evil.html", "a/b.png", ".hidden.png", "pack.json", ""]
)
def test_names_that_climb_out_or_hide_are_refused(operator: FlaskClient, name: str) -> None:
    draft_id = new_draft(operator)
    answer = start(operator, f"/admin/own-packs/{draft_id}/uploads", name, 10)
    assert answer.status_code == 400
    sent = send_files(operator, draft_id, {name or "x": PNG} if name else {})
    assert sent.status_code == 400


def test_pieces_that_lie_or_do_not_line_up(operator: FlaskClient) -> None:
    draft_id = new_draft(operator)
    started = start(operator, f"/admin/own-packs/{draft_id}/uploads", "big.png", 100)
    url = f"/admin/own-packs/{draft_id}/uploads/{started.json['upload_id']}"
    cases = [
        (b"x" * 10, "bytes 0-9/200", 400, "the upload announced 100"),
        (b"x" * 10, "bytes 0-19/100", 400, "Content-Range names 20"),
        (b"x" * 10, "bytes 9-0/100", 400, "not possible"),
        (b"x" * 10, "bytes 0-9/*", 400, "Content-Range: bytes START-END/SIZE"),
        (b"x" * 10, "bytes 10-19/100", 409, "does not start at byte 0"),
    ]
    for body, content_range, status, words in cases:
        answer = put(operator, url, body, content_range)
        assert answer.status_code == status, (content_range, answer.text)
        assert words in answer.json["error"]["message"]
    assert put(operator, url, b"x" * 10, "bytes 0-9/100").json["received"] == 10
    conflict = put(operator, url, b"x" * 10, "bytes 0-9/100")
    assert conflict.status_code == 409 and conflict.headers["X-Received"] == "10"
    huge = MAX_CHUNK + 1
    too_big = put(operator, url, b"x" * huge, f"bytes 10-{10 + huge - 1}/100")
    assert too_big.status_code in (400, 413)
    assert operator.get(url, headers={"Accept": "application/json"}).json["received"] == 10


def test_a_piece_too_large_is_refused(operator: FlaskClient) -> None:
    draft_id = new_draft(operator)
    size = 3 * MAX_CHUNK
    started = start(operator, f"/admin/own-packs/{draft_id}/uploads", "video.mp4", size)
    url = f"/admin/own-packs/{draft_id}/uploads/{started.json['upload_id']}"
    answer = put(operator, url, b"x" * (MAX_CHUNK + 1), f"bytes 0-{MAX_CHUNK}/{size}")
    assert answer.status_code == 413


def test_someone_elses_draft_and_upload_are_not_there(hub: Flask, operator: FlaskClient) -> None:
    hub.config["LEARNHUB"] = load_config(
        hub.config["LEARNHUB"].data_dir, {"coaches_make_packs": True}, environ={}
    )
    first, second = signed_in(hub, "Coach One", "coach"), signed_in(hub, "Coach Two", "coach")
    draft_id = new_draft(first)
    started = start(first, f"/admin/own-packs/{draft_id}/uploads", "a.png", len(PNG))
    url = f"/admin/own-packs/{draft_id}/uploads/{started.json['upload_id']}"
    assert second.get(f"/admin/own-packs/{draft_id}").status_code == 404
    assert put(second, url, PNG, f"bytes 0-{len(PNG) - 1}/{len(PNG)}").status_code == 404
    assert send_files(second, draft_id, {"b.png": PNG}).status_code == 404
    assert post(second, f"/admin/own-packs/{draft_id}/publish").status_code == 404
    own = new_draft(second, "Mine")
    stolen = f"/admin/own-packs/{own}/uploads/{started.json['upload_id']}"
    assert put(second, stolen, PNG, f"bytes 0-{len(PNG) - 1}/{len(PNG)}").status_code == 404
    assert operator.get(f"/admin/own-packs/{draft_id}").status_code == 200  # operators see all


def test_coaches_only_when_the_operator_allows_it(hub: Flask) -> None:
    coach = signed_in(hub, "Carol Coach", "coach")
    refused = coach.get("/admin/own-packs/")
    assert refused.status_code == 403
    assert "has not allowed coaches to make packs" in refused.text
    assert post(coach, "/admin/own-packs/", title="x", language="en").status_code == 403
    assert 'id="own-packs"' not in coach.get("/coach/").text
    hub.config["LEARNHUB"] = load_config(
        hub.config["LEARNHUB"].data_dir, {"coaches_make_packs": True}, environ={}
    )
    assert 'id="own-packs"><a href="/admin/own-packs/">' in coach.get("/coach/").text
    assert coach.get("/admin/own-packs/").status_code == 200
    assert post(coach, "/admin/own-packs/import").status_code == 403  # imports: operators only


def test_no_csrf_token_no_change(operator: FlaskClient) -> None:
    draft_id = new_draft(operator)
    data = {"title": "x", "language": "en", "license": "CC0-1.0"}
    assert operator.post("/admin/own-packs/", data=data).status_code == 400
    files = {"files": [(io.BytesIO(PNG), "a.png")]}
    assert operator.post(f"/admin/own-packs/{draft_id}/files", data=files).status_code == 400
    started = start(operator, f"/admin/own-packs/{draft_id}/uploads", "a.png", len(PNG))
    url = f"/admin/own-packs/{draft_id}/uploads/{started.json['upload_id']}"
    headers = {"Content-Range": f"bytes 0-{len(PNG) - 1}/{len(PNG)}"}
    assert operator.put(url, data=PNG, headers=headers).status_code == 400
    with operator.application.app_context(), connected():
        assert DraftPack.select().count() == 1


def test_details_are_checked_in_words(operator: FlaskClient) -> None:
    cases = [
        ({"title": "", "language": "en", "license": "CC0-1.0"}, "Give the pack a title"),
        ({"title": "x", "language": "english!", "license": "CC0-1.0"}, "short code"),
        ({"title": "x", "language": "en", "license": "GPL"}, "one of the licences offered"),
    ]
    for form, words in cases:
        answer = post(operator, "/admin/own-packs/", **form)
        assert answer.status_code == 400 and words in answer.text


def test_space_is_bounded_and_said_in_words(tmp_path: Path) -> None:
    hub = make_app(tmp_path, draft_space_bytes=1000)
    client = signed_in(hub, "Olive Operator", "operator")
    draft_id = new_draft(client)
    answer = start(client, f"/admin/own-packs/{draft_id}/uploads", "a.mp4", 5000)
    assert answer.status_code == 413 and "4.9 KB" in answer.json["error"]["message"]
    first = start(client, f"/admin/own-packs/{draft_id}/uploads", "a.mp4", 800)
    assert first.status_code == 201
    second = start(client, f"/admin/own-packs/{draft_id}/uploads", "b.mp4", 800)
    assert second.status_code == 507
    assert "no room for this file" in second.json["error"]["message"]
    again = start(client, f"/admin/own-packs/{draft_id}/uploads", "a.mp4", 800)
    assert again.json["upload_id"] == first.json["upload_id"]  # the same file resumes


def test_abandoned_uploads_are_swept(hub: Flask, operator: FlaskClient) -> None:
    draft_id = new_draft(operator)
    started = start(operator, f"/admin/own-packs/{draft_id}/uploads", "a.mp4", 500)
    uploads = hub.extensions["draft_uploads"]
    with hub.app_context(), connected():
        upload = DraftUpload.get_by_id(started.json["upload_id"])
        part = uploads.parts / f"{upload.upload_id}.part"
        assert part.is_file()
        assert uploads.sweep(now=upload.touched + 3 * 24 * 3600) == 1
        assert not part.exists() and DraftUpload.select().count() == 0


def test_a_pack_zip_or_zim_is_imported_and_anything_else_refused(
    hub: Flask, operator: FlaskClient, tmp_path: Path
) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        manifest = {"format": "learnhub-pack/1", "id": "shared-pack", "version": "2"}
        manifest.update({"title": "Shared", "language": "en"})
        manifest["lessons"] = [{"id": "one", "title": "One", "kind": "image", "file": "one.png"}]
        out.writestr("pack.json", json.dumps(manifest))
        out.writestr("one.png", PNG)
    data = {"csrf_token": csrf(operator), "file": (io.BytesIO(archive.getvalue()), "shared.zip")}
    answer = operator.post("/admin/own-packs/import", data=data)
    assert answer.status_code == 303 and "/admin/jobs/" in answer.location, answer.text
    done = finished_job(operator, answer.location)
    assert 'data-state="done"' in done and "Imported shared-pack 2." in done
    data = {"csrf_token": csrf(operator), "file": (io.BytesIO(b"not a zip"), "broken.zip")}
    broken = operator.post("/admin/own-packs/import", data=data)
    refused = finished_job(operator, broken.location)
    assert 'data-state="refused"' in refused
    assert "broken.zip was not imported; nothing changed." in refused
    data = {"csrf_token": csrf(operator), "file": (io.BytesIO(b"x"), "notes.txt")}
    other = operator.post("/admin/own-packs/import", data=data)
    assert other.status_code == 400
    assert "The hub imports only a pack or a zipped Kolibri export (.zip)" in other.text


def test_the_upload_page_names_every_kind_it_takes(operator: FlaskClient) -> None:
    page = operator.get("/admin/own-packs/").text
    for words in (
        "a pack downloaded from another hub (a .zip file)",
        "a Kiwix library such as Wikipedia for offline use (a .zim file)",
        "an H5P activity, an interactive exercise (a .h5p file)",
        "a Kolibri channel exported to a USB stick: zip its KOLIBRI_DATA folder first",
        'accept=".zip,.zim,.h5p,.epub"',
    ):
        assert words in page, words


def finished_job(client: FlaskClient, url: str) -> str:
    """The job's page once its work is done; until then it refreshes itself."""

    def finished() -> str | None:
        page = client.get(url).text
        if 'data-finished="yes"' in page:
            assert '<meta http-equiv="refresh"' not in page
            return page
        assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
        return None

    return eventually(finished, 20)
