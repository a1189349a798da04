"""A bare Flask app on waitress, run by the bench as a reference line: `reference_app.py HOST PORT`.

It answers a constant ~5 KB page, so the gap between it and the hub's pages is the hub's own
per-request work (database, templates, sessions).
"""

import sys

import waitress
from flask import Flask

PAGE = "<!doctype html><title>reference</title>" + "<p>A line of a lesson page.</p>" * 160


def create() -> Flask:
    app = Flask("reference")
    app.add_url_rule("/", "page", lambda: PAGE)
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    return app


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    waitress.serve(create(), host=host, port=port, threads=8, ident="reference")
