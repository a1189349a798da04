"""Search: an SQLite FTS5 index of every lesson, kept in step with the library (see
service.py)."""
