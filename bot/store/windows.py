"""WeChat's customer-service window, kept in the database so every worker and restart sees the same count.

Since 2023 a follower's message (or subscribe / menu event) lets the account send at most 5 customer-service
messages within 48 hours; the next message from the user opens a fresh window.

Opening a window costs no write of its own: the dialog core records every message a follower sends and stamps
their `users` row with its time (`updated_at`), and that moment is the window's opening. `wechat_windows` only
counts the messages sent since a given opening; a newer opening starts the count again.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.base import Refusal
from bot.store.dialect import insert
from bot.store.schema import users, wechat_windows

CHANNEL = "wechat"  # the channel bot.channels.wechat records its followers under
WINDOW = dt.timedelta(hours=48)
QUOTA = 5


class WindowStore:
    """Hands out the message slots of a follower's current window atomically (`Windows`)."""

    def __init__(self, engine: Engine, window: dt.timedelta = WINDOW, quota: int = QUOTA) -> None:
        self.engine = engine
        self.window = window
        self.quota = quota
        openid = sa.bindparam("openid", type_=wechat_windows.c.openid.type)
        self._opened = sa.select(users.c.updated_at).where(
            users.c.channel == CHANNEL, users.c.user_id == openid, users.c.updated_at > sa.bindparam("since")
        )
        first = insert(wechat_windows, engine.dialect.name).from_select(
            ["openid", "opened_at", "cs_sent"],
            self._opened.with_only_columns(openid, users.c.updated_at, sa.literal(1)),
        )
        same = wechat_windows.c.opened_at == first.excluded.opened_at
        # One statement: the first slot of a newer opening, or the next slot of this one while any are left.
        self._take = first.on_conflict_do_update(
            index_elements=["openid"],
            set_={
                "opened_at": first.excluded.opened_at,
                "cs_sent": sa.case((same, wechat_windows.c.cs_sent + 1), else_=1),
            },
            where=sa.or_(~same, wechat_windows.c.cs_sent < quota),
        ).returning(wechat_windows.c.cs_sent)

    def reserve(self, openid: str, at: dt.datetime) -> Refusal | None:
        """Take one message slot; None when taken, else why the window refuses."""
        params = {"openid": openid, "since": at - self.window}
        with self.engine.begin() as conn:
            if conn.execute(self._take, params).first() is not None:
                return None
            opened = conn.execute(self._opened, params).first()
        return Refusal.CLOSED if opened is None else Refusal.QUOTA

    def release(self, openid: str) -> None:
        """Give back a slot whose message WeChat did not accept."""
        with self.engine.begin() as conn:
            conn.execute(
                wechat_windows.update()
                .where(wechat_windows.c.openid == openid, wechat_windows.c.cs_sent > 0)
                .values(cs_sent=wechat_windows.c.cs_sent - 1)
            )
