"""The per-user flood limit, the same for every channel and every worker: counted in the database.

A user may send `per_minute` messages in a minute; the first message over the limit gets one polite notice,
the rest of that minute's messages get no reply at all and are not recorded, so a flood opens no tickets.
A re-delivered message already answered is not counted again (the core returns its first replies before it
asks the limit).
"""

from __future__ import annotations

import datetime as dt

from bot.models import Incoming, Outgoing
from bot.store.interfaces import FloodCounter

FLOOD_REPLY = "您发送消息太频繁了，请稍等一分钟再继续提问。"


class FloodLimit:
    """At most `per_minute` messages per user and minute, counted by a shared `FloodCounter` (the store)."""

    def __init__(self, counter: FloodCounter, per_minute: int) -> None:
        self.counter = counter
        self.per_minute = per_minute

    def check(self, inc: Incoming, at: dt.datetime) -> list[Outgoing] | None:
        """None when the message may be answered; else the replies instead: the notice once, then nothing."""
        if self.per_minute <= 0:
            return None
        n = self.counter.count_message(inc.address.channel, inc.user_id, at.timestamp())
        if n <= self.per_minute:
            return None
        return [Outgoing(inc.address, FLOOD_REPLY)] if n == self.per_minute + 1 else []
