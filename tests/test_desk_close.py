"""Closing what nobody will answer (无效, 重复) and the desk's consistency, on the service and the CLI (issue 13)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.answering.kb import KnowledgeBase
from bot.cli import main as cli
from bot.config import TZ
from bot.desk.digest import format_digest
from bot.desk.staff import StaffDirectory, StaffService
from bot.desk.tickets import AlreadyClaimed, TicketError, TicketNotFound, TransitionError, rate
from bot.models import TicketStatus
from bot.reports import IsoWeek, build_report
from bot.store import SqlStore
from bot.store.queue import TicketQueue
from bot.store.reports import ReportStore
from tests.conftest import BOT_TODAY, Chat, Clock
from tests.test_staff import LI, ZHANG, escalate


@pytest.fixture
def desk(store: SqlStore, clock: Clock, kb: KnowledgeBase) -> StaffService:
    return StaffService(TicketQueue(store), directory=StaffDirectory(frozenset({"张三", "李四"})), clock=clock, kb=kb)


def two_tickets(assistant) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return escalate(Chat(assistant, user="u1")), escalate(Chat(assistant, user="u2"))


# ---- 无效 / 重复 ---------------------------------------------------------------------------------------------


def test_an_unanswered_junk_ticket_is_voided_with_its_reason_in_the_history(chat: Chat, desk: StaffService) -> None:
    number = escalate(chat)
    t = desk.close(ZHANG, number, "无效：测试消息")
    assert (t.status, t.answer) == (TicketStatus.DISMISSED, None)
    assert [(e.actor, e.action, e.detail) for e in desk.show(ZHANG, number).events][-1] == (
        "张三",
        "作废",
        "无效：测试消息",
    )
    assert number not in [x.number for x in desk.list_queue(ZHANG)], "out of the working queue"
    assert desk.supervise(ZHANG) == [], "a voided ticket is never overdue"
    with pytest.raises(TransitionError, match="不能评价"):
        rate(t, "满意", desk.policy, desk.clock(), delivered=True)
    assert desk.reopen(LI, number, "误作废").status is TicketStatus.REOPENED, "a mistake can be undone"


def test_a_duplicate_points_to_the_kept_ticket_and_the_kept_one_records_the_merge(
    assistant, desk: StaffService
) -> None:  # type: ignore[no-untyped-def]
    kept, dup = two_tickets(assistant)
    t = desk.close(ZHANG, dup, "重复", duplicate_of=kept)
    assert t.status is TicketStatus.DISMISSED
    assert desk.show(ZHANG, dup).events[-1].detail == f"重复，并入 {kept}"
    assert (desk.show(ZHANG, kept).events[-1].action, desk.show(ZHANG, kept).events[-1].detail) == (
        "合并",
        f"重复工单 {dup} 已并入本工单",
    )
    assert desk.show(ZHANG, kept).ticket.status is TicketStatus.OPEN, "the kept ticket is still to be answered"


def test_the_kept_ticket_may_be_named_in_the_reason_as_telegram_staff_write_it(assistant, desk: StaffService) -> None:  # type: ignore[no-untyped-def]
    kept, dup = two_tickets(assistant)
    desk.close(ZHANG, dup, f"重复 {kept}，同一企业两次来问")
    assert desk.show(ZHANG, dup).events[-1].detail == f"重复，并入 {kept}：同一企业两次来问"


def test_bad_void_requests_are_refused_politely_and_change_nothing(assistant, desk: StaffService) -> None:  # type: ignore[no-untyped-def]
    kept, dup = two_tickets(assistant)
    with pytest.raises(TicketError, match="请写明保留的工单号"):
        desk.close(ZHANG, dup, "重复")
    with pytest.raises(TicketNotFound, match="没有找到要保留的工单 FG20991231-0001"):
        desk.close(ZHANG, dup, "重复", duplicate_of="FG20991231-0001")
    with pytest.raises(TicketError, match="不能与自身重复"):
        desk.close(ZHANG, dup, "重复", duplicate_of=dup)
    with pytest.raises(TransitionError, match=r"尚未答复，不能办结.*无效.*重复 保留的工单号"):
        desk.close(ZHANG, dup, "企业说不用了")
    desk.close(ZHANG, kept, "无效")
    with pytest.raises(TicketError, match=f"{kept} 已作废"):
        desk.close(ZHANG, dup, "重复", duplicate_of=kept)
    assert desk.show(ZHANG, dup).ticket.status is TicketStatus.OPEN


def test_an_answered_ticket_closes_as_before(chat: Chat, desk: StaffService) -> None:
    number = escalate(chat)
    desk.answer(ZHANG, number, "请到区市场监管局窗口办理。")
    assert desk.close(ZHANG, number, "企业电话确认已解决").status is TicketStatus.CLOSED


def test_voided_tickets_are_not_counted_as_answered_or_closed(
    assistant, desk: StaffService, clock: Clock, store: SqlStore, kb: KnowledgeBase, matcher
) -> None:  # type: ignore[no-untyped-def]
    answered, junk = two_tickets(assistant)
    dup = escalate(Chat(assistant, user="u3"))
    desk.answer(ZHANG, answered, "请到区市场监管局窗口办理。")
    desk.close(ZHANG, answered)
    desk.close(ZHANG, junk, "无效")
    desk.close(ZHANG, dup, "重复", duplicate_of=answered)
    digest = format_digest(desk.digest(ZHANG))
    assert "新增 3 件，答复 1 件，办结 1 件，在办 0 件" in digest
    clock.now = dt.datetime(2020, 4, 30, 9, tzinfo=TZ)  # long after every due time
    report = build_report(
        ReportStore(store.engine), kb, matcher, IsoWeek.of(dt.date(2020, 3, 21)), BOT_TODAY, clock.now
    )
    total = report.tickets.total
    assert (total.opened, total.answered, total.closed, total.overdue) == (3, 1, 1, 0)


# ---- answering implies claiming, reading needs no name ------------------------------------------------------


def test_answering_a_free_ticket_claims_it_on_the_way(chat: Chat, desk: StaffService) -> None:
    number = escalate(chat)
    t = desk.answer(ZHANG, number, "请到区市场监管局窗口办理。")
    assert (t.status, t.assignee) == (TicketStatus.ANSWERED, "张三")
    assert [e.action for e in desk.show(ZHANG, number).events] == ["创建", "认领", "答复"]


def test_answering_a_ticket_someone_else_holds_is_still_refused(chat: Chat, desk: StaffService) -> None:
    number = escalate(chat)
    desk.claim(ZHANG, number)
    with pytest.raises(AlreadyClaimed, match="由张三处理"):
        desk.answer(LI, number, "答复")
    with pytest.raises(TicketError, match="不能为空"):
        desk.answer(ZHANG, number, "  ")


# ---- the CLI desk ---------------------------------------------------------------------------------------------


def desk_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, *args: str
) -> tuple[int, str, str]:
    """`run_bot.py tickets …` in this process: (exit status, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("STAFF_NAME", raising=False)
    monkeypatch.delenv("STAFF_USER_IDS", raising=False)
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        cli.main(["tickets", *args])
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def test_cli_voids_junk_and_duplicates_and_lists_without_a_name(
    assistant, db_url: str, monkeypatch, capsys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    kept, dup = two_tickets(assistant)
    junk = escalate(Chat(assistant, user="u3"))
    code, out, err = desk_cli(monkeypatch, capsys, db_url, "list")
    assert code == 0 and kept in out and "共 3 件" in out, err
    code, out, err = desk_cli(monkeypatch, capsys, db_url, "close", junk, "--reason", "无效", "--staff", "张三")
    assert (code, out.strip()) == (0, f"工单 {junk} 已作废（不计入答复和办结），当前状态：已作废"), err
    code, out, err = desk_cli(
        monkeypatch, capsys, db_url, "close", dup, "--reason", "重复", "--dup-of", kept, "--staff", "张三"
    )
    assert code == 0, err
    code, out, _ = desk_cli(monkeypatch, capsys, db_url, "show", dup)
    assert f"作废｜重复，并入 {kept}" in out and "张三" in out
    code, out, _ = desk_cli(monkeypatch, capsys, db_url, "list", "--status", "已作废")
    assert dup in out and junk in out and "共 2 件" in out
    code, out, err = desk_cli(monkeypatch, capsys, db_url, "close", kept, "--reason", "不用了", "--staff", "张三")
    assert code == 1 and "尚未答复，不能办结" in err and "Traceback" not in err
    code, out, err = desk_cli(monkeypatch, capsys, db_url, "close", kept, "--reason", "无效")
    assert code == 2 and "请用 --staff" in err, "acting still needs a name"


def test_cli_answer_claims_a_free_ticket(assistant, db_url: str, monkeypatch, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    number = escalate(Chat(assistant, user="u1"))
    code, out, err = desk_cli(
        monkeypatch, capsys, db_url, "answer", number, "请到区市场监管局窗口办理。", "--staff", "张三"
    )
    assert code == 0 and "当前状态：已答复" in out, err
    code, out, _ = desk_cli(monkeypatch, capsys, db_url, "show", number)
    assert "承办人：张三" in out and "｜张三｜认领" in out and "｜张三｜答复" in out
