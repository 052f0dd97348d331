"""The WeChat Official Account (公众号/服务号) message endpoint: WeChat's push in, passive replies out.

Only translation lives here: verify the signature, decrypt (safe mode), parse the XML safely (wechat_xml.py),
turn it into an `Incoming`, run the dialog core in a worker thread and render its replies as one passive text
reply. WeChat waits 5 seconds and re-sends a message up to three times; re-sends of a message still being
answered wait for the same answer, and an answer not ready within `reply_deadline` is acknowledged with
"success" and sent through customer-service messages when ready. The follower's customer-service window needs
nothing from here: recording the message opens it (see bot/store/windows.py).

Errors at this edge: bad signature, a timestamp more than 5 minutes from now, a (timestamp, nonce) reused with
another body (remembered in the database, so by every process), or a plaintext push while safe mode is
configured → 403 (wechat_replay.py); oversized, malformed, DTD/entity-laden XML, undecryptable payloads or fields
no WeChat push carries (an openid or MsgId of the wrong shape) → 400, whatever the parser raised; anything else
is answered politely and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot.channels import default_threads
from bot.channels.wechat_api import DEFAULT_BASE_URL
from bot.channels.wechat_crypto import MessageCrypto, NotForUs, Undecryptable
from bot.channels.wechat_replay import ReplayGuard
from bot.channels.wechat_sender import split_text
from bot.channels.wechat_xml import XmlError, parse_xml, text_reply
from bot.desk.delivery import DeliveryError, Sender
from bot.dialog.render import as_text
from bot.models import Address, Incoming, Outgoing
from bot.store.interfaces import Nonces

logger = logging.getLogger(__name__)

CHANNEL = "wechat"
ACK = "success"  # WeChat's "received, no reply": it neither retries nor shows an error to the user
BUSY_REPLY = "抱歉，系统暂时繁忙，请稍后再发一次您的问题。"
NONTEXT_KINDS = ("image", "voice", "video", "shortvideo", "location", "link", "file")
OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # real openids are 28 such characters; the users table holds 64
MSG_ID = re.compile(r"[0-9]{1,64}")  # WeChat's MsgId is a 64-bit number
WAIT_IN_PLACE = 0.1  # seconds the loop thread sleeps on the one core thread's answer before awaiting it


class BadRequest(ValueError):
    """The push cannot be read (→ 400)."""


class Forbidden(ValueError):
    """The push is not signed with our token (→ 403)."""


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
    threads: int = 1  # core threads; one lets short answers be awaited in place (`_result`); more only add GIL waits
    loop_to_itself: bool = True  # no other channel on this event loop, so it may sleep briefly on an answer
    reuse_port: bool = False  # several worker processes listen on the port (SO_REUSEPORT, BOT_WORKERS > 1)


# ---- translation ------------------------------------------------------------------------------------------


def to_incoming(msg: dict[str, str]) -> Incoming | None:
    """The core's view of a pushed message; None for pushes that need no answer (unsubscribe, reports)."""
    openid = msg.get("FromUserName") or ""
    kind = msg.get("MsgType", "").lower()
    if not openid or not kind:
        raise BadRequest("message without FromUserName or MsgType")
    if not OPENID.fullmatch(openid):
        raise BadRequest(f"FromUserName of {len(openid)} characters is no openid")
    address = Address(CHANNEL, openid)
    msg_id = msg.get("MsgId") or None
    if msg_id is not None and not MSG_ID.fullmatch(msg_id):
        raise BadRequest(f"MsgId of {len(msg_id)} characters is no message id")
    if not MSG_ID.fullmatch(msg.get("CreateTime") or "0"):
        raise BadRequest("CreateTime is not a number")
    if kind == "text":
        return Incoming(address, openid, msg.get("Content", ""), message_id=msg_id)
    if kind == "voice" and msg.get("Recognition"):  # speech recognition is on: treat as what was said
        return Incoming(address, openid, msg["Recognition"], message_id=msg_id)
    if kind == "event":
        event = msg.get("Event", "").lower()
        event_id = f"{event}:{msg.get('CreateTime', '')}"  # events have no MsgId; WeChat dedups on user + time
        if event == "subscribe":
            return Incoming(address, openid, "subscribe", kind="event", message_id=event_id)
        if event == "click" and msg.get("EventKey"):  # a menu button whose key is a question or a command
            return Incoming(address, openid, msg["EventKey"], message_id=event_id)
        return None
    return Incoming(address, openid, kind=kind if kind in NONTEXT_KINDS else "file", message_id=msg_id)


def render(replies: list[Outgoing]) -> str:
    """All replies of one exchange as one text (a passive reply carries exactly one message).

    The 有帮助/没帮助 line is left out where it alone would push the text past one message: the rest would need
    a customer-service message (one of five in the window, none without WECHAT_APP_SECRET). The words still work.
    """
    text = "\n\n".join(as_text(o) for o in replies)
    plain = "\n\n".join(as_text(o, vote_hint=False) for o in replies)
    return plain if len(split_text(text)) > len(split_text(plain)) else text


# ---- the endpoint -----------------------------------------------------------------------------------------


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
        self.handle = handle
        self.sender = sender
        self.executor = ThreadPoolExecutor(config.threads, thread_name_prefix="wechat")
        self.crypto = MessageCrypto(config.token, config.aes_key, config.app_id or "") if config.aes_key else None
        self.replay = ReplayGuard(store)  # (timestamp, nonce) → body, in the database
        self._inflight: dict[tuple[str, str], Future[list[Outgoing]]] = {}
        self._last: Future[list[Outgoing]] | None = None  # the job submitted last (FIFO: all before it are done)
        self._late: set[asyncio.Task[None]] = set()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body)
        app.router.add_get(self.config.path, self.verify)
        app.router.add_post(self.config.path, self.receive)
        return app

    async def verify(self, request: web.Request) -> web.Response:
        """WeChat's URL check when the server address is saved: echo `echostr` if the signature is ours."""
        q = request.query
        try:
            check_signature(self.config.token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
        except InvalidSignatureException:
            logger.warning("wechat verification with a bad signature from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        if not self.replay.fresh(q.get("timestamp", "")):
            logger.warning("wechat verification with a stale timestamp from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        return web.Response(text=q.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.Response:
        """One pushed message: answered with a passive reply, or "success" when there is nothing to say now."""
        try:
            msg, encrypted = await self._read(request)
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
        if encrypted and self.crypto is not None:
            q = request.query
            body = self.crypto.encrypt(body, q.get("timestamp") or str(int(time.time())), q.get("nonce", ""))
        return web.Response(text=body, content_type="application/xml")

    async def _read(self, request: web.Request) -> tuple[dict[str, str], bool]:
        """The pushed message as a dict, signature checked and decrypted; whether it came encrypted."""
        q = request.query
        try:
            check_signature(self.config.token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
        except InvalidSignatureException:
            raise Forbidden("bad signature") from None
        if not self.replay.fresh(q.get("timestamp", "")):
            raise Forbidden(f"timestamp {q.get('timestamp', '')[:20]!r} outside ±{self.replay.window} s")
        if (request.content_length or 0) > self.config.max_body:
            raise BadRequest(f"body of {request.content_length} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise BadRequest("oversized body") from None
        if not await asyncio.to_thread(self.replay.admit, q.get("timestamp", ""), q.get("nonce", ""), body):
            raise Forbidden("timestamp and nonce reused with another body")
        msg = parse_xml(body)
        if q.get("encrypt_type", "raw").lower() != "aes":
            if self.crypto is not None:
                raise Forbidden("plaintext push while safe mode (WECHAT_AES_KEY) is configured")
            return msg, False
        if self.crypto is None:
            raise BadRequest("encrypted push but WECHAT_AES_KEY is not set")
        if "Encrypt" not in msg:
            raise BadRequest("encrypted push without <Encrypt>")
        try:
            plain = self.crypto.decrypt(
                msg["Encrypt"], q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
            )
        except NotForUs as exc:
            raise Forbidden(str(exc)) from None
        except Undecryptable as exc:
            raise BadRequest(f"undecryptable payload: {exc}") from None
        return parse_xml(plain), True

    # ---- answering within WeChat's deadline -------------------------------------------------------------

    def _start(self, incoming: Incoming) -> tuple[Future[list[Outgoing]], bool]:
        """The core's job for this message; a re-send joins the first one's (second value False)."""
        key = (incoming.user_id, incoming.message_id or "")
        running = self._inflight.get(key) if incoming.message_id else None
        if running is not None:
            return running, False
        job = self.executor.submit(self.handle, incoming)
        self._last = job
        if incoming.message_id:
            self._inflight[key] = job
            job.add_done_callback(lambda _job: self._inflight.pop(key, None))  # dict.pop is atomic in any thread
        return job, True

    async def _answer(self, incoming: Incoming) -> str:
        """The passive reply text, or "" when the answer will come later through customer-service messages."""
        idle_core = self.config.threads == 1 and (self._last is None or self._last.done())
        in_place = self.config.loop_to_itself and idle_core
        job, first = self._start(incoming)
        try:
            replies = await self._result(job, in_place and first)
        except TimeoutError:
            if first:
                self._later(incoming, job)
            logger.warning("wechat answer for %s not ready in %.1f s", incoming.user_id, self.config.reply_deadline)
            return ""
        except Exception:
            logger.exception("wechat message from %s could not be answered", incoming.user_id)
            return BUSY_REPLY
        parts = split_text(render(replies))
        if len(parts) > 1:
            self._deliver_later(incoming.address, parts[1:])
        return parts[0]

    async def _result(self, job: Future[list[Outgoing]], in_place: bool) -> list[Outgoing]:
        """The core's replies within the deadline, else TimeoutError.

        With one core thread and nothing queued on it, the loop thread first sleeps on the answer: the core then
        runs alone instead of trading the GIL with the loop at every SQLite call, and no wake-up goes through the
        loop (together ~0.3 ms of a ~1.5 ms message). An answer slower than WAIT_IN_PLACE is awaited on the loop,
        which meanwhile serves other pushes, so the deadline holds however slow the core is.
        """
        deadline = self.config.reply_deadline
        if in_place:
            started = time.monotonic()
            with contextlib.suppress(TimeoutError):
                return job.result(min(WAIT_IN_PLACE, deadline))
            deadline -= time.monotonic() - started
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job)), deadline)

    def _later(self, incoming: Incoming, job: Future[list[Outgoing]]) -> None:
        """Send the answer through customer-service messages once the core has it."""

        def ready(done: asyncio.Future[list[Outgoing]]) -> None:
            if done.cancelled() or done.exception() is not None:
                logger.error("late wechat answer for %s failed", incoming.user_id, exc_info=done.exception())
                return
            self._deliver_later(incoming.address, [render(done.result())])

        asyncio.wrap_future(job).add_done_callback(ready)

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


async def serve(config: WeChatConfig, endpoint: WeChatEndpoint, started: asyncio.Event | None = None) -> None:
    """Serve the endpoint until cancelled."""
    runner = web.AppRunner(endpoint.app(), access_log=None, handle_signals=False)
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


def config_from(settings: Any) -> WeChatConfig:
    """The endpoint's config from `Settings` (kept here so the CLI stays a list of channels)."""
    return WeChatConfig(
        token=settings.wechat_token,
        aes_key=settings.wechat_aes_key,
        app_id=settings.wechat_app_id,
        app_secret=settings.wechat_app_secret,
        host=settings.wechat_host,
        port=settings.wechat_port,
        path=settings.wechat_path,
        api_base_url=settings.wechat_api_base_url,
        threads=settings.wechat_threads or default_threads(settings.database_url),
        loop_to_itself=not settings.telegram_token,  # Telegram, served alongside, must never wait on a WeChat answer
    )
