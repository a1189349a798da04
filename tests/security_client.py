"""A browser-like client of a real server that speaks from its own loopback address
(127.0.0.2, 127.0.0.3, ... play other phones on the Wi-Fi) and keeps its own cookies, which a
test can copy to another client, as a thief copies a session cookie."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.central_helpers import CentralServer, central_argv, clean_env

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Client:
    base_url: str
    source: str = "127.0.0.1"
    cookies: dict[str, str] = field(default_factory=dict)
    keep_cookies: bool = True

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        parts = urllib.parse.urlsplit(self.base_url)
        sent = dict(headers or {})
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        elif form is not None:
            body = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=30, source_address=(self.source, 0)
        )
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        finally:
            connection.close()
        if self.keep_cookies:
            self._keep(reply.headers.get_all("Set-Cookie") or [])
        return reply

    def _keep(self, set_cookies: list[str]) -> None:
        for line in set_cookies:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in line.lower() or "expires=thu, 01 jan 1970" in line.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def token(self, path: str) -> str:
        """The CSRF token of the form on `path` (the session cookie comes with it)."""
        page = self.get(path)
        found = TOKEN.search(page.text)
        assert found, (path, page.status, page.text[:300])
        return found[1]

    def post_form(self, path: str, form: dict[str, str], token_from: str | None = None) -> Reply:
        token = self.token(token_from or path.split("?", 1)[0])
        return self.request("POST", path, form={**form, "csrf_token": token})

    def sign_in(self, username: str, **secret: str) -> Reply:
        return self.request("POST", "/api/session", json_body={"username": username, **secret})

    def copy(self, source: str) -> Client:
        """Another client, elsewhere on the network, holding copies of these cookies."""
        return Client(self.base_url, source, dict(self.cookies))


def central_with_staff(data: Path) -> CentralServer:
    """A central server whose staff member zawadi signs in with "a good password"; started,
    not yet answering (wait_until_ready), and the caller stops it."""
    add = central_argv("users", "add", "Zawadi", "--password", "a good password", "--data", data)
    subprocess.run(add, check=True, capture_output=True, env=clean_env(), timeout=60)
    return CentralServer(data, None)
