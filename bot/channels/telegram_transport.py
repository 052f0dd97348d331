"""Updates from Telegram to the `UpdateRunner`, confirmed only once processed: long polling or a webhook.

PTB's `Updater` is not used (the Application is built with `updater(None)`): its polling confirms a batch
when it asks for the next one, before the handlers ran, and its webhook answers Telegram before processing;
either loses the question in hand when the process dies. Here long polling asks for the next batch (which
confirms the previous one) only after the whole batch went through the core, and the webhook answers only
after processing, 500 on a failure so Telegram delivers the update again. Several workers share the polled
updates through the database instead (telegram_queue.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlparse

from aiohttp import web
from telegram import Bot, Update
from telegram.error import NetworkError

from bot.channels.telegram_config import TelegramConfig
from bot.channels.telegram_queue import fetch_updates
from bot.channels.telegram_updates import UpdateRunner

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


async def poll(bot: Bot, runner: UpdateRunner, timeout: int, started: asyncio.Event | None = None) -> None:
    """Long polling until cancelled; on cancellation the batch in hand is finished and confirmed first."""
    await bot.delete_webhook(drop_pending_updates=False)
    if started is not None:
        started.set()
    offset: int | None = None
    delay = 1.0
    try:
        while True:
            updates, delay = await fetch_updates(bot, offset, timeout, ALLOWED_UPDATES, delay)
            if not updates:
                continue
            batch = asyncio.ensure_future(runner.process_batch(updates))
            try:
                retry_from = await asyncio.shield(batch)
            except asyncio.CancelledError:
                retry_from = await batch  # finish what is in hand, then stop
                offset = retry_from if retry_from is not None else updates[-1].update_id + 1
                raise
            offset = retry_from if retry_from is not None else updates[-1].update_id + 1
            if retry_from is not None:
                await asyncio.sleep(delay)
    finally:
        if offset is not None:
            with contextlib.suppress(NetworkError, asyncio.CancelledError):
                await bot.get_updates(offset=offset, timeout=0, limit=1)  # confirm the processed updates


class Webhook:
    """Telegram's calls on our own aiohttp server, each answered once its update is processed."""

    def __init__(self, config: TelegramConfig, bot: Bot, runner: UpdateRunner) -> None:
        self.config = config
        self.bot = bot
        self.runner = runner

    async def serve(self, started: asyncio.Event | None = None) -> None:
        """Listen until cancelled; worker 0 registers the URL with Telegram."""
        config = self.config
        path = str(urlparse(config.webhook_url or "").path) or "/"
        web_app = web.Application(client_max_size=4 * 1024 * 1024)
        web_app.router.add_post(path, self.receive)
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            shared = config.workers > 1  # every worker listens on the port (SO_REUSEPORT)
            await web.TCPSite(runner, config.webhook_listen, config.webhook_port, reuse_port=shared or None).start()
            if config.worker == 0:
                await self.bot.set_webhook(
                    config.webhook_url or "", secret_token=config.secret, allowed_updates=ALLOWED_UPDATES
                )
            logger.info("telegram webhook listening on %s:%s%s", config.webhook_listen, config.webhook_port, path)
            if started is not None:
                started.set()
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()  # waits for requests in progress: their updates finish before the exit

    async def receive(self, request: web.Request) -> web.Response:
        """One update from Telegram; answered only after it is processed (500 makes Telegram retry)."""
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != self.config.secret:
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), self.bot)
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        ok = await asyncio.shield(self.runner.process(update))
        return web.Response(status=200 if ok else 500)
