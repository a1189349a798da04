"""Learners, sign-in and progress calls for the progress tests, in-process and over real HTTP.

add_learner("Amina Juma", pin="1234")             # in a `connected()` block or a request
sign_in(client, "amina-juma", "1234")             # the Flask test client
prepare_hub(data_dir, learners=[...], packs=[...])  # a data dir a LiveServer then serves
Session(server.url).post_json("/api/progress", {...})  # urllib with a cookie jar
"""

from __future__ import annotations

import http.cookiejar
import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from hub.cli.common import prepare_data_dir
from hub.core.datadir import samples_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.people.models import ClassGroup, Learner, StaffUser
from hub.web.app import create_app

JSON = {"Content-Type": "application/json"}


def add_learner(name: str, pin: str | None = "1234", class_name: str | None = None) -> Learner:
    learner = Learner.add(name, pin=pin)
    if class_name:
        ClassGroup.named(class_name, create=True).add_learner(learner)
    return learner


def add_coach(name: str = "Coach Carter", password: str = "coach-password") -> StaffUser:
    return StaffUser.add(name, "coach", password)


def sign_in(client: FlaskClient, username: str, pin: str = "1234") -> None:
    response = client.post("/api/session", json={"username": username, "pin": pin})
    assert response.status_code == 201, response.json


def sign_in_staff(client: FlaskClient, username: str, password: str = "coach-password") -> None:
    response = client.post("/api/session", json={"username": username, "password": password})
    assert response.status_code == 201, response.json


def prepare_hub(
    data_dir: Path, learners: Iterable[str] = (), packs: Iterable[Path] = (), samples: bool = True
) -> None:
    """A data dir with a database, the given learners (PIN 1234) and packs, ready to serve."""
    config = load_config(data_dir, {"load_samples": False}, environ={})
    app = create_app(prepare_data_dir(config))
    with connected():
        for name in learners:
            add_learner(name)
        paths = [samples_dir()] if samples else []
        for outcome in app.extensions["library"].import_paths([*paths, *packs]):
            assert outcome.error is None, outcome.error


class Session:
    """A browser-like HTTP client for a LiveServer: cookies kept, JSON in and out."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=JSON if data else {}
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            with err:
                return err.code, json.loads(err.read() or b"null")

    def sign_in(self, username: str, pin: str = "1234") -> None:
        status, body = self.call("POST", "/api/session", {"username": username, "pin": pin})
        assert status == 201, body

    def my_progress(self) -> dict[tuple[str, str], dict]:
        status, body = self.call("GET", "/api/progress/me")
        assert status == 200, body
        return {(row["pack_id"], row["lesson_id"]): row for row in body["progress"]}


def _read(db_path: Path, sql: str) -> list[sqlite3.Row]:
    """Rows straight from the SQLite file, read-only beside a running server: WAL lets a
    reader see exactly what was committed."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def events_in(db_path: Path) -> list[dict]:
    rows = _read(db_path, "SELECT * FROM event ORDER BY seq")
    return [{**dict(row), "fields": json.loads(row["fields"])} for row in rows]


def learner_ids(db_path: Path) -> dict[str, int]:
    return {
        row["username"]: row["id"] for row in _read(db_path, "SELECT id, username FROM learner")
    }
