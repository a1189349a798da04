"""Helpers for scripts/bench: a server under test, a load generator, and the report table."""
