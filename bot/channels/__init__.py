"""Channel adapters: translate a channel's messages to `Incoming`, deliver `Outgoing`. No policy logic here."""

from __future__ import annotations


def default_threads(database_url: str) -> int:
    """Threads running the dialog core for a channel: SQLite takes one writer at a time, so one thread avoids its
    sleeping busy-wait; PostgreSQL overlaps commits."""
    return 1 if database_url.startswith("sqlite") else 4
