"""The quiz tests' shared pieces: a pack whose exercise `pick`s 4 of 12 questions, the right
(and a wrong) answer to any question, a form-posting HTTP client for a real server that does
not follow redirects, and reads of the quiz tables from the SQLite file.

client = FormClient(server.url); client.sign_in("amina-juma")
status, page, headers = client.post("/lessons/p/l/quiz", {"after": "0"})   # adds the CSRF token
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import socket
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import SAMPLES
from tests.content_helpers import sample_manifest, write_pack_dir

FRACTIONS = ("fractions-en", "fractions-quiz")  # the sample library's quiz: 9 questions
PICKED = ("picked-quiz", "twelve")  # 4 of 12 questions per attempt
PICK = 4


def lesson_url(lesson: tuple[str, str]) -> str:
    return f"/lessons/{lesson[0]}/{lesson[1]}"


def sample_exercise() -> dict[str, Any]:
    return json.loads((SAMPLES / "fractions-en" / "quiz" / "fractions-quiz.json").read_text())


def picked_exercise() -> dict[str, Any]:
    questions = [
        {
            "id": f"n{at}",
            "type": "numeric",
            "prompt": f"What is {at} plus {at}?",
            "answer": 2 * at,
            "explanation": f"Twice {at} is {2 * at} (explained).",
        }
        for at in range(12)
    ]
    return {"pick": PICK, "mastery": {"correct": 4, "of": 4}, "questions": questions}


def picked_pack(root: Path) -> Path:
    manifest = sample_manifest(id=PICKED[0], title="Sums")
    manifest["topics"] = []
    manifest["lessons"] = [
        {"id": PICKED[1], "title": "Twelve sums", "kind": "exercise", "file": "twelve.json"}
    ]
    return write_pack_dir(root, manifest, {"twelve.json": json.dumps(picked_exercise()).encode()})


def questions_by_id(exercise: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {question["id"]: question for question in exercise["questions"]}


def right_answer(question: dict[str, Any]) -> list[str]:
    """The form values that answer `question` rightly."""
    answer = question["answer"]
    if question["type"] == "multiple":
        return [str(index) for index in answer]
    if question["type"] == "text":
        return [answer if isinstance(answer, str) else answer[0]]
    return [str(answer)]


def wrong_answer(question: dict[str, Any]) -> list[str]:
    if question["type"] == "single":
        return [str((question["answer"] + 1) % len(question["choices"]))]
    if question["type"] == "multiple":
        return [str(i) for i in range(len(question["choices"])) if i not in question["answer"]][:1]
    if question["type"] == "numeric":
        return [str(question["answer"] + 1000)]
    return ["certainly not this"]


def secrets_of(exercise: dict[str, Any]) -> list[str]:
    """Text that only a question's answer or explanation would put in a page."""
    return [q["explanation"] for q in exercise["questions"] if q.get("explanation")]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 303 itself is what the tests look at


class FormClient:
    """A browser without JavaScript: cookies kept, forms posted with the page's CSRF token,
    redirects handed back (status 303 and Location) rather than followed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        self.token = ""

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, str, dict[str, str]]:
        url = path if path.startswith("http") else self.base_url + path
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                status, text, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as err:
            with err:
                status, text, got = err.code, err.read(), err.headers
        page = text.decode("utf-8", "replace")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if found:
            self.token = found[1]
        return status, page, dict(got.items())

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        return self.request("GET", path)

    def post(
        self, path: str, fields: dict[str, str | list[str]], token: bool = True
    ) -> tuple[int, str, dict[str, str]]:
        pairs = [("csrf_token", self.token)] if token else []
        for name, value in fields.items():
            pairs.extend((name, item) for item in ([value] if isinstance(value, str) else value))
        body = urllib.parse.urlencode(pairs).encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, body, form)

    def post_json(self, path: str, body: Any) -> tuple[int, Any]:
        json_type = {"Content-Type": "application/json"}
        status, text, _ = self.request("POST", path, json.dumps(body).encode(), json_type)
        return status, json.loads(text or "null")

    def sign_in(self, username: str, pin: str = "1234") -> None:
        status, body = self.post_json("/api/session", {"username": username, "pin": pin})
        assert status == 201, body


def status_of_huge_post(base_url: str, path: str, length: int) -> int:
    """The status a POST announcing a `length`-byte form gets before its body is sent (the
    body is never sent: a refused upload would only reset the connection)."""
    host, port = urllib.parse.urlsplit(base_url).netloc.split(":")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        return int(sock.recv(64).split(b" ")[1])


def current_question(page: str) -> tuple[str, str] | None:
    """(the answer form's action, the question id it answers), or None when none is asked."""
    action = re.search(r'<form class="quiz" method="post" action="([^"]+)"', page)
    question = re.search(r'name="question" value="([^"]+)"', page)
    return (action[1], question[1]) if action and question else None


def start(client: FormClient, lesson: tuple[str, str]) -> str:
    """Open the quiz and start an attempt; returns the page of its first question."""
    status, page, _ = client.get(lesson_url(lesson))
    assert status == 200, page
    after = re.search(r'name="after" value="(\d+)"', page)
    assert after, "no start button"
    status, _, headers = client.post(lesson_url(lesson) + "/quiz", {"after": after[1]})
    assert status == 303, status
    status, page, _ = client.get(headers["Location"])
    assert status == 200
    return page


def rows(db_path: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    """Rows straight from the SQLite file, read-only beside the running server."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def attempts(db_path: Path) -> list[dict[str, Any]]:
    found = rows(db_path, "SELECT * FROM quiz_attempt ORDER BY id")
    return [
        {**dict(r), "questions": json.loads(r["questions"]), "answers": json.loads(r["answers"])}
        for r in found
    ]
