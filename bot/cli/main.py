"""The command line and the one composition root: only here are objects built and wired together."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bot.answering.kb import KbError, KnowledgeBase, catalogue_ids, load
from bot.answering.matcher import Matcher, Thresholds
from bot.config import ROOT, ConfigError, Settings
from bot.models import DISTRICTS, Address, Incoming, Outcome

logger = logging.getLogger(__name__)


def build_matcher(settings: Settings, kb: KnowledgeBase, semantic: bool = True) -> Matcher:
    """The matcher; with the sentence-embedding model unless it is turned off, not wanted, or cannot load."""
    from bot.answering.semantic import load_embedder

    embedder = load_embedder() if semantic and settings.semantic else None
    thresholds = Thresholds(answer=settings.answer_score, margin=settings.margin, suggest=settings.suggest_score)
    return Matcher(kb, thresholds, embedder=embedder, cache_dir=settings.embed_cache_dir)


def build_assistant(settings: Settings, kb: KnowledgeBase | None = None) -> Any:
    """The dialog core on the configured database, migrations applied."""
    from bot.dialog.core import Assistant
    from bot.store import open_store

    kb = kb or load(settings.faq_dir)
    from bot.cli.tickets import build_policy

    store = open_store(settings.database_url, settings.ticket_prefix)
    from bot.dialog.flood import FloodLimit

    return Assistant(
        kb,
        build_matcher(settings, kb),
        store,
        today=settings.bot_today,
        policy=build_policy(settings),
        flood=FloodLimit(store, settings.flood_per_minute),
    )


# ---- commands -------------------------------------------------------------------------------------------


ChannelTask = Callable[[], Coroutine[Any, Any, None]]


def build_wechat(settings: Settings, assistant: Any, shared_port: bool = False) -> tuple[ChannelTask, Any]:
    """The WeChat endpoint and, with an AppSecret, its customer-service `Sender` (else None).

    `shared_port`: several workers listen on the same port (SO_REUSEPORT; the kernel spreads connections).
    """
    import dataclasses

    from bot.channels import wechat
    from bot.channels.wechat_api import WeChatApi
    from bot.channels.wechat_sender import WeChatSender
    from bot.channels.wechat_window import WindowStore

    config = dataclasses.replace(wechat.config_from(settings), reuse_port=shared_port)
    if config.aes_key and not config.app_id:
        raise ConfigError("WECHAT_AES_KEY is set: WECHAT_APP_ID is needed to decrypt messages")
    sender = None
    if config.app_id and config.app_secret:
        api = WeChatApi(config.app_id, config.app_secret, config.api_base_url)
        sender = WeChatSender(api, WindowStore(assistant.store.engine))
    else:
        logger.warning("WECHAT_APP_ID/WECHAT_APP_SECRET not set: staff answers cannot reach WeChat users")
    endpoint = wechat.WeChatEndpoint(config, assistant.handle, assistant.store, sender)
    return (lambda: wechat.serve(config, endpoint)), sender


def build_telegram(settings: Settings, assistant: Any, worker: int = 0, workers: int = 1) -> tuple[ChannelTask, Any]:
    """The Telegram bot (enterprise chats and the staff group) and its `Sender` for staff answers.

    As worker `worker` of `workers`: worker 0 polls (or registers the webhook) and runs the staff group's
    schedule; with polling, every worker answers its share of the updates from the database queue.
    """
    import dataclasses

    from bot.channels import telegram

    config = dataclasses.replace(telegram.config_from(settings), worker=worker, workers=workers)
    channel = telegram.build_channel(config, assistant, settings)
    return channel.run, channel.sender


def outbox_task(store: Any, senders: dict[str, Any]) -> ChannelTask:
    """Deliver queued staff answers through the running channels' senders."""
    from bot.desk.outbox import OutboxPump
    from bot.store.queue import TicketQueue

    pump = OutboxPump(TicketQueue(store), senders)
    return lambda: pump.run(asyncio.Event())


def checkpoint_task(store: Any, every: float = 1.0) -> ChannelTask | None:
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


async def serve_channels(tasks: Sequence[ChannelTask]) -> None:
    """Run every channel in one event loop until one of them stops or fails, or SIGINT/SIGTERM arrives.

    A signal cancels every channel task; each finishes what it has in hand in its cleanup before the exit.
    """
    import contextlib
    import signal

    running = asyncio.gather(*(task() for task in tasks))
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread / not Unix
            asyncio.get_running_loop().add_signal_handler(sig, running.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await running


def cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    """Serve the configured channels (BOT_WORKERS processes on PostgreSQL); the console when none is configured."""
    channels = bool(settings.wechat_token or settings.telegram_token)
    if channels and settings.workers > 1:
        if settings.database_url.startswith("sqlite"):
            from bot.workers import SQLITE_REFUSED

            print(SQLITE_REFUSED.format(n=settings.workers), file=sys.stderr)
        else:
            return supervise(settings)
    return serve(settings)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """One of BOT_WORKERS serving processes, as the supervisor starts it."""
    if not 0 <= args.index < settings.workers:
        print(f"配置错误: 工作进程编号 {args.index} 超出 BOT_WORKERS={settings.workers} 的范围", file=sys.stderr)
        return 2
    if settings.database_url.startswith("sqlite"):
        from bot.workers import SQLITE_WORKER

        print(SQLITE_WORKER, file=sys.stderr)
        return 2
    return serve(settings, worker=args.index, workers=settings.workers, parent=os.getppid())


def supervise(settings: Settings) -> int:
    """Bring the schema up to date once, then start and watch BOT_WORKERS workers (bot/workers.py)."""
    from bot.store import make_engine, migrate
    from bot.workers import Supervisor

    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    except Exception as exc:  # the workers would fail the same way, over and over
        print(f"数据库无法使用（{type(exc).__name__}），请检查 DATABASE_URL: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return Supervisor(settings.workers).run()


def serve(settings: Settings, worker: int = 0, workers: int = 1, parent: int | None = None) -> int:
    """Serve the configured channels together in this process; chat in the console when none is configured."""
    from bot.channels import console
    from bot.cli.tickets import calendar_warning

    if warning := calendar_warning(settings):
        logger.warning("注意：%s", warning)

    assistant = build_assistant(settings)
    tasks: list[ChannelTask] = []
    senders: dict[str, Any] = {}
    try:
        if settings.wechat_token:
            serve_wechat, wechat_sender = build_wechat(settings, assistant, shared_port=workers > 1)
            tasks.append(serve_wechat)
            if wechat_sender is not None:
                senders[wechat_sender.channel] = wechat_sender
        if settings.telegram_token:
            serve_telegram, telegram_sender = build_telegram(settings, assistant, worker, workers)
            tasks.append(serve_telegram)
            senders[telegram_sender.channel] = telegram_sender
    except ConfigError as exc:
        print(f"配置错误: {exc}", file=sys.stderr)
        return 2
    if senders:
        tasks.append(outbox_task(assistant.store, senders))
    if tasks and (checkpoints := checkpoint_task(assistant.store)) is not None:
        tasks.append(checkpoints)
    if not tasks:
        console.run(assistant)
        return 0
    if parent is not None:
        from bot.workers import orphan_watch

        tasks.append(lambda: orphan_watch(parent))
    assistant.push_channels = frozenset(senders)  # WeChat without its customer-service API shows answers later
    assistant.matcher.warm()  # before the first user of any channel, not on it
    asyncio.run(serve_channels(tasks))
    return 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    """One question through the dialog core, printed as the user would see it."""
    from bot.dialog.render import as_text

    assistant = build_assistant(settings)
    incoming = Incoming(Address("cli", args.user), args.user, args.question, district=args.district)
    for out in assistant.handle(incoming):
        print(as_text(out))
    return 0


def _match_line(matcher: Matcher, line: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
        question = item["q"] if isinstance(item, dict) else None
        if not isinstance(question, str):
            raise ValueError("missing string field 'q'")
    except (ValueError, KeyError) as exc:
        return {"q": None, "outcome": Outcome.ESCALATE.value, "id": None, "score": 0.0, "candidates": [],
                "error": f"bad input line: {exc}"}  # fmt: skip
    m = matcher.match(question)
    return {
        "q": question,
        "outcome": m.outcome.value,
        "id": m.id,
        "score": round(m.score, 1),
        "candidates": [{"id": c.id, "score": c.score} for c in m.candidates],
    }


def cmd_match(settings: Settings, _args: argparse.Namespace) -> int:
    """JSON Lines in ({"q": …}), one decision per line out, in order."""
    matcher = build_matcher(settings, load(settings.faq_dir))
    for line in sys.stdin:
        if not line.strip():
            continue
        print(json.dumps(_match_line(matcher, line), ensure_ascii=False), flush=False)
    sys.stdout.flush()
    return 0


def default_catalogue() -> Path | None:
    for path in (os.environ.get("FAQ_CATALOGUE"), ROOT.parent / "shared" / "faq-topics.yaml"):
        if path and Path(path).is_file():
            return Path(path)
    return None


def faq_report(settings: Settings, catalogue: Path | None) -> tuple[list[str], list[str]]:
    """(errors, infos) for `faq check`; raises KbError when the files themselves are invalid."""
    kb = load(settings.faq_dir)
    matcher = build_matcher(settings, kb, semantic=False)  # the checks are lexical; no need to load the model
    errors: list[str] = []
    infos: list[str] = []
    if catalogue is None:
        infos.append("未找到主题目录（FAQ_CATALOGUE 或 ../shared/faq-topics.yaml），跳过目录核对")
    else:
        missing = [i for i in catalogue_ids(catalogue) if i not in kb.entries]
        errors += [f"目录中的主题缺失: {i}" for i in missing]
    weak = 0
    for entry in kb.entries.values():
        for phrasing in (entry.question, *entry.alternates):
            m = matcher.match(phrasing)
            if m.outcome is Outcome.ANSWER and m.id != entry.id:
                errors.append(f"{entry.file}: 条目 {entry.id}: 问法“{phrasing}”被匹配到 {m.id}（冲突）")
            elif m.outcome is not Outcome.ANSWER:
                weak += 1
    today = settings.bot_today()
    expired = [e.id for e in kb.entries.values() if e.expired_on(today)]
    if expired:
        infos.append(f"{len(expired)} 个条目的政策有效期已于 {today} 前到期（回答中会注明）: {', '.join(expired)}")
    unknown = [e.id for e in kb.entries.values() if e.end_unknown]
    if unknown:
        infos.append(f"{len(unknown)} 个条目的截止日期未查到（回答中请用户向负责部门确认）: {', '.join(unknown)}")
    if weak:
        infos.append(f"{weak} 个问法未被直接回答（给出候选或转人工），可考虑调整")
    from bot.cli.tickets import calendar_warning

    if warning := calendar_warning(settings):
        infos.append(warning)
    n_alt = sum(len(e.alternates) for e in kb.entries.values())
    infos.insert(
        0, f"{len(kb.entries)} 个条目，{n_alt} 个问法，{len(kb.categories)} 个类别，{len(kb.synonyms)} 个同义词"
    )
    return errors, infos


def cmd_faq_check(settings: Settings, args: argparse.Namespace) -> int:
    """Validate the knowledge base; non-zero exit on any error."""
    catalogue = Path(args.catalogue) if args.catalogue else default_catalogue()
    try:
        errors, infos = faq_report(settings, catalogue)
    except KbError as exc:
        print(exc, file=sys.stderr)
        return 1
    for line in infos:
        print(f"信息: {line}")
    for line in errors:
        print(f"错误: {line}")
    print("FAQ 检查未通过" if errors else "FAQ 检查通过")
    return 1 if errors else 0


# ---- parser ---------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="run_bot.py", description="fugong-bot: 复工复产政策咨询机器人")
    sub = ap.add_subparsers(dest="command")
    ask = sub.add_parser("ask", help="ask one question through the dialog core")
    ask.add_argument("question")
    ask.add_argument("--district", choices=[*DISTRICTS, "其他"])
    ask.add_argument("--user", default="cli", help="user id (default: cli)")
    ask.set_defaults(func=cmd_ask)
    match = sub.add_parser("match", help='JSON Lines {"q": …} on stdin → one decision per line')
    match.set_defaults(func=cmd_match)
    faq = sub.add_parser("faq", help="knowledge-base tools")
    faq_sub = faq.add_subparsers(dest="faq_command", required=True)
    check = faq_sub.add_parser("check", help="validate faq/ and report collisions, expiry, catalogue gaps")
    check.add_argument("--catalogue", help="topic catalogue (default: FAQ_CATALOGUE or ../shared/faq-topics.yaml)")
    check.set_defaults(func=cmd_faq_check)
    from bot.cli.report import add_report_commands

    add_report_commands(sub, faq_sub)
    worker = sub.add_parser("worker", help="one of BOT_WORKERS serving processes (started by the supervisor)")
    worker.add_argument("index", type=int, help="0 … BOT_WORKERS-1; worker 0 also polls Telegram")
    worker.set_defaults(func=cmd_worker)
    from bot.cli.tickets import register as register_tickets

    register_tickets(sub)
    ap.set_defaults(func=cmd_run)
    return ap


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        sys.exit(f"配置错误: {exc}")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code = args.func(settings, args)
        sys.stdout.flush()  # here, so a reader that has gone is noticed inside the try
    except KbError as exc:
        sys.exit(str(exc))
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = quiet_broken_pipe()
    sys.exit(code)


def quiet_broken_pipe() -> int:
    """The reader of our output has gone (`… | head -1`): stop quietly, as a Unix tool does, instead of a traceback.

    Standard output is pointed at /dev/null so the interpreter's own final flush cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141  # 128 + SIGPIPE: what the shell reports for a tool the pipe stopped
