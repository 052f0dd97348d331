"""What the Telegram channel reads from the settings, in one frozen value (see docs/telegram.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class TelegramConfig:
    """Everything the channel reads from the settings (see docs/telegram.md)."""

    token: str
    api_base_url: str = "https://api.telegram.org"
    staff_chat_id: int | None = None
    staff_user_ids: frozenset[str] = frozenset()
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    card_interval: float = 5.0
    overdue_interval: float = 1800.0
    remind_window: dt.timedelta = dt.timedelta(hours=4)  # TICKET_REMIND_HOURS, for the staff service
    poll_timeout: int = 30
    threads: int = 1  # run the dialog core; more threads than the database can use only add GIL and lock waits
    worker: int = 0  # this process's number among `workers` (BOT_WORKERS); worker 0 polls and runs the schedule
    workers: int = 1
    queue_idle: float = 1.0  # seconds a worker waits for the poller's notice before looking at the queue anyway

    @property
    def secret(self) -> str:
        """The webhook's secret token: configured, or derived from the bot token (letters and digits only)."""
        return self.webhook_secret or hashlib.sha256(self.token.encode()).hexdigest()[:48]
