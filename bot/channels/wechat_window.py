"""WeChat's customer-service window, kept in the database so every worker and restart sees the same count.

Since 2023 a follower's message (or subscribe / menu event) lets the account send at most 5 customer-service
messages within 48 hours; the next message from the user opens a fresh window.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from bot.store.prepared import Prepared, raw_cursor
from bot.store.schema import wechat_windows

WINDOW = dt.timedelta(hours=48)
QUOTA = 5


class Refusal(StrEnum):
    """Why a customer-service message may not be sent now; neither gets better by waiting."""

    CLOSED = "closed"  # no user message within 48 hours
    QUOTA = "quota"  # 5 messages already sent in this window


class WindowStore:
    """Opens windows on user messages and hands out the window's message slots atomically."""

    def __init__(self, engine: Engine, window: dt.timedelta = WINDOW, quota: int = QUOTA) -> None:
        self.engine = engine
        self.window = window
        self.quota = quota
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(wechat_windows).values(openid=sa.bindparam("openid"), opened_at=sa.bindparam("at"), cs_sent=0)
        self._open = stmt.on_conflict_do_update(
            index_elements=["openid"], set_={"opened_at": stmt.excluded.opened_at, "cs_sent": 0}
        )
        # SQLite: run on a raw cursor in autocommit, the statement its own transaction (one per message)
        self._open_raw = Prepared(self._open, engine.dialect) if engine.dialect.name == "sqlite" else None

    def open(self, openid: str, at: dt.datetime) -> None:
        """The user wrote at `at`: a fresh window of 48 hours and 5 messages."""
        if self._open_raw is not None:
            with raw_cursor(self.engine, transaction=False) as cur:
                self._open_raw.execute(cur, {"openid": openid, "at": at})
            return
        with self.engine.begin() as conn:
            conn.execute(self._open, {"openid": openid, "at": at})

    def reserve(self, openid: str, at: dt.datetime) -> Refusal | None:
        """Take one message slot; None when taken, else why the window refuses."""
        with self.engine.begin() as conn:
            taken = conn.execute(
                wechat_windows.update()
                .where(
                    wechat_windows.c.openid == openid,
                    wechat_windows.c.opened_at > at - self.window,
                    wechat_windows.c.cs_sent < self.quota,
                )
                .values(cs_sent=wechat_windows.c.cs_sent + 1)
            ).rowcount
            if taken:
                return None
            row = conn.execute(sa.select(wechat_windows).where(wechat_windows.c.openid == openid)).first()
        if row is None or row.opened_at <= at - self.window:
            return Refusal.CLOSED
        return Refusal.QUOTA

    def release(self, openid: str) -> None:
        """Give back a slot whose message WeChat did not accept."""
        with self.engine.begin() as conn:
            conn.execute(
                wechat_windows.update()
                .where(wechat_windows.c.openid == openid, wechat_windows.c.cs_sent > 0)
                .values(cs_sent=wechat_windows.c.cs_sent - 1)
            )

    def remaining(self, openid: str, at: dt.datetime) -> int:
        """Messages still allowed in the user's window at `at` (0 when closed)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(wechat_windows).where(wechat_windows.c.openid == openid)).first()
        if row is None or row.opened_at <= at - self.window:
            return 0
        return max(self.quota - int(row.cs_sent), 0)
