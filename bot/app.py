"""The composition root: the one place where settings become objects and objects are wired together.

The CLI commands, the channel entry points and the benches ask an `App` for what they need instead of building it.
Everything is built on first use and kept: `run_bot.py match` touches only the knowledge base and the matcher, so
it never imports the database layer, and `ask` builds no channel.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from bot.clock import now
from bot.config import TZ, Settings

if TYPE_CHECKING:  # each of these imports a layer only some commands need
    from bot.answering.kb import KnowledgeBase
    from bot.answering.matcher import Matcher
    from bot.channels.telegram import TelegramChannel
    from bot.channels.telegram_config import TelegramConfig
    from bot.channels.wechat import WeChatChannel
    from bot.channels.wechat_config import WeChatConfig
    from bot.desk.delivery import Sender
    from bot.desk.policy import TicketPolicy
    from bot.desk.staff import StaffService
    from bot.dialog.core import Assistant
    from bot.reports.document import ReportDocument
    from bot.store import SqlStore
    from bot.store.interfaces import ReportReader

logger = logging.getLogger(__name__)

ChannelTask = Callable[[], Awaitable[None]]  # one long-running part of a serving process (a channel, the outbox …)


@dataclass(frozen=True)
class ReportSource:
    """What the weekly report reads: the store's report reader, the knowledge base and a lexical matcher."""

    reader: ReportReader
    kb: KnowledgeBase
    matcher: Matcher


@dataclass
class Serving:
    """The parts a serving process runs together, and the senders that can push to each chat channel."""

    tasks: list[ChannelTask] = field(default_factory=list)
    senders: dict[str, Sender] = field(default_factory=dict)


class App:
    """Settings → knowledge base, matcher, store, dialog core, staff desk, channels; each built once, when asked."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._matchers: dict[bool, Matcher] = {}

    @classmethod
    def from_env(cls) -> App:
        """The app on the environment's settings (and `.env`); ConfigError names a bad variable."""
        return cls(Settings.from_env())

    # ---- answering -------------------------------------------------------------------------------------------

    @cached_property
    def kb(self) -> KnowledgeBase:
        from bot.answering.kb import load

        return load(self.settings.faq_dir)

    def matcher(self, semantic: bool = True) -> Matcher:
        """The matcher; with the sentence-embedding model unless it is turned off, not wanted, or cannot load."""
        semantic = semantic and self.settings.semantic
        if semantic not in self._matchers:
            from bot.answering.matcher import Matcher, Thresholds
            from bot.answering.semantic import load_embedder

            s = self.settings
            thresholds = Thresholds(answer=s.answer_score, margin=s.margin, suggest=s.suggest_score)
            embedder = load_embedder() if semantic else None
            self._matchers[semantic] = Matcher(self.kb, thresholds, embedder=embedder, cache_dir=s.embed_cache_dir)
        return self._matchers[semantic]

    # ---- storage and the desk --------------------------------------------------------------------------------

    @cached_property
    def store(self) -> SqlStore:
        """The configured database, migrations applied."""
        from bot.store import open_store

        return open_store(self.settings.database_url, self.settings.ticket_prefix)

    @cached_property
    def policy(self) -> TicketPolicy:
        """Per-tier limits on office hours of the working-day calendar (with the staff's holiday file, if any)."""
        from bot.desk.policy import TicketPolicy, parse_hours
        from bot.desk.workdays import load_calendar

        office = parse_hours(self.settings.ticket_work_hours)
        clock = replace(office, calendar=load_calendar(self.settings.work_calendar_file))
        return TicketPolicy(dict(self.settings.ticket_sla_days), clock)

    def calendar_warning(self, today: dt.date | None = None) -> str | None:
        """The warning for staff when a year in sight has no holiday data (due times there are estimates)."""
        from bot.desk.workdays import load_calendar

        return load_calendar(self.settings.work_calendar_file).warning(today or now().date())

    @cached_property
    def assistant(self) -> Assistant:
        """The dialog core on the configured database."""
        from bot.dialog.core import Assistant
        from bot.dialog.flood import FloodLimit

        kb, store = self.kb, self.store  # the knowledge base first: a broken FAQ stops before the database is touched
        return Assistant(
            kb,
            self.matcher(),
            store,
            today=self.settings.bot_today,
            policy=self.policy,
            flood=FloodLimit(store, self.settings.flood_per_minute),
        )

    @cached_property
    def staff_service(self) -> StaffService:
        """The staff desk of the CLI: staff are STAFF_USER_IDS (anyone with database access when it is empty)."""
        from bot.desk.staff import StaffDirectory, StaffService
        from bot.store.queue import TicketQueue

        return StaffService(
            TicketQueue(self.store),
            self.policy,
            StaffDirectory(self.settings.staff_user_ids),
            kb=self.kb,
            today=self.settings.bot_today,
            remind_window=dt.timedelta(hours=self.settings.ticket_remind_hours),
        )

    def report_source(self) -> ReportSource:
        """The weekly report's inputs; its matcher is lexical (clustering needs no sentence model)."""
        from bot.store.reports import ReportStore

        return ReportSource(ReportStore(self.store.engine), self.kb, self.matcher(semantic=False))

    # ---- serving ---------------------------------------------------------------------------------------------

    def wechat_config(self, shared_port: bool = False) -> WeChatConfig:
        """The WeChat endpoint's slice of the settings, with what follows from the others.

        `shared_port`: several workers listen on the same port (SO_REUSEPORT; the kernel spreads connections).
        """
        from bot.channels import default_threads
        from bot.channels.wechat_config import WeChatConfig

        s = self.settings
        return replace(
            s.section("wechat_", WeChatConfig),
            threads=s.wechat_threads or default_threads(s.database_url),
            loop_to_itself=not s.telegram_token,  # Telegram, served alongside, must never wait on a WeChat answer
            reuse_port=shared_port,
        )

    def wechat(self, shared_port: bool = False) -> tuple[ChannelTask, Sender | None]:
        """The WeChat endpoint and, with an AppSecret, its customer-service `Sender` (else None)."""
        channel = wechat_channel(self.wechat_config(shared_port), self.assistant, self.store)
        return channel.run, channel.sender

    def telegram_config(self, worker: int = 0, workers: int = 1) -> TelegramConfig:
        """The Telegram channel's slice of the settings; STAFF_USER_IDS are Telegram staff too."""
        from bot.channels import default_threads
        from bot.channels.telegram_config import TelegramConfig

        s = self.settings
        return replace(
            s.section("telegram_", TelegramConfig),
            staff_user_ids=s.telegram_staff_user_ids | s.staff_user_ids,
            remind_window=dt.timedelta(hours=s.ticket_remind_hours),
            threads=s.telegram_threads or default_threads(s.database_url),
            worker=worker,
            workers=workers,
        )

    def telegram(self, worker: int = 0, workers: int = 1) -> tuple[ChannelTask, Sender]:
        """The Telegram bot (enterprise chats and the staff group) and its `Sender` for staff answers.

        As worker `worker` of `workers`: worker 0 polls (or registers the webhook) and runs the staff group's
        schedule; with polling, every worker answers its share of the updates from the database queue.
        """
        channel = telegram_channel(self.telegram_config(worker, workers), self.assistant, self.store)
        return channel.run, channel.sender

    def outbox(self, senders: Mapping[str, Sender]) -> ChannelTask:
        """Deliver queued staff answers through the running channels' senders."""
        from bot.desk.outbox import OutboxPump
        from bot.store.queue import TicketQueue

        pump = OutboxPump(TicketQueue(self.store), senders)
        return lambda: pump.run(asyncio.Event())

    def serving(self, worker: int = 0, workers: int = 1) -> Serving:
        """The configured channels with the outbox and checkpoints beside them; no task: no channel configured.

        ConfigError when a channel's settings do not fit together.
        """
        out = Serving()
        if self.settings.wechat_token:
            task, wechat_sender = self.wechat(shared_port=workers > 1)
            out.tasks.append(task)
            if wechat_sender is not None:
                out.senders[wechat_sender.channel] = wechat_sender
        if self.settings.telegram_token:
            task, telegram_sender = self.telegram(worker, workers)
            out.tasks.append(task)
            out.senders[telegram_sender.channel] = telegram_sender
        if out.senders:
            out.tasks.append(self.outbox(out.senders))
        if out.tasks and (checkpoints := checkpoint_task(self.store)) is not None:
            out.tasks.append(checkpoints)
        return out


def wechat_channel(config: WeChatConfig, assistant: Assistant, store: SqlStore) -> WeChatChannel:
    """The WeChat channel on `assistant`, its replay nonces and customer-service windows on `store` (the
    assistant's). ConfigError when the settings do not fit together."""
    from bot.channels.wechat import WeChatBackend, build_channel
    from bot.store.windows import WindowStore

    return build_channel(config, assistant, WeChatBackend(nonces=store, windows=WindowStore(store.engine)))


def telegram_channel(config: TelegramConfig, assistant: Assistant, store: SqlStore) -> TelegramChannel:
    """The Telegram channel on `assistant`, its staff desk and store parts built on `store` (the assistant's).

    `App.telegram` serves this; the tests and the bench build their channel through it, wired the same way.
    """
    from bot.channels.telegram import TelegramBackend, build_channel
    from bot.channels.telegram_staff import GateDirectory
    from bot.desk.staff import StaffService
    from bot.desk.staff_commands import StaffCommands
    from bot.reports.document import build_weekly_report_document
    from bot.store.cards import CardStore
    from bot.store.once import OnceLedger
    from bot.store.queue import TicketQueue
    from bot.store.reports import ReportStore
    from bot.store.updates import UpdateQueue

    kb, clock = assistant.kb, assistant.clock
    service = StaffService(
        TicketQueue(store),
        assistant.policy,
        GateDirectory(),  # staff on Telegram are whom the channel's StaffGate lets through
        clock=clock,
        kb=kb,
        today=assistant.today,
        remind_window=config.remind_window,
    )
    reports = ReportStore(store.engine)

    async def report(at: dt.datetime) -> ReportDocument:
        today = at.astimezone(TZ).date()
        return await build_weekly_report_document(reports, assistant.kb, assistant.matcher, today, now=at)

    queued = config.workers > 1 and not config.webhook_url  # several workers: one polls, all answer from the queue
    backend = TelegramBackend(
        commands=StaffCommands(service, kb, clock),
        cards=CardStore(store.engine),
        report=report,
        once=OnceLedger(store.engine),
        updates=UpdateQueue(store.engine) if queued else None,
    )
    return build_channel(config, assistant, backend)


def checkpoint_task(store: SqlStore, every: float = 1.0) -> ChannelTask | None:
    """SQLite's log checkpoints in a background thread instead of inside a message's commit (None: PostgreSQL)."""
    if not store.take_over_checkpoints():
        return None

    async def run() -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                await asyncio.sleep(every)
                try:
                    await loop.run_in_executor(None, store.checkpoint)
                except Exception:  # a busy or failing checkpoint is retried on the next round
                    logger.exception("SQLite checkpoint failed")
        finally:
            store.checkpoint()

    return run
