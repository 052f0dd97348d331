"""BOT_WORKERS: `run_bot.py` as a supervisor of several serving processes on one PostgreSQL, as deployed.

Real subprocesses: WeChat pushes signed like WeChat's servers sign them, Telegram through the fake Bot API
server. Every message must be answered once and open at most one ticket, also when a worker is killed mid-run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.app import telegram_channel
from bot.config import ROOT, TZ, ConfigError, Settings
from bot.dialog.core import Assistant
from bot.store import SqlStore, make_engine
from tests.conftest import Clock
from tests.telegram_harness import STAFF_CHAT, FakeBotApi, Users
from tests.telegram_harness import TOKEN as TG_TOKEN
from tests.test_telegram import config as telegram_config
from tests.wechat_harness import TOKEN, FakeWeChat, LoopThread

pytestmark = pytest.mark.slow

ANSWERED = "社保费可以缓缴吗"  # the FAQ answers it with entry si.deferral:
ANSWER = "【受疫情影响困难企业能否缓缴社会保险费？"
ESCALATED = "我们厂的锅炉年检证书丢了怎么补办"  # the FAQ does not: a ticket
START_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux /proc)."""
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in raw.split()]


def worker_pid(parent: int, index: int) -> int | None:
    """The pid of `run_bot.py worker INDEX` under `parent`."""
    for pid in children(parent):
        with_args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if with_args[-3:-1] == [b"worker", str(index).encode()]:
            return pid
    return None


def wait_until(what: str, check: object, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Bot:
    """`python run_bot.py` with BOT_WORKERS set, its log in a file."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.log = tmp_path / "bot.log"
        base = {"BOT_TODAY": "2020-03-21", "FLOOD_PER_MINUTE": "0", "MATCH_SEMANTIC": "off", "LOG_LEVEL": "INFO"}
        self.env = {**os.environ, **base, **env}
        with self.log.open("wb") as log:
            cmd = [sys.executable, str(ROOT / "run_bot.py")]
            self.proc = subprocess.Popen(cmd, env=self.env, cwd=tmp_path, stdout=log, stderr=log)

    def logged(self, text: str) -> int:
        return self.log.read_text(errors="replace").count(text)

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the supervisor did not stop on SIGTERM") from None


@pytest.fixture
def bots() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:
        if bot.proc.poll() is None:
            bot.proc.kill()
            bot.proc.wait()


def rows(db_url: str, query: str) -> list[tuple[object, ...]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query)).all()]
    finally:
        engine.dispose()


def assert_each_once(db_url: str, channel: str, expected_in: int, escalations: int) -> None:
    """One recorded exchange per message (with a reply), one ticket per escalating message, numbers unique."""
    where = f"channel = '{channel}' AND direction = 'in'"
    incoming = rows(db_url, f"SELECT chat_id, channel_message_id FROM messages WHERE {where}")
    assert len(incoming) == expected_in == len(set(incoming))
    unanswered = rows(db_url, "SELECT count(*) FROM messages m WHERE direction = 'in' AND NOT EXISTS "
                              "(SELECT 1 FROM messages r WHERE r.in_reply_to = m.id)")  # fmt: skip
    assert unanswered == [(0,)]
    tickets = rows(db_url, "SELECT number, chat_id, source_message_id FROM tickets")
    assert len(tickets) == escalations
    assert len({t[0] for t in tickets}) == escalations and len({t[1:] for t in tickets}) == escalations


# ---- the setting --------------------------------------------------------------------------------------------


def test_bot_workers_setting() -> None:
    assert Settings.from_env({}).workers == 1
    assert Settings.from_env({"BOT_WORKERS": "4"}).workers == 4
    for bad in ("0", "-1", "two", "1.5", "65"):
        with pytest.raises(ConfigError, match="BOT_WORKERS"):
            Settings.from_env({"BOT_WORKERS": bad})


def test_sqlite_stays_one_process_and_says_why(tmp_path: Path, bots: list[Bot]) -> None:
    port = free_port()
    bot = Bot(tmp_path, BOT_WORKERS="2", WECHAT_TOKEN=TOKEN, WECHAT_PORT=str(port),
              DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")  # fmt: skip
    bots.append(bot)
    wait_until("the endpoint", lambda: bot.logged("wechat endpoint listening") == 1)
    assert "BOT_WORKERS=2 需要 PostgreSQL" in bot.log.read_text()
    assert bot.workers() == []  # served by the process itself
    fake = FakeWeChat(f"http://127.0.0.1:{port}/wechat", openid="oSqlite01")
    try:
        assert fake.say(ANSWERED).text.startswith(ANSWER)
    finally:
        fake.close()
    assert bot.stop() == 0


def test_a_worker_outside_bot_workers_or_on_sqlite_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "BOT_WORKERS": "2", "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    done = subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "worker", "5"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "超出 BOT_WORKERS=2" in done.stderr
    done = subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "worker", "1"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "工作进程需要 PostgreSQL" in done.stderr


# ---- WeChat: two processes on one port ----------------------------------------------------------------------


class Pushes:
    """WeChat's servers: each message pushed until it gets a 200, re-sent with the same MsgId like WeChat does."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/wechat"
        self.replies: dict[int, str] = {}
        self.retries = 0

    def push(self, openid: str, msg_id: int, text: str) -> None:
        fake = FakeWeChat(self.url, openid=openid)
        fake.http = httpx.Client(timeout=10)
        xml = fake.xml("text", msg_id, Content=text)
        timestamp, nonce = str(int(time.time())), f"n{msg_id}"
        try:
            for _attempt in range(20):
                try:
                    reply = fake.post(xml, timestamp=timestamp, nonce=nonce)
                except httpx.TransportError:  # the worker holding the connection died
                    reply = None
                if reply is not None and reply.status == 200:
                    self.replies[msg_id] = reply.text
                    return
                self.retries += 1
                time.sleep(0.3)
            raise AssertionError(f"message {msg_id} never answered")
        finally:
            fake.close()

    def run(self, messages: list[tuple[str, int, str]], threads: int = 8) -> None:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda m: self.push(*m), messages))


def wechat_messages(n: int, first_id: int) -> list[tuple[str, int, str]]:
    """n pushes from n/2 followers: each asks one FAQ question and one the FAQ cannot answer."""
    out = []
    for i in range(n // 2):
        out.append((f"oWorker{i:04d}", first_id + 2 * i, ANSWERED))
        out.append((f"oWorker{i:04d}", first_id + 2 * i + 1, ESCALATED))
    return out


def start_wechat(tmp_path: Path, pg_url: str, bots: list[Bot], workers: int = 2) -> tuple[Bot, int]:
    port = free_port()
    bot = Bot(tmp_path, BOT_WORKERS=str(workers), WECHAT_TOKEN=TOKEN, WECHAT_PORT=str(port), DATABASE_URL=pg_url)
    bots.append(bot)
    wait_until("every worker listening", lambda: bot.logged("wechat endpoint listening") == workers)
    assert len(bot.workers()) == workers
    return bot, port


def test_two_wechat_workers_answer_every_message_once(tmp_path: Path, pg_url: str, bots: list[Bot]) -> None:
    bot, port = start_wechat(tmp_path, pg_url, bots)
    messages = wechat_messages(60, 8_100_000_000_000_000_000)
    pushes = Pushes(port)
    pushes.run(messages)
    assert pushes.retries == 0
    for _openid, msg_id, text in messages:
        expected = "工单号" if text == ESCALATED else ANSWER
        assert expected in pushes.replies[msg_id]
    pushes.run(messages[:10])  # WeChat re-sends: the first reply again, no second ticket
    assert_each_once(pg_url, "wechat", 60, 30)
    workers = bot.workers()
    assert bot.stop() == 0
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "every worker stopped with the supervisor"


def test_wechat_worker_killed_mid_run_loses_nothing(tmp_path: Path, pg_url: str, bots: list[Bot]) -> None:
    bot, port = start_wechat(tmp_path, pg_url, bots)
    messages = wechat_messages(120, 8_200_000_000_000_000_000)
    pushes = Pushes(port)
    sending = threading.Thread(target=pushes.run, args=(messages, 4))
    sending.start()
    wait_until("traffic", lambda: len(pushes.replies) >= 20, 60)
    victim = worker_pid(bot.proc.pid, 1)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    assert len(pushes.replies) < 120, "killed mid-run"
    sending.join(300)
    assert not sending.is_alive() and len(pushes.replies) == 120
    for _openid, msg_id, text in messages:
        assert ("工单号" if text == ESCALATED else ANSWER) in pushes.replies[msg_id]
    assert_each_once(pg_url, "wechat", 120, 60)
    wait_until("the worker restarted", lambda: worker_pid(bot.proc.pid, 1) not in (None, victim), 60)
    assert "worker 1" in bot.log.read_text() and "restarting" in bot.log.read_text()
    assert bot.stop() == 0


# ---- Telegram polling: one poller, the database queue, two workers answering ---------------------------------


@pytest.fixture
def bot_api() -> Iterator[tuple[FakeBotApi, LoopThread, str]]:
    loop = LoopThread()
    fake = FakeBotApi()
    url = loop.serve(fake.app())
    yield fake, loop, url
    loop.close()


def push_telegram(fake: FakeBotApi, loop: LoopThread, users: int, first_user: int) -> None:
    """Each user asks an FAQ question, then one the FAQ cannot answer."""
    people = Users()
    for i in range(users):
        fake.push(people.message(first_user + i, ANSWERED), loop.loop)
        fake.push(people.message(first_user + i, ESCALATED), loop.loop)


def start_telegram(tmp_path: Path, pg_url: str, bots: list[Bot], url: str) -> Bot:
    bot = Bot(tmp_path, BOT_WORKERS="2", TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_API_BASE_URL=url, DATABASE_URL=pg_url)
    bots.append(bot)
    wait_until("both workers running", lambda: bot.logged("telegram bot @fugong_bot running (polling)") == 2)
    return bot


def drained(pg_url: str, expected_in: int) -> bool:
    queued = rows(pg_url, "SELECT count(*) FROM telegram_updates")[0][0]
    seen = rows(pg_url, "SELECT count(*) FROM messages WHERE direction = 'in'")[0][0]
    return queued == 0 and seen == expected_in


def test_two_telegram_workers_share_polled_updates(
    tmp_path: Path, pg_url: str, bots: list[Bot], bot_api: tuple[FakeBotApi, LoopThread, str]
) -> None:
    fake, loop, url = bot_api
    bot = start_telegram(tmp_path, pg_url, bots, url)
    push_telegram(fake, loop, 30, 5000)
    wait_until("every update answered", lambda: drained(pg_url, 60), 120)
    assert_each_once(pg_url, "telegram", 60, 30)
    replies = rows(pg_url, "SELECT chat_id, count(*) FROM messages WHERE direction = 'out' GROUP BY chat_id")
    for chat_id, n in replies:
        sent = fake.sent("sendMessage", int(str(chat_id)))
        assert len(sent) == n, "each reply sent once"
        assert sent[0].text.startswith(ANSWER) and "工单号" in sent[-1].text  # in the chat's order
    polls = {c.params.get("offset") for c in fake.calls if c.method == "getUpdates"}
    assert len(polls) >= 2 and fake.confirmed == 60
    assert bot.logged("telegram updates could not be queued") == 0
    assert bot.stop() == 0


def test_telegram_poller_killed_mid_run_loses_nothing(
    tmp_path: Path, pg_url: str, bots: list[Bot], bot_api: tuple[FakeBotApi, LoopThread, str]
) -> None:
    fake, loop, url = bot_api
    bot = start_telegram(tmp_path, pg_url, bots, url)
    push_telegram(fake, loop, 20, 6000)
    wait_until("traffic", lambda: len(fake.sent("sendMessage")) >= 6, 60)
    poller = worker_pid(bot.proc.pid, 0)
    assert poller is not None
    os.kill(poller, signal.SIGKILL)
    assert not drained(pg_url, 40), "killed mid-run"
    push_telegram(fake, loop, 20, 7000)  # arrives while the poller is down
    wait_until("every update answered", lambda: drained(pg_url, 80), 180)
    assert_each_once(pg_url, "telegram", 80, 40)
    for user in [*range(6000, 6020), *range(7000, 7020)]:
        texts = [c.text for c in fake.sent("sendMessage", user)]
        assert any(t.startswith(ANSWER) for t in texts) and any("工单号" in t for t in texts)
    assert worker_pid(bot.proc.pid, 0) not in (None, poller)
    assert bot.stop() == 0


def test_telegram_webhook_workers_share_the_port(
    tmp_path: Path, pg_url: str, bots: list[Bot], bot_api: tuple[FakeBotApi, LoopThread, str]
) -> None:
    fake, _loop, url = bot_api
    port = free_port()
    bot = Bot(tmp_path, BOT_WORKERS="2", TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_API_BASE_URL=url, DATABASE_URL=pg_url,
              TELEGRAM_WEBHOOK_URL="https://bot.example.gov.cn/tg", TELEGRAM_WEBHOOK_PORT=str(port),
              TELEGRAM_WEBHOOK_SECRET="s3cret")  # fmt: skip
    bots.append(bot)
    wait_until("both workers listening", lambda: bot.logged("telegram webhook listening") == 2)
    people = Users()
    updates = [people.message(8000 + i // 2, ANSWERED if i % 2 == 0 else ESCALATED) for i in range(40)]
    for i, update in enumerate(updates):
        update["update_id"] = 90_000 + i

    def deliver(chunk: list[dict[str, object]]) -> None:  # Telegram: one chat's updates in order
        with httpx.Client(timeout=30) as http:
            for update in chunk:
                response = http.post(f"http://127.0.0.1:{port}/tg", json=update,
                                     headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"})  # fmt: skip
                assert response.status_code == 200

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(deliver, [updates[i : i + 2] for i in range(0, 40, 2)]))
    assert_each_once(pg_url, "telegram", 40, 20)
    assert len(fake.sent("setWebhook")) == 1, "worker 0 registers the webhook, once"
    assert bot.stop() == 0


def test_a_worker_refusing_its_configuration_stops_the_supervisor(tmp_path: Path, pg_url: str, bots: list[Bot]) -> None:
    """A setting no restart can fix (safe mode without an AppID) ends the supervisor instead of a restart loop."""
    aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    bot = Bot(tmp_path, BOT_WORKERS="2", WECHAT_TOKEN=TOKEN, WECHAT_AES_KEY=aes_key, DATABASE_URL=pg_url)
    bots.append(bot)
    assert bot.proc.wait(START_TIMEOUT) == 2
    assert "WECHAT_APP_ID is needed" in bot.log.read_text()


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for whoever adopted it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path, pg_url: str, bots: list[Bot]) -> None:
    bot, port = start_wechat(tmp_path, pg_url, bots)
    workers = bot.workers()
    bot.proc.kill()  # SIGKILL: no chance to stop them
    bot.proc.wait()
    wait_until("the orphaned workers to stop", lambda: not any(alive(pid) for pid in workers), 60)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "nobody listens any more"


def test_the_monday_report_is_sent_once_however_many_workers_schedule_it(
    assistant: Assistant, store: SqlStore, clock: Clock, bot_api: tuple[FakeBotApi, LoopThread, str]
) -> None:
    """Worker 0 of every machine schedules it; the first to claim the week sends it, next week again."""
    fake, loop, url = bot_api
    machines = [telegram_channel(telegram_config(url), assistant, store) for _ in range(3)]

    async def monday(at: dt.datetime) -> list[bool]:
        clock.now = at
        for channel in machines:
            await channel.app.initialize()
        try:
            return list(await asyncio.gather(*(channel.weekly_report_once() for channel in machines)))
        finally:
            for channel in machines:
                await channel.app.shutdown()

    assert sorted(loop.run(monday(dt.datetime(2020, 3, 23, 9, 0, tzinfo=TZ)))) == [False, False, True]
    assert [c.params["caption"] for c in fake.sent("sendDocument", STAFF_CHAT)] == ["咨询周报 2020-W12"]
    assert sorted(loop.run(monday(dt.datetime(2020, 3, 30, 9, 0, tzinfo=TZ)))) == [False, False, True]
    assert len(fake.sent("sendDocument", STAFF_CHAT)) == 2
