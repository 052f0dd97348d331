"""The WeChat Official Account (公众号/服务号) channel: WeChat's push in, passive replies out, and its entry point.

Only translation and delivery live here: the push is checked and opened (wechat_push.py), translated to an
`Incoming` (wechat_translate.py), answered by the dialog core through the shared `CoreFeed`, and its replies go
back as one passive text reply. WeChat waits 5 seconds and re-sends a message up to three times; re-sends of a
message still being answered wait for the same answer, and an answer not ready within `reply_deadline` is
acknowledged with "success" and sent through customer-service messages when ready. The follower's
customer-service window needs nothing from here: recording the message opens it (see bot/store/windows.py).

Errors at this edge: 403 and 400 as wechat_push.py decides, 400 too for whatever else a hostile body makes a
parser raise; anything after that is answered politely and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from bot.channels.core_feed import CoreFeed
from bot.channels.wechat_config import WeChatConfig
from bot.channels.wechat_push import Forbidden, PushReader
from bot.channels.wechat_sender import split_text
from bot.channels.wechat_translate import BadRequest, render, to_incoming
from bot.channels.wechat_xml import XmlError, text_reply
from bot.config import ConfigError
from bot.desk.delivery import DeliveryError, Sender
from bot.models import Address, Incoming, Outgoing
from bot.store.interfaces import Nonces, Windows

if TYPE_CHECKING:
    from bot.dialog.core import Assistant

__all__ = ["WAIT_IN_PLACE", "WeChatBackend", "WeChatChannel", "WeChatConfig", "WeChatEndpoint", "build_channel"]

logger = logging.getLogger(__name__)

ACK = "success"  # WeChat's "received, no reply": it neither retries nor shows an error to the user
BUSY_REPLY = "抱歉，系统暂时繁忙，请稍后再发一次您的问题。"
WAIT_IN_PLACE = 0.1  # seconds a loop serving WeChat alone sleeps on the idle core's answer (CoreFeed)


class WeChatEndpoint:
    """aiohttp handlers for WeChat's GET verification and POST message push."""

    def __init__(
        self,
        config: WeChatConfig,
        handle: Callable[[Incoming], list[Outgoing]],
        store: Nonces,
        sender: Sender | None = None,
    ) -> None:
        self.config = config
        self.sender = sender
        in_place = WAIT_IN_PLACE if config.loop_to_itself else 0.0
        self.core = CoreFeed(handle, config.threads, "wechat", wait_in_place=in_place)
        self.reader = PushReader(config, store)
        self._inflight: dict[tuple[str, str], asyncio.Future[list[Outgoing]]] = {}
        self._late: set[asyncio.Task[None]] = set()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body)
        app.router.add_get(self.config.path, self.verify)
        app.router.add_post(self.config.path, self.receive)
        return app

    async def verify(self, request: web.Request) -> web.Response:
        """WeChat's URL check when the server address is saved: echo `echostr` if the signature is ours."""
        try:
            self.reader.check(request.query)
        except Forbidden as exc:
            logger.warning("wechat verification refused from %s: %s", request.remote, exc)
            return web.Response(status=403, text="forbidden")
        return web.Response(text=request.query.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.Response:
        """One pushed message: answered with a passive reply, or "success" when there is nothing to say now."""
        try:
            msg, encrypted = await self.reader.read(request)
            incoming = to_incoming(msg)
        except Forbidden as exc:
            logger.warning("wechat push rejected from %s: %s", request.remote, exc)
            return web.Response(status=403, text="forbidden")
        except (BadRequest, XmlError) as exc:
            logger.warning("wechat push unreadable from %s: %s", request.remote, exc)
            return web.Response(status=400, text="bad request")
        except Exception as exc:  # whatever else a hostile body makes a parser raise is still a bad request
            logger.warning("wechat push unreadable from %s: %s", request.remote, type(exc).__name__)
            return web.Response(status=400, text="bad request")
        if incoming is None:
            return web.Response(text=ACK)
        text = await self._answer(incoming)
        if not text:
            return web.Response(text=ACK)
        body = text_reply(incoming.user_id, msg.get("ToUserName", ""), text, int(time.time()))
        if encrypted and self.reader.crypto is not None:
            q = request.query
            body = self.reader.crypto.encrypt(body, q.get("timestamp") or str(int(time.time())), q.get("nonce", ""))
        return web.Response(text=body, content_type="application/xml")

    # ---- answering within WeChat's deadline -------------------------------------------------------------

    def _start(self, incoming: Incoming) -> tuple[asyncio.Future[list[Outgoing]], bool]:
        """The core's job for this message; a re-send joins the first one's (second value False)."""
        key = (incoming.user_id, incoming.message_id or "")
        running = self._inflight.get(key) if incoming.message_id else None
        if running is not None:
            return running, False
        job = self.core.submit(incoming)
        if incoming.message_id:
            self._inflight[key] = job
            job.add_done_callback(lambda _job: self._inflight.pop(key, None))
        return job, True

    async def _answer(self, incoming: Incoming) -> str:
        """The passive reply text, or "" when the answer will come later through customer-service messages."""
        started = time.monotonic()
        job, first = self._start(incoming)  # done already when the idle core answered in place
        deadline = self.config.reply_deadline - (time.monotonic() - started)
        try:  # shielded: past the deadline the job goes on and its answer is sent later
            replies = job.result() if job.done() else await asyncio.wait_for(asyncio.shield(job), deadline)
        except TimeoutError:
            if first:
                job.add_done_callback(lambda done: self._later(incoming.address, done))
            logger.warning("wechat answer for %s not ready in %.1f s", incoming.user_id, self.config.reply_deadline)
            return ""
        except Exception:
            logger.exception("wechat message from %s could not be answered", incoming.user_id)
            return BUSY_REPLY
        parts = split_text(render(replies))
        if len(parts) > 1:
            self._deliver_later(incoming.address, parts[1:])
        return parts[0]

    def _later(self, address: Address, done: asyncio.Future[list[Outgoing]]) -> None:
        """The answer that missed the deadline, through customer-service messages now that the core has it."""
        if done.cancelled() or done.exception() is not None:
            logger.error("late wechat answer for %s failed", address.chat_id, exc_info=done.exception())
            return
        self._deliver_later(address, [render(done.result())])

    def _deliver_later(self, address: Address, texts: list[str]) -> None:
        if self.sender is None:
            logger.warning("wechat answer for %s dropped: WECHAT_APP_SECRET not set", address.chat_id)
            return
        sender = self.sender
        for text in texts:
            task = asyncio.get_running_loop().create_task(self._send(sender, Outgoing(address, text)))
            self._late.add(task)
            task.add_done_callback(self._late.discard)

    @staticmethod
    async def _send(sender: Sender, out: Outgoing) -> None:
        try:
            await sender.send(out)
        except DeliveryError as exc:
            logger.warning("late wechat answer for %s not delivered: %s", out.address.chat_id, exc)


@dataclass(frozen=True)
class WeChatBackend:
    """What the channel is handed, built by bot/app.py: the nonces that stop replayed pushes, and the
    customer-service windows its sender counts messages against."""

    nonces: Nonces
    windows: Windows


@dataclass
class WeChatChannel:
    """The endpoint to serve and, with an AppSecret, the `Sender` for staff answers (else None)."""

    config: WeChatConfig
    endpoint: WeChatEndpoint
    sender: Sender | None

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Serve the endpoint until cancelled; requests in progress finish before the exit."""
        config = self.config
        runner = web.AppRunner(self.endpoint.app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, config.host, config.port, reuse_port=config.reuse_port or None)
            await site.start()
            logger.info("wechat endpoint listening on http://%s:%s%s", config.host, config.port, config.path)
            if started is not None:
                started.set()
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def build_channel(config: WeChatConfig, assistant: Assistant, backend: WeChatBackend) -> WeChatChannel:
    """The channel on the assistant's core and the store parts of `backend`; customer-service messages need
    WECHAT_APP_SECRET."""
    from bot.channels.wechat_api import WeChatApi
    from bot.channels.wechat_sender import WeChatSender

    if config.aes_key and not config.app_id:
        raise ConfigError("WECHAT_AES_KEY is set: WECHAT_APP_ID is needed to decrypt messages")
    sender = None
    if config.app_id and config.app_secret:
        api = WeChatApi(config.app_id, config.app_secret, config.api_base_url)
        sender = WeChatSender(api, backend.windows)
    else:
        logger.warning("WECHAT_APP_ID/WECHAT_APP_SECRET not set: staff answers cannot reach WeChat users")
    endpoint = WeChatEndpoint(config, assistant.handle, backend.nonces, sender)
    return WeChatChannel(config, endpoint, sender)
