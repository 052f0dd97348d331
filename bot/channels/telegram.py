"""The Telegram channel: enterprise chats and the staff group on python-telegram-bot's Application.

This module wires and starts the channel: PTB's handlers for enterprise users (telegram_chat.py) and for
staff (telegram_staff.py), the JobQueue's schedule for the staff group, and the transport that feeds the
Application updates (long polling or webhook, telegram_transport.py; the database queue for several workers,
telegram_queue.py). `build_channel` is its one entry point; the desk and store parts it is handed
(`TelegramBackend`) are built by bot/app.py.

No update is acknowledged before it is processed and recorded (telegram_updates.py). A re-delivered update
finds its recorded replies in the store and opens no second ticket. Updates of one chat are processed in
order; different chats run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import NetworkError
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.channels.core_feed import CoreFeed
from bot.channels.telegram_chat import USER_COMMANDS, Context, EnterpriseChat
from bot.channels.telegram_config import TelegramConfig
from bot.channels.telegram_group import Report, StaffGroup
from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_queue import answer_share, poll_into
from bot.channels.telegram_sender import CallbackCodec, TelegramSender
from bot.channels.telegram_staff import StaffDesk, StaffGate
from bot.channels.telegram_transport import ALLOWED_UPDATES, Webhook, poll
from bot.channels.telegram_updates import MAX_ATTEMPTS, ChatOrder, UpdateRunner
from bot.config import TZ
from bot.desk.staff_commands import STAFF_COMMANDS, StaffCommands
from bot.store.interfaces import Cards, Once, Updates

if TYPE_CHECKING:
    from bot.dialog.core import Assistant

__all__ = ["TelegramBackend", "TelegramChannel", "TelegramConfig", "build_channel"]

logger = logging.getLogger(__name__)

CONNECTIONS = 8  # kept-alive HTTP connections to the Bot API (replies to different chats go out concurrently)


@dataclass(frozen=True)
class TelegramBackend:
    """What the channel is handed, built by bot/app.py: the staff desk's commands, the staff group's cards and
    weekly report, the ledger of once-only jobs, and the update queue when several workers poll (else None)."""

    commands: StaffCommands
    cards: Cards
    report: Report
    once: Once
    updates: Updates | None = None


class TelegramChannel:
    """The Application with its handlers and jobs, and the transport that feeds it updates."""

    def __init__(
        self,
        config: TelegramConfig,
        app: Application[Any, Any, Any, Any, Any, Any],
        desk: StaffDesk,
        chat: EnterpriseChat,
        updates: Updates | None = None,
        once: Once | None = None,
    ) -> None:
        self.config = config
        self.once = once  # the shared database's ledger of jobs that run once across workers
        self.updates = updates  # the database queue between workers (BOT_WORKERS > 1, polling)
        self.app = app
        self.desk = desk
        self.group = desk.group
        self.chat = chat
        self.sender = TelegramSender(app.bot, chat.codec)
        self.runner = UpdateRunner(app)
        self._register()

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

    async def _ignore(self, update: Update, context: Context) -> None:
        return None

    def schedule(self) -> None:
        """Cards for new tickets, 督办 for overdue ones, the Monday report: all into the staff group."""
        from bot.reports.document import SCHEDULE_DAY, SCHEDULE_TIME

        jobs = self.app.job_queue
        if jobs is None or self.config.staff_chat_id is None:
            logger.warning("TELEGRAM_STAFF_CHAT_ID not set: no ticket cards, 督办 or weekly report")
            return
        jobs.run_repeating(self.group.post_cards, interval=self.config.card_interval, first=0.1, name="cards")
        jobs.run_repeating(self.group.announce_overdue, interval=self.config.overdue_interval, first=5, name="督办")
        jobs.run_daily(self.weekly_report_once, time=SCHEDULE_TIME, days=(SCHEDULE_DAY,), name="weekly-report")

    async def weekly_report_once(self, context: Context | None = None) -> bool:
        """The Monday report, sent by whichever worker, on whichever machine, claims this week first."""
        now = self.group.clock()
        year, week, _day = now.astimezone(TZ).isocalendar()
        if self.once is None or await asyncio.to_thread(self.once.claim, "weekly-report", f"{year}-W{week:02d}", now):
            await self.group.weekly_report(context)
            return True
        return False

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Serve until cancelled; on cancellation the updates in hand are finished and confirmed before exiting."""
        app, config = self.app, self.config
        leader = config.worker == 0  # the one worker that talks to Telegram about the bot itself
        await app.initialize()
        try:
            if leader:
                await self._set_commands()
            _settle()
            if leader:
                self.schedule()
            await app.start()
            mode = "webhook" if config.webhook_url else "polling"
            logger.info("telegram bot @%s running (%s)", app.bot.username, mode)
            if config.webhook_url:
                await Webhook(config, app.bot, self.runner).serve(started)
            elif config.workers == 1:
                await poll(app.bot, self.runner, config.poll_timeout, started)
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

    async def _serve_queue(self, started: asyncio.Event | None) -> None:
        """Several workers: worker 0 polls into the database queue; each answers its share of the chats."""
        if self.updates is None:
            raise RuntimeError("several Telegram workers need the update queue")
        config, bot = self.config, self.app.bot
        jobs = [answer_share(bot, self.updates, self.runner.process_all, config.worker, config.workers,
                             MAX_ATTEMPTS, config.queue_idle)]  # fmt: skip
        if config.worker == 0:
            jobs.append(poll_into(bot, self.updates, config.poll_timeout, ALLOWED_UPDATES))
        if started is not None:
            started.set()
        await asyncio.gather(*jobs)


def _settle() -> None:
    """Freeze what startup built, so gen-2 GC does not walk it: a full collection over the knowledge base,
    matcher and library objects took 100–200 ms mid-traffic. (`run_bot.py` warms the matcher before this.)"""
    gc.collect()
    gc.freeze()


def build_channel(config: TelegramConfig, assistant: Assistant, backend: TelegramBackend) -> TelegramChannel:
    """The channel on the assistant's core and knowledge base, with the desk and store parts of `backend`."""
    root = config.api_base_url.rstrip("/")
    app = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .updater(None)  # updates come from telegram_transport.py, which confirms them only once processed
        .concurrent_updates(ChatOrder())
        .request(AiohttpRequest(CONNECTIONS))
        .get_updates_request(AiohttpRequest(1))
        .build()
    )
    commands = backend.commands
    group = StaffGroup(app.bot, config.staff_chat_id, backend.cards, commands, backend.report)
    desk = StaffDesk(commands, StaffGate(config.staff_chat_id, config.staff_user_ids), group)
    core = CoreFeed(assistant.handle, config.threads, "telegram")
    chat = EnterpriseChat(core, CallbackCodec.for_kb(assistant.kb))
    return TelegramChannel(config, app, desk, chat, backend.updates, backend.once)
