"""Staff operations on both backends: the queue, the workflow, what the enterprise reads, and the history."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io

import pytest

from bot.answering.kb import KnowledgeBase
from bot.config import TZ
from bot.desk.digest import format_digest
from bot.desk.outbox import OutboxPump
from bot.desk.staff import Staff, StaffDirectory, StaffService
from bot.desk.tickets import AlreadyClaimed, NotStaff, TicketError, TicketNotFound, TransitionError
from bot.models import Outgoing, Ticket, TicketStatus
from bot.store import SqlStore
from bot.store.queue import TicketQueue
from tests.conftest import Chat, Clock

ZHANG = Staff("cli", "张三")
LI = Staff("cli", "李四")
BOSS = Staff("telegram", "900")
UNKNOWN_QUESTION = "我们厂的锅炉年检证书到期了，要找哪个窗口"


@pytest.fixture
def queue(store: SqlStore) -> TicketQueue:
    return TicketQueue(store)


@pytest.fixture
def desk(queue: TicketQueue, clock: Clock, kb: KnowledgeBase) -> StaffService:
    staff = StaffDirectory(frozenset({"张三", "李四", "telegram:900"}))
    return StaffService(queue, directory=staff, clock=clock, kb=kb)


def escalate(chat: Chat, question: str = UNKNOWN_QUESTION) -> str:
    """The user asks, then asks for a person; returns the ticket number the user was told."""
    chat.say(question)
    chat.say("转人工")
    (out,) = [o for o in chat.last if o.ticket_number]
    return out.ticket_number or ""


def outbox_for(queue: TicketQueue, chat: Chat, clock: Clock) -> list[Outgoing]:
    """What a channel's sender would push to the chat now, marked delivered as the outbox pump does."""
    items = queue.claim_outbox(chat.address.channel, clock(), chat_id=chat.address.chat_id)
    for item in items:
        queue.delivered(item.id, clock())
    return [item.out for item in items]


# ---- opening --------------------------------------------------------------------------------------------


def test_escalation_reply_states_department_tier_and_expected_answer_time(chat: Chat, desk: StaffService) -> None:
    chat.say(UNKNOWN_QUESTION)
    reply = chat.say("转人工")
    # Saturday 21 March 2020: the clock starts Monday 09:00; 一般 = 3 working days → Wednesday 17:00.
    assert "承办：区复工复产服务专班（一般类）" in reply
    assert "预计在03月25日 17:00前答复" in reply
    ticket = desk.show(ZHANG, chat.last[0].ticket_number or "").ticket
    assert (ticket.tier, ticket.status, ticket.due_at) == (
        "一般",
        TicketStatus.OPEN,
        dt.datetime(2020, 3, 25, 17, tzinfo=TZ),
    )


def test_hotline_call_becomes_a_ticket_in_the_queue(desk: StaffService) -> None:
    t = desk.hotline(ZHANG, "来电咨询：复工需要哪些防疫材料", caller="王经理", contact="13800000000", district="二七区")
    assert (t.channel, t.tier, t.department, t.contact) == ("hotline", "一般", "二七区复工复产服务专班", "13800000000")
    assert [x.number for x in desk.list_queue(ZHANG)] == [t.number]
    assert [(e.actor, e.action) for e in desk.show(ZHANG, t.number).events] == [
        ("hotline:13800000000", "创建"),
        ("张三", "登记来电"),
    ]
    with pytest.raises(TicketError, match="问题"):
        desk.hotline(ZHANG, "   ")


# ---- the workflow -----------------------------------------------------------------------------------------


def test_claim_answer_rate_close_the_loop(chat: Chat, desk: StaffService, queue: TicketQueue, clock: Clock) -> None:
    number = escalate(chat)
    assert desk.claim(ZHANG, number).assignee == "张三"
    with pytest.raises(AlreadyClaimed, match="已由张三认领"):
        desk.claim(LI, number)
    clock.advance(hours=50)
    t = desk.answer(ZHANG, number, "锅炉使用登记证补办请到区市场监管局特种设备窗口。")
    assert t.status is TicketStatus.ANSWERED and t.paused_at == clock()
    (sent,) = outbox_for(queue, chat, clock)
    assert "区市场监管局特种设备窗口" in sent.text and sent.ticket_number == number
    assert outbox_for(queue, chat, clock) == [], "delivered once"
    reply = chat.say("", action=sent.options[0].action)
    assert "感谢您的评价（满意）" in reply
    t = desk.show(ZHANG, number).ticket
    assert (t.status, t.satisfaction) == (TicketStatus.CLOSED, "满意")
    assert [e.action for e in desk.show(ZHANG, number).events] == ["创建", "认领", "答复", "评价满意"]


def test_unsatisfied_enterprise_reopens_and_clock_resumes(chat: Chat, desk: StaffService, clock: Clock) -> None:
    number = escalate(chat)
    desk.claim(ZHANG, number)
    clock.now = dt.datetime(2020, 3, 23, 10, tzinfo=TZ)
    desk.answer(ZHANG, number, "请联系区市场监管局")
    due_before = desk.show(ZHANG, number).ticket.due_at
    clock.now = dt.datetime(2020, 3, 24, 10, tzinfo=TZ)  # waited 7 working hours Monday + 1 Tuesday
    assert "请联系区市场监管局" in chat.say("查询工单"), "the answer reaches the chat at its next message"
    reply = chat.say("不满意")
    assert f"工单 {number} 已重新打开" in reply
    t = desk.show(ZHANG, number).ticket
    assert t.status is TicketStatus.REOPENED and t.satisfaction == "不满意"
    assert t.due_at == (due_before or clock()) + dt.timedelta(hours=8)
    assert desk.claim(LI, number).assignee == "李四"


def test_text_rating_without_an_answered_ticket_is_just_a_message(chat: Chat) -> None:
    assert "已办结" not in chat.say("满意")


def test_only_the_asking_enterprise_can_rate(chat: Chat, assistant, desk: StaffService) -> None:  # type: ignore[no-untyped-def]
    number = escalate(chat)
    desk.claim(ZHANG, number)
    desk.answer(ZHANG, number, "答复")
    other = Chat(assistant, user="u2")
    assert "没有找到工单" in other.say("", action=f"satisfaction:{number}:不满意")
    assert desk.show(ZHANG, number).ticket.status is TicketStatus.ANSWERED


def test_answer_with_faq_entry_uses_the_ticket_district(
    chat: Chat, desk: StaffService, queue: TicketQueue, clock: Clock, kb: KnowledgeBase
) -> None:
    chat.say("二七区")
    number = escalate(chat)
    desk.claim(ZHANG, number)
    entry = next(e for e in kb.entries.values() if "二七区" in e.regions)
    t = desk.answer_faq(ZHANG, number, entry.id)
    assert "已按二七区口径答复" in (t.answer or "")
    assert "已按二七区口径答复" in outbox_for(queue, chat, clock)[0].text
    with pytest.raises(TicketError, match="没有条目"):
        desk.answer_faq(ZHANG, escalate(chat, "第二个问题：厂房消防验收找谁"), "no-such-entry")


def test_answer_claims_a_free_ticket_but_not_one_someone_holds(chat: Chat, desk: StaffService) -> None:
    number = escalate(chat)
    assert desk.answer(ZHANG, number, "答复").assignee == "张三"
    with pytest.raises(TransitionError, match="“已答复”，不能答复"):
        desk.answer(LI, number, "答复")


def test_transfer_hands_over_to_a_department_which_claims_it(chat: Chat, desk: StaffService) -> None:
    number = escalate(chat)
    desk.claim(ZHANG, number)
    t = desk.transfer(ZHANG, number, "区人社局（劳动关系）", tier="专业")
    assert (t.status, t.department, t.tier, t.assignee) == (
        TicketStatus.TRANSFERRED,
        "区人社局（劳动关系）",
        "专业",
        None,
    )
    assert [x.number for x in desk.list_queue(LI, department="人社")] == [number]
    assert desk.claim(LI, number).status is TicketStatus.IN_PROGRESS
    with pytest.raises(TicketError, match="部门"):
        desk.transfer(LI, number, " ")


def test_close_and_reopen_by_staff(chat: Chat, desk: StaffService) -> None:
    number = escalate(chat)
    with pytest.raises(TransitionError, match="不能办结"):
        desk.close(ZHANG, number)
    desk.claim(ZHANG, number)
    desk.answer(ZHANG, number, "答复")
    assert desk.close(ZHANG, number, "企业电话确认已解决").status is TicketStatus.CLOSED
    assert desk.reopen(LI, number, "企业再次来电").status is TicketStatus.REOPENED
    history = desk.show(ZHANG, number).events
    assert [(e.actor, e.action, e.detail) for e in history[-2:]] == [
        ("张三", "办结", "企业电话确认已解决"),
        ("李四", "重办", "企业再次来电"),
    ]


def test_notes_stay_internal(chat: Chat, desk: StaffService, queue: TicketQueue, clock: Clock) -> None:
    number = escalate(chat)
    desk.note(ZHANG, number, "已电话联系企业，下午回复")
    assert desk.show(ZHANG, number).events[-1].detail == "已电话联系企业，下午回复"
    assert outbox_for(queue, chat, clock) == []
    with pytest.raises(TicketError, match="备注"):
        desk.note(ZHANG, number, "")


def test_answer_can_be_proposed_as_an_faq_entry(
    chat: Chat, desk: StaffService, queue: TicketQueue, clock: Clock
) -> None:
    number = escalate(chat)
    desk.claim(ZHANG, number)
    with pytest.raises(TransitionError):
        desk.mark_faq(ZHANG, number)
    desk.answer(ZHANG, number, "请到区市场监管局补办", faq_candidate=True)
    day = clock().astimezone(TZ).date()
    start = dt.datetime.combine(day, dt.time(0), TZ)
    (row,) = queue.faq_candidates(start, start + dt.timedelta(days=1))
    assert (row["number"], row["question"], row["answer"], row["proposed_by"]) == (
        number,
        UNKNOWN_QUESTION,
        "请到区市场监管局补办",
        "张三",
    )


def test_unknown_ticket_and_unknown_staff_are_refused(desk: StaffService) -> None:
    with pytest.raises(TicketNotFound, match="没有找到工单 FG20200321-9999"):
        desk.claim(ZHANG, "FG20200321-9999")
    with pytest.raises(NotStaff, match="工作人员"):
        desk.list_queue(Staff("telegram", "12345"))
    assert desk.list_queue(BOSS) == []


def test_without_a_staff_list_only_the_cli_desk_is_staff(queue: TicketQueue) -> None:
    open_desk = StaffService(queue)
    assert open_desk.list_queue(ZHANG) == []
    with pytest.raises(NotStaff):
        open_desk.list_queue(BOSS)


# ---- queue, reminders, supervision, reports ---------------------------------------------------------------


def _tickets(desk: StaffService, chat_factory, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [escalate(chat_factory(f"u{i}"), f"第{i}个问题：厂房消防验收找谁") for i in range(n)]


def test_queue_filters_remind_supervise_and_digest(assistant, desk: StaffService, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    a, b, c = _tickets(desk, lambda u: Chat(assistant, user=u), 3)
    Chat(assistant, user="u9").say("中牟县")
    d = escalate(Chat(assistant, user="u9"))
    assert [t.number for t in desk.list_queue(ZHANG, district="中牟县")] == [d]
    desk.claim(ZHANG, a)
    assert [t.number for t in desk.list_queue(ZHANG, statuses=frozenset({TicketStatus.IN_PROGRESS}))] == [a]
    clock.now = dt.datetime(2020, 3, 25, 14, tzinfo=TZ)  # three hours before the 17:00 limit
    assert {t.number for t in desk.remind(ZHANG)} == {a, b, c, d}
    assert desk.supervise(ZHANG) == []
    desk.answer(ZHANG, a, "答复")
    clock.now = dt.datetime(2020, 3, 26, 9, 30, tzinfo=TZ)
    overdue = desk.supervise(LI)
    assert {t.number for t in overdue} == {b, c, d}, "the answered ticket waits for the enterprise: not overdue"
    assert {t.number for t in desk.list_queue(ZHANG, overdue=True)} == {b, c, d}
    assert desk.show(ZHANG, b).events[-1].action == "督办"
    first_day = format_digest(desk.digest(ZHANG, dt.date(2020, 3, 21)))
    assert "新增 4 件" in first_day and "超期 0 件" in first_day
    assert "中牟县复工复产服务专班：新增 1" in first_day
    assert "答复 1 件" in format_digest(desk.digest(ZHANG, dt.date(2020, 3, 25)))
    today = format_digest(desk.digest(ZHANG))
    assert "新增 0 件" in today and "超期 3 件" in today and "FG20200321-0002｜待认领" in today


def test_export_lists_every_ticket_as_csv(assistant, desk: StaffService, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    from bot.desk.digest import export_csv

    numbers = _tickets(desk, lambda u: Chat(assistant, user=u), 2)
    out = io.StringIO()
    export_csv(desk.export(ZHANG, dt.date(2020, 3, 21), dt.date(2020, 3, 21)), out, clock())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["工单号"] for r in rows] == numbers
    assert rows[0]["状态"] == "待认领" and rows[0]["办理时限"] == "2020-03-25 17:00"
    assert desk.export(ZHANG, dt.date(2020, 3, 22)) == []


# ---- delivery ---------------------------------------------------------------------------------------------


class FakeSender:
    """Records what it sends; fails as told."""

    def __init__(self, channel: str, fail: list[Exception] | None = None) -> None:
        self.channel = channel
        self.sent: list[Outgoing] = []
        self.fail = fail or []

    async def send(self, out: Outgoing) -> None:
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append(out)


def _answered(assistant, desk: StaffService, channel: str = "telegram") -> tuple[Chat, Ticket]:  # type: ignore[no-untyped-def]
    chat = Chat(assistant, channel=channel)
    number = escalate(chat)
    desk.claim(ZHANG, number)
    return chat, desk.answer(ZHANG, number, "答复内容")


def test_pump_delivers_answers_through_the_tickets_own_channel(assistant, desk, queue, clock) -> None:  # type: ignore[no-untyped-def]
    chat, t = _answered(assistant, desk, "telegram")
    telegram, wechat = FakeSender("telegram"), FakeSender("wechat")
    pump = OutboxPump(queue, {"telegram": telegram, "wechat": wechat}, clock)
    assert asyncio.run(pump.deliver_once()) == 1
    assert [(o.address, o.ticket_number) for o in telegram.sent] == [(chat.address, t.number)]
    assert wechat.sent == [] and asyncio.run(pump.deliver_once()) == 0


def test_pump_retries_with_backoff_then_flags_a_call_back(assistant, desk, queue, clock) -> None:  # type: ignore[no-untyped-def]
    from bot.desk.delivery import DeliveryError

    _, t = _answered(assistant, desk, "wechat")
    sender = FakeSender("wechat", [DeliveryError("timeout"), DeliveryError("48小时窗口已关闭", permanent=True)])
    pump = OutboxPump(queue, {"wechat": sender}, clock)
    assert asyncio.run(pump.deliver_once()) == 0
    assert asyncio.run(pump.deliver_once()) == 0, "not due again before the backoff"
    assert queue.pending_count("wechat") == 1
    clock.advance(seconds=31)
    assert asyncio.run(pump.deliver_once()) == 0
    assert queue.pending_count("wechat") == 0
    flagged = desk.show(ZHANG, t.number)
    assert flagged.ticket.callback_needed and flagged.events[-1].action == "投递失败"
    assert "电话回访" in (flagged.events[-1].detail or "")


def test_hotline_answers_are_not_queued(desk: StaffService, queue: TicketQueue) -> None:
    t = desk.hotline(ZHANG, "来电咨询", contact="13900000000")
    desk.claim(ZHANG, t.number)
    desk.answer(ZHANG, t.number, "已电话答复")
    assert queue.pending_count() == 0
