"""The Telegram channel: enterprise chats and the staff group on python-telegram-bot's Application.

Enterprise messages and button presses become `Incoming` for the dialog core (synchronous, so it runs in a
worker thread); its replies go back with options as inline buttons. The staff side lives in telegram_staff.py.

No update is acknowledged before it is processed and recorded. Long polling asks for the next batch (which
confirms the previous one to Telegram) only after the whole batch went through the core; in webhook mode the
HTTP answer is sent after processing, and a failure answers 500 so Telegram delivers it again. A re-delivered
update finds its recorded replies in the store and opens no second ticket. Updates of one chat are processed
in order; different chats run concurrently.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import gc
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import BotCommand, BotCommandScopeChat, Message, Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels import default_threads
from bot.channels.core_feed import CoreFeed
from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_queue import fetch_updates
from bot.channels.telegram_sender import CallbackCodec, TelegramSender, send_outgoing
from bot.channels.telegram_staff import STAFF_COMMANDS, GateDirectory, StaffDesk, StaffGate
from bot.config import TZ
from bot.models import Address, Incoming, Outgoing
from bot.store.interfaces import Once
from bot.store.updates import UpdateQueue

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
CONNECTIONS = 8  # kept-alive HTTP connections to the Bot API (replies to different chats go out concurrently)
MAX_ATTEMPTS = 5  # an update that fails this often is logged and skipped, so one poison message cannot block all
USER_COMMANDS = (
    ("start", "开始咨询，选择区县"),
    ("topics", "按类别浏览常见问题"),
    ("district", "切换企业所在区县"),
    ("status", "查询我的工单"),
    ("help", "使用说明"),
)
NONTEXT_KINDS = (
    ("photo", "image"),
    ("sticker", "sticker"),
    ("voice", "voice"),
    ("audio", "voice"),
    ("video", "video"),
    ("video_note", "video"),
    ("animation", "video"),
    ("document", "file"),
    ("contact", "file"),
    ("location", "location"),
    ("venue", "location"),
)
ONE_SHOT_ACTIONS = ("feedback:", "satisfaction:")  # their buttons are removed once pressed


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
    poll_timeout: int = 30
    threads: int = 1  # run the dialog core; more threads than the database can use only add GIL and lock waits
    worker: int = 0  # this process's number among `workers` (BOT_WORKERS); worker 0 polls and runs the schedule
    workers: int = 1
    queue_idle: float = 1.0  # seconds a worker waits for the poller's notice before looking at the queue anyway

    @property
    def secret(self) -> str:
        """The webhook's secret token: configured, or derived from the bot token (letters and digits only)."""
        return self.webhook_secret or hashlib.sha256(self.token.encode()).hexdigest()[:48]


def config_from(settings: Any) -> TelegramConfig:
    """The channel's config from `Settings`; STAFF_USER_IDS count as Telegram staff too."""
    return TelegramConfig(
        token=settings.telegram_token,
        api_base_url=settings.telegram_api_base_url,
        staff_chat_id=settings.telegram_staff_chat_id,
        staff_user_ids=frozenset(settings.telegram_staff_user_ids) | frozenset(settings.staff_user_ids),
        webhook_url=settings.telegram_webhook_url,
        webhook_listen=settings.telegram_webhook_listen,
        webhook_port=settings.telegram_webhook_port,
        webhook_secret=settings.telegram_webhook_secret,
        card_interval=settings.telegram_card_interval,
        overdue_interval=settings.telegram_overdue_interval,
        threads=settings.telegram_threads or default_threads(settings.database_url),
    )


def kind_of(message: Message) -> str | None:
    """The core's kind for a non-text message; None for service messages (members joining, pins …)."""
    for attr, kind in NONTEXT_KINDS:
        if getattr(message, attr, None):
            return kind
    return None


class EnterpriseChat:
    """Enterprise users' messages and button presses through the dialog core, replies back as messages."""

    def __init__(self, core: CoreFeed[Incoming, list[Outgoing]], codec: CallbackCodec) -> None:
        self.core = core
        self.codec = codec

    async def text(self, update: Update, context: Context) -> None:
        """A text message (commands such as /start included: the core knows them)."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        await self._exchange(context, self._incoming(message, text=message.text))

    async def nontext(self, update: Update, context: Context) -> None:
        """Photos, stickers, voice, files, locations: the core answers them politely."""
        message = update.effective_message
        kind = kind_of(message) if message is not None else None
        if message is None or kind is None:
            return
        await self._exchange(context, self._incoming(message, kind=kind, text=message.caption or ""))

    async def button(self, update: Update, context: Context) -> None:
        """An inline button: its action goes to the core like a typed choice."""
        query = update.callback_query
        if query is None or query.message is None or query.from_user is None:
            return
        answering = asyncio.ensure_future(query.answer())  # stops the button's spinner, alongside the core's work
        action = self.codec.decode(query.data or "") or "stale"
        incoming = Incoming(
            address=Address("telegram", str(query.message.chat.id)),
            user_id=str(query.from_user.id),
            action=action,
            message_id=f"cb:{query.id}",
            user_name=query.from_user.full_name,
        )
        try:
            await self._exchange(context, incoming)
        finally:
            try:
                await answering
            except TelegramError as exc:  # the reply matters, the spinner times out by itself
                logger.warning("telegram callback %s not answered: %s", query.id, exc)
        if action.startswith(ONE_SHOT_ACTIONS) and isinstance(query.message, Message):
            with contextlib.suppress(NetworkError):
                await query.message.edit_reply_markup(None)

    def _incoming(self, message: Message, **kw: Any) -> Incoming:
        user = message.from_user
        return Incoming(
            address=Address("telegram", str(message.chat_id)),
            user_id=str(user.id if user else message.chat_id),
            message_id=f"{message.chat_id}:{message.message_id}",
            user_name=user.full_name if user else None,
            **kw,
        )

    async def _exchange(self, context: Context, incoming: Incoming) -> None:
        for out in await self.core(incoming):
            await send_outgoing(context.bot, out, self.codec)


class TelegramChannel:
    """The Application with its handlers and jobs, and the loop that feeds it updates (polling or webhook)."""

    def __init__(
        self,
        config: TelegramConfig,
        app: Application,
        desk: StaffDesk,
        chat: EnterpriseChat,
        updates: UpdateQueue | None = None,
        once: Once | None = None,
    ) -> None:
        self.config = config
        self.once = once  # the shared database's ledger of jobs that run once across workers
        self.updates = updates  # the database queue between workers (BOT_WORKERS > 1, polling)
        self.app = app
        self.desk = desk
        self.chat = chat
        self.sender = TelegramSender(app.bot, chat.codec)
        self.failed: set[int] = set()
        self._attempts: collections.Counter[int] = collections.Counter()
        self._chat_locks: dict[int, tuple[asyncio.Lock, int]] = {}  # chat → its lock and how many updates use it
        self._register()

    # ---- wiring -------------------------------------------------------------------------------------------

    def _register(self) -> None:
        app, desk, chat, staff_chat = self.app, self.desk, self.chat, self.config.staff_chat_id
        app.add_handler(CallbackQueryHandler(desk.card_button, pattern=r"^staff:"))
        app.add_handler(CallbackQueryHandler(chat.button))
        messages = filters.UpdateType.MESSAGE  # edited messages are not new questions (nor a second /answer)
        app.add_handler(CommandHandler([name for name, _ in STAFF_COMMANDS], desk.command, filters=messages))
        if staff_chat is not None:
            in_staff = filters.Chat(staff_chat)
            app.add_handler(MessageHandler(messages & in_staff & filters.REPLY & filters.TEXT, desk.card_reply))
            app.add_handler(MessageHandler(in_staff, self._ignore))  # staff talking among themselves
        private = messages & filters.ChatType.PRIVATE
        app.add_handler(MessageHandler(private & filters.TEXT, chat.text))
        app.add_handler(MessageHandler(private & ~filters.TEXT, chat.nontext))
        app.add_error_handler(self._error)

    def schedule(self) -> None:
        """Cards for new tickets, 督办 for overdue ones, the Monday report: all into the staff group."""
        from bot.reports.document import SCHEDULE_DAY, SCHEDULE_TIME

        jobs = self.app.job_queue
        if jobs is None or self.config.staff_chat_id is None:
            logger.warning("TELEGRAM_STAFF_CHAT_ID not set: no ticket cards, 督办 or weekly report")
            return
        jobs.run_repeating(self.desk.post_cards, interval=self.config.card_interval, first=0.1, name="cards")
        jobs.run_repeating(self.desk.announce_overdue, interval=self.config.overdue_interval, first=5, name="督办")
        jobs.run_daily(self.weekly_report_once, time=SCHEDULE_TIME, days=(SCHEDULE_DAY,), name="weekly-report")

    async def weekly_report_once(self, context: Context | None = None) -> bool:
        """The Monday report, sent by whichever worker, on whichever machine, claims this week first."""
        now = self.desk.clock()
        year, week, _day = now.astimezone(TZ).isocalendar()
        if self.once is None or await asyncio.to_thread(self.once.claim, "weekly-report", f"{year}-W{week:02d}", now):
            await self.desk.weekly_report(context)
            return True
        return False

    async def _ignore(self, update: Update, context: Context) -> None:
        return None

    async def _error(self, update: object, context: Context) -> None:
        """Remember which update failed, so it is not acknowledged and Telegram delivers it again."""
        if isinstance(update, Update):
            self.failed.add(update.update_id)
            logger.error("telegram update %s failed", update.update_id, exc_info=context.error)
        else:
            logger.error("telegram job failed", exc_info=context.error)

    # ---- processing ---------------------------------------------------------------------------------------

    async def process(self, update: Update) -> bool:
        """Run one update through the handlers, in order within its chat; False when it failed."""
        chat = update.effective_chat
        key = chat.id if chat else 0
        lock, users = self._chat_locks.get(key) or (asyncio.Lock(), 0)
        self._chat_locks[key] = (lock, users + 1)
        try:
            async with lock:
                self.failed.discard(update.update_id)
                await self.app.process_update(update)
                ok = update.update_id not in self.failed
        finally:
            lock, users = self._chat_locks[key]
            if users > 1:
                self._chat_locks[key] = (lock, users - 1)
            else:  # nobody else waits on this chat: drop its lock, so the table holds only busy chats
                del self._chat_locks[key]
        if ok:
            self._attempts.pop(update.update_id, None)
        return ok

    async def process_all(self, updates: Sequence[Update]) -> list[int]:
        """Process updates, each chat's in order and different chats concurrently; the ids that failed."""
        by_chat: dict[int, list[Update]] = collections.defaultdict(list)
        for u in updates:
            by_chat[u.effective_chat.id if u.effective_chat else 0].append(u)

        async def in_order(items: list[Update]) -> list[int]:
            return [u.update_id for u in items if not await self.process(u)]

        return sorted(i for ids in await asyncio.gather(*(in_order(v) for v in by_chat.values())) for i in ids)

    async def process_batch(self, updates: Sequence[Update]) -> int | None:
        """Process a polled batch; the offset to confirm next (None: the whole batch is done)."""
        failed = await self.process_all(updates)
        for update_id in failed:
            self._attempts[update_id] += 1
            if self._attempts[update_id] < MAX_ATTEMPTS:
                return update_id
            logger.error("telegram update %s skipped after %s failed attempts", update_id, MAX_ATTEMPTS)
            self._attempts.pop(update_id)
        return None

    # ---- lifecycle ----------------------------------------------------------------------------------------

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Serve until cancelled; on cancellation the batch in hand is finished and confirmed before exiting."""
        app = self.app
        leader = self.config.worker == 0  # the one worker that talks to Telegram about the bot itself
        await app.initialize()
        try:
            if leader:
                await self._set_commands()
            await self._settle()
            if leader:
                self.schedule()
            await app.start()
            mode = "webhook" if self.config.webhook_url else "polling"
            logger.info("telegram bot @%s running (%s)", app.bot.username, mode)
            if self.config.webhook_url:
                await self._serve_webhook(started)
            elif self.config.workers == 1:
                await self._poll(started)
            else:
                await self._serve_queue(started)
        finally:
            if app.running:
                await app.stop()
            await app.shutdown()

    async def _set_commands(self) -> None:
        bot = self.app.bot
        await bot.set_my_commands([BotCommand(n, d) for n, d in USER_COMMANDS])
        if self.config.staff_chat_id is not None:
            staff_commands = [BotCommand(n, d[:256]) for n, d in STAFF_COMMANDS]
            scope = BotCommandScopeChat(self.config.staff_chat_id)
            with contextlib.suppress(NetworkError):  # the bot may not be in the group yet
                await bot.set_my_commands(staff_commands, scope=scope)

    async def _settle(self) -> None:
        """Freeze what startup built, so gen-2 GC does not walk it: a full collection over the knowledge base,
        matcher and library objects took 100–200 ms mid-traffic. (`run_bot.py` warms the matcher before this.)"""
        gc.collect()
        gc.freeze()

    async def _poll(self, started: asyncio.Event | None) -> None:
        bot = self.app.bot
        await bot.delete_webhook(drop_pending_updates=False)
        if started is not None:
            started.set()
        offset: int | None = None
        delay = 1.0
        try:
            while True:
                updates, delay = await fetch_updates(bot, offset, self.config.poll_timeout, ALLOWED_UPDATES, delay)
                if not updates:
                    continue
                batch = asyncio.ensure_future(self.process_batch(updates))
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

    async def _serve_queue(self, started: asyncio.Event | None) -> None:
        """Several workers: worker 0 polls into the database queue; each answers its share of the chats."""
        from bot.channels.telegram_queue import answer_share, poll_into

        if self.updates is None:
            raise RuntimeError("several Telegram workers need the update queue")
        config, bot = self.config, self.app.bot
        jobs = [answer_share(bot, self.updates, self.process_all, config.worker, config.workers, MAX_ATTEMPTS,
                             config.queue_idle)]  # fmt: skip
        if config.worker == 0:
            jobs.append(poll_into(bot, self.updates, config.poll_timeout, ALLOWED_UPDATES))
        if started is not None:
            started.set()
        await asyncio.gather(*jobs)

    async def _serve_webhook(self, started: asyncio.Event | None) -> None:
        config = self.config
        path = str(urlparse(config.webhook_url or "").path) or "/"
        web_app = web.Application(client_max_size=4 * 1024 * 1024)
        web_app.router.add_post(path, self._webhook)
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            shared = config.workers > 1  # every worker listens on the port (SO_REUSEPORT)
            await web.TCPSite(runner, config.webhook_listen, config.webhook_port, reuse_port=shared or None).start()
            if config.worker == 0:
                await self.app.bot.set_webhook(
                    config.webhook_url or "", secret_token=config.secret, allowed_updates=ALLOWED_UPDATES
                )
            logger.info("telegram webhook listening on %s:%s%s", config.webhook_listen, config.webhook_port, path)
            if started is not None:
                started.set()
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()  # waits for requests in progress: their updates finish before the exit

    async def _webhook(self, request: web.Request) -> web.Response:
        """One update from Telegram; answered only after it is processed (500 makes Telegram retry)."""
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != self.config.secret:
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), self.app.bot)
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        ok = await asyncio.shield(self.process(update))
        return web.Response(status=200 if ok else 500)


def build_channel(config: TelegramConfig, assistant: Any, settings: Any = None) -> TelegramChannel:
    """The channel on the assistant's store, knowledge base and ticket policy."""
    from bot.desk.staff import StaffService
    from bot.reports.document import build_weekly_report_document
    from bot.store.cards import CardStore
    from bot.store.once import OnceLedger
    from bot.store.queue import TicketQueue
    from bot.store.reports import ReportStore

    root = config.api_base_url.rstrip("/")
    app = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .updater(None)  # updates are fetched by `TelegramChannel`, which confirms them only once processed
        .request(AiohttpRequest(CONNECTIONS))
        .get_updates_request(AiohttpRequest(1))
        .build()
    )
    remind = dt.timedelta(hours=settings.ticket_remind_hours) if settings is not None else dt.timedelta(hours=4)
    service = StaffService(
        TicketQueue(assistant.store),
        assistant.policy,
        GateDirectory(),
        clock=assistant.clock,
        kb=assistant.kb,
        today=assistant.today,
        remind_window=remind,
    )

    reports = ReportStore(assistant.store.engine)

    async def report(now: dt.datetime) -> Any:
        local = now.astimezone(TZ)
        return await build_weekly_report_document(reports, assistant.kb, assistant.matcher, local.date(), now=now)

    desk = StaffDesk(
        app.bot,
        service,
        CardStore(assistant.store.engine),
        StaffGate(config.staff_chat_id, config.staff_user_ids),
        kb=assistant.kb,
        clock=assistant.clock,
        report=report,
    )
    core = CoreFeed(assistant.handle, config.threads, "telegram")
    chat = EnterpriseChat(core, CallbackCodec.for_kb(assistant.kb))
    updates = UpdateQueue(assistant.store.engine) if config.workers > 1 and not config.webhook_url else None
    return TelegramChannel(config, app, desk, chat, updates, OnceLedger(assistant.store.engine))
