"""The bot's time zone, on its own so rules, reports and settings can all use it without importing each other."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    """The current moment in Asia/Shanghai: the default clock of every service."""
    return dt.datetime.now(TZ)
