"""What the WeChat endpoint reads from the settings, in one frozen value (see docs/wechat.md)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.wechat_api import DEFAULT_BASE_URL


@dataclass(frozen=True)
class WeChatConfig:
    """How the endpoint is reached and what it shares with WeChat (see docs/wechat.md)."""

    token: str
    aes_key: str | None = None
    app_id: str | None = None
    app_secret: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    path: str = "/wechat"
    api_base_url: str = DEFAULT_BASE_URL
    reply_deadline: float = 4.5  # seconds; WeChat gives up after 5
    max_body: int = 64 * 1024
    threads: int = 1  # core threads; one lets short answers be awaited in place (CoreFeed); more only add GIL waits
    loop_to_itself: bool = True  # no other channel on this event loop, so it may sleep briefly on an answer
    reuse_port: bool = False  # several worker processes listen on the port (SO_REUSEPORT, BOT_WORKERS > 1)
