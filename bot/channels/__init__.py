"""Channel adapters: translate a channel's messages to `Incoming`, deliver `Outgoing`. No policy logic here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.dialog.core import Assistant
    from bot.store.sql import SqlStore


def default_threads(database_url: str) -> int:
    """Threads running the dialog core for a channel: SQLite takes one writer at a time, so one thread avoids its
    sleeping busy-wait; PostgreSQL overlaps commits."""
    return 1 if database_url.startswith("sqlite") else 4


def sql_store(assistant: Assistant) -> SqlStore:
    """The assistant's store as the SQL store whose engine the channels' own tables live in (cards, windows,
    the update queue); the core only knows the `Store` protocol."""
    from bot.store.sql import SqlStore

    if not isinstance(assistant.store, SqlStore):
        raise TypeError(f"channels need the SQL store, not {type(assistant.store).__name__}")
    return assistant.store
