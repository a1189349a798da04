"""Search: a whoosh index of every lesson, kept in step with the library (see service.py)."""
