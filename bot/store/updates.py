"""Telegram updates between the polling worker and the workers that answer them (BOT_WORKERS > 1).

Only one process may call getUpdates, so with several workers worker 0 polls, writes each batch here in one
transaction and only then confirms it to Telegram (the next getUpdates' offset): an update is either here or
still at Telegram, whichever process dies. Each worker answers the updates of its share of the chats
(chat id modulo the number of workers), oldest first, so one chat's messages keep their order; a processed
update is deleted, a failing one counts its attempts. On PostgreSQL the poller's commit wakes the workers with
NOTIFY; a worker that misses a notice still looks every `idle` seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.dialect import insert
from bot.store.schema import telegram_updates

logger = logging.getLogger(__name__)

CHANNEL = "telegram_updates"  # the NOTIFY channel


class UpdateQueue:
    """Queued Telegram updates on `engine`, shared by every worker."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"

    def put(self, updates: Sequence[tuple[int, int, dict[str, Any]]], at: dt.datetime) -> None:
        """Store (update_id, chat_id, body) rows; an update already stored is kept as it is (a re-delivery)."""
        if not updates:
            return
        rows = [{"update_id": u, "chat_id": c, "body": b, "received_at": at, "attempts": 0} for u, c, b in updates]
        put = insert(telegram_updates, self.engine.dialect.name).on_conflict_do_nothing()
        with self.engine.begin() as conn:
            conn.execute(put, rows)
            if self.pg:
                conn.exec_driver_sql(f"NOTIFY {CHANNEL}")

    def take(self, share: int, shares: int, limit: int = 100) -> list[tuple[int, dict[str, Any], int]]:
        """(update_id, body, attempts) of the oldest pending updates whose chat is in share `share` of `shares`."""
        in_share = sa.func.abs(telegram_updates.c.chat_id) % shares == share
        q = (
            sa.select(telegram_updates.c.update_id, telegram_updates.c.body, telegram_updates.c.attempts)
            .where(in_share)
            .order_by(telegram_updates.c.update_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(r.update_id, r.body, r.attempts) for r in conn.execute(q).all()]

    def done(self, update_ids: Sequence[int]) -> None:
        """Forget processed (or given-up) updates."""
        if update_ids:
            with self.engine.begin() as conn:
                conn.execute(telegram_updates.delete().where(telegram_updates.c.update_id.in_(update_ids)))

    def failed(self, update_ids: Sequence[int]) -> None:
        """Count one more failed attempt; the updates stay queued for the next round."""
        if update_ids:
            with self.engine.begin() as conn:
                conn.execute(
                    telegram_updates.update()
                    .where(telegram_updates.c.update_id.in_(update_ids))
                    .values(attempts=telegram_updates.c.attempts + 1)
                )

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(telegram_updates)).scalar_one())

    def doorbell(self) -> Doorbell:
        """A bell for one waiting worker (LISTEN on PostgreSQL; a plain sleep on SQLite)."""
        return Doorbell(self.engine)


class Doorbell:
    """Blocks until the poller announces new updates (PostgreSQL LISTEN) or `timeout` passes; for a thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Any = None
        self._closing = False
        self._lock = threading.Lock()

    def wait(self, timeout: float) -> bool:
        """True when a notice arrived; False after `timeout` (or on SQLite, which has no notices: a plain sleep)."""
        if self.engine.dialect.name != "postgresql":
            time.sleep(timeout)
            return False
        try:
            conn = self._listen()
            return any(True for _ in conn.notifies(timeout=timeout, stop_after=1))
        except Exception as exc:  # a broken connection: look at the table anyway, listen again next time
            if self._closing:
                return False
            logger.warning("telegram update notices unavailable: %s", exc)
            self._drop()
            time.sleep(timeout)
            return False

    def _listen(self) -> Any:
        if self._conn is None:
            import psycopg

            url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            conn = psycopg.connect(url, autocommit=True)
            conn.execute(f"LISTEN {CHANNEL}")
            with self._lock:  # `close` may have run while this thread was connecting: leave no connection open
                if self._closing:
                    conn.close()
                    raise ConnectionError("doorbell closed")
                self._conn = conn
        return self._conn

    def close(self) -> None:
        """Stop listening; a `wait` still blocked in another thread returns False."""
        with self._lock:
            self._closing = True
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
