"""What every other part of the hub stands on: settings (declared once, layered from defaults
to CLI flags), the data dir and its database, migrations, the hub's one error type, the clock,
translated messages, bounded HTTP downloads, rate limits, systemd and allocator hooks.

It imports no other hub package, so anything may import it.
"""
