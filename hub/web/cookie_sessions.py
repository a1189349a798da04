"""Flask's signed-cookie sessions, without building the cookie's signer for a request that
brings no session cookie: every visitor's page is such a request, and building the signer
(a serializer it tests by serializing) cost about 2% of a lesson page."""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)
