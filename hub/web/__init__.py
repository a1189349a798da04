"""The hub's web face: the Flask app (app), its views, templates and static files, errors as
pages or JSON, CSRF, response headers and gzip, sendfile, the guarded waitress server, the
language picker and the page caches for visitors. Domain packages never import it.
"""
