"""A serving process checkpoints SQLite's write-ahead log in the background, never inside a message's commit."""

import asyncio
import contextlib
from pathlib import Path

from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.app import checkpoint_task
from bot.dialog.core import Assistant
from bot.models import Address, Incoming
from bot.store import open_store
from bot.store.prepared import raw_cursor
from tests.conftest import BOT_TODAY, sqlite_url

PAGES_PER_AUTOCHECKPOINT = 1000  # SQLite's default: the commit that passes this many log pages checkpoints


def test_commits_leave_the_log_to_the_background_checkpoint(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher
) -> None:
    store = open_store(sqlite_url(tmp_path))
    assert store.take_over_checkpoints()
    bot = Assistant(kb, matcher, store, today=lambda: BOT_TODAY)
    question = "社保费能缓缴吗？" + "我们是一家小企业，" * 40
    for i in range(700):  # a few thousand log pages
        bot.handle(Incoming(Address("wechat", f"u{i % 50}"), f"u{i % 50}", question, message_id=f"m{i}"))
    with raw_cursor(store.engine, transaction=False) as cur:
        page = cur.execute("PRAGMA page_size").fetchone()[0]
    database, log = tmp_path / "test.db", tmp_path / "test.db-wal"
    # A checkpointing commit would have restarted the log near the threshold; it kept growing instead.
    assert log.stat().st_size > 2 * PAGES_PER_AUTOCHECKPOINT * page
    before = database.stat().st_size

    async def serve_briefly() -> None:
        task = checkpoint_task(store, every=0.05)
        assert task is not None
        running = asyncio.ensure_future(task())
        await asyncio.sleep(0.3)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running

    asyncio.run(serve_briefly())
    assert database.stat().st_size > 10 * before  # the messages reached the database file only now
    again = bot.handle(Incoming(Address("wechat", "u0"), "u0", question, message_id="m0"))
    assert again and "缓缴" in again[0].text  # a re-delivery still gets its first answer
    store.engine.dispose()


def test_postgres_needs_no_checkpoint_task(pg_url: str) -> None:
    store = open_store(pg_url)
    assert checkpoint_task(store) is None
    store.engine.dispose()
