"""Staff answers reach the enterprise on every channel, and only an answer it has seen can be rated.

A channel that pushes (Telegram, WeChat with its customer-service API) sends the answer when it is given;
every channel also shows an answer still waiting at the user's next message and marks it delivered then.
Per-channel tests through their harnesses are in test_telegram.py, test_wechat.py and test_tickets_cli.py.
"""

from __future__ import annotations

import pytest

from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.desk.staff import Staff, StaffDirectory, StaffService
from bot.desk.tickets import TicketError
from bot.dialog.core import Assistant
from bot.models import TicketStatus
from bot.reports.ticket_stats import ticket_stats
from bot.reports.week import IsoWeek
from bot.store import SqlStore
from bot.store.queue import TicketQueue
from bot.store.reports import ReportStore
from tests.conftest import BOT_TODAY, Chat, Clock

ZHANG = Staff("cli", "张三")
UNKNOWN_QUESTION = "我们厂的锅炉年检证书到期了，要找哪个窗口"
ANSWER = "请到区市场监管局特种设备窗口补办。"


@pytest.fixture
def queue(store: SqlStore) -> TicketQueue:
    return TicketQueue(store)


@pytest.fixture
def desk(queue: TicketQueue, clock: Clock, kb: KnowledgeBase) -> StaffService:
    return StaffService(queue, directory=StaffDirectory(frozenset({"张三"})), clock=clock, kb=kb)


def answered(chat: Chat, desk: StaffService, text: str = ANSWER) -> str:
    """The user's question becomes a ticket that staff answer; its number."""
    chat.say(UNKNOWN_QUESTION)
    chat.say("转人工")
    number = next(o.ticket_number for o in chat.last if o.ticket_number) or ""
    desk.claim(ZHANG, number)
    desk.answer(ZHANG, number, text)
    return number


def actions(desk: StaffService, number: str) -> list[str]:
    """The ticket's history, without the record of staff reading it."""
    return [e.action for e in desk.show(ZHANG, number).events if e.action != "查看个人信息"]


def test_an_answer_is_shown_at_the_next_contact_once(chat: Chat, desk: StaffService, queue: TicketQueue) -> None:
    number = answered(chat, desk)
    reply = chat.say("你好")
    assert reply.startswith(f"您的工单 {number} 已答复：\n{ANSWER}")
    assert "请直接输入您想咨询的复工复产政策问题" in reply, "the message itself is answered too"
    assert queue.pending_count() == 0, "marked delivered"
    assert "已答复" not in chat.say("你好")


def test_a_rating_sent_before_the_answer_was_seen_is_refused(chat: Chat, desk: StaffService) -> None:
    number = answered(chat, desk)
    reply = chat.say("满意")
    assert ANSWER in reply and f"请先阅读上面工单 {number} 的答复" in reply
    assert "已办结" not in reply
    ticket = desk.show(ZHANG, number).ticket
    assert (ticket.status, ticket.satisfaction) == (TicketStatus.ANSWERED, None)
    assert f"感谢您的评价（满意），工单 {number} 已办结" in chat.say("满意")


def test_an_answer_a_sender_is_pushing_is_neither_shown_again_nor_rated(
    chat: Chat, desk: StaffService, queue: TicketQueue, clock: Clock
) -> None:
    number = answered(chat, desk)
    (held,) = queue.claim_outbox(chat.address.channel, clock())  # a channel worker is sending it now
    reply = chat.say("", action=f"satisfaction:{number}:满意")
    assert ANSWER not in reply and f"工单 {number} 的答复还没有送达" in reply
    queue.delivered(held.id, clock())
    assert "已办结" in chat.say("", action=f"satisfaction:{number}:满意")


def test_an_answer_whose_push_failed_for_good_reaches_the_next_contact(
    chat: Chat, desk: StaffService, queue: TicketQueue, clock: Clock
) -> None:
    number = answered(chat, desk)
    (item,) = queue.claim_outbox(chat.address.channel, clock())
    queue.give_up(item, clock(), "48小时客服窗口已过")
    assert f"您的工单 {number} 已答复" in chat.say("查询工单")


def test_escalation_says_honestly_whether_the_answer_is_pushed(assistant: Assistant) -> None:
    console = Chat(assistant, "console", "c1")
    console.say(UNKNOWN_QUESTION)
    told = console.say("转人工")
    assert "本对话不能主动推送答复" in told and "直接发送到本对话" not in told
    telegram = Chat(assistant, "telegram", "t1")
    telegram.say(UNKNOWN_QUESTION)
    assert "答复将直接发送到本对话" in telegram.say("转人工")
    assistant.push_channels = frozenset()  # e.g. WeChat without WECHAT_APP_SECRET
    wechat = Chat(assistant, "wechat", "w1")
    wechat.say(UNKNOWN_QUESTION)
    assert "本对话不能主动推送答复" in wechat.say("转人工")


def test_report_and_digest_count_a_reopened_ticket_alike(
    assistant: Assistant, desk: StaffService, store: SqlStore, clock: Clock
) -> None:
    pleased, unhappy = Chat(assistant, user="u1"), Chat(assistant, user="u2")
    for chat in (pleased, unhappy):
        answered(chat, desk)
        chat.say("查询工单")  # the answer reaches the chat
    assert "已办结" in pleased.say("满意")
    assert "已重新打开" in unhappy.say("不满意")
    digest = desk.digest(ZHANG, clock().date())
    week = ticket_stats(ReportStore(store.engine).read_week(IsoWeek.of(clock().date())), clock())
    assert (len(digest.closed), week.total.closed) == (1, 1)
    assert digest.satisfaction == {"满意": 1, "不满意": 1}
    events = [e.action for e in desk.show(ZHANG, unhappy.last[0].ticket_number or "").events]
    assert events[-1] == "评价不满意"


def test_human_after_an_immediate_escalation_points_to_the_open_ticket(chat: Chat, queue: TicketQueue) -> None:
    first = chat.send("锅炉年检证书丢了补办找谁")
    (number,) = [o.ticket_number for o in first if o.ticket_number]
    reply = chat.say("转人工")
    assert f"工单号：{number}" in reply and "不用再描述" in reply
    assert "请用一句话描述" not in reply
    assert [t.number for t in chat.assistant.store.tickets_of("console", chat.user)] == [number]


def test_human_after_the_ticket_was_closed_asks_for_the_question(
    chat: Chat, desk: StaffService, queue: TicketQueue
) -> None:
    number = answered(chat, desk)
    chat.say("查询工单")
    chat.say("满意")
    assert desk.show(ZHANG, number).ticket.status is TicketStatus.CLOSED
    assert "请用一句话描述您的问题" in chat.say("转人工")


def test_unhelpful_in_words_carries_the_question_to_the_ticket(chat: Chat, queue: TicketQueue) -> None:
    question = "社保费能缓缴吗"
    answer = chat.say(question)
    assert "回复“有帮助”或“没帮助”" in answer, "text channels offer the vote in words"
    reply = chat.say("没帮助")
    assert chat.last[0].options[0].action == "human" and f"“{question}”" in reply
    chat.say("转人工")
    (ticket,) = chat.assistant.store.tickets_of("console", chat.user)
    assert ticket.question == question
    assert "👍" not in ticket.question and "没帮助" not in ticket.question


def test_helpful_in_words_is_recorded_as_a_vote(chat: Chat, store: SqlStore) -> None:
    chat.say("社保费能缓缴吗")
    assert chat.say("有帮助") == "感谢您的反馈！"
    assert chat.assistant.store.tickets_of("console", chat.user) == []


def test_unhelpful_without_an_answer_opens_no_ticket_about_it(chat: Chat) -> None:
    assert "请直接输入您的问题" in chat.say("没帮助")
    assert chat.assistant.store.tickets_of("console", chat.user) == []


def test_a_known_district_is_not_asked_again_at_the_next_start(
    kb: KnowledgeBase, matcher: Matcher, store: SqlStore, clock: Clock
) -> None:
    first = Chat(Assistant(kb, matcher, store, today=lambda: BOT_TODAY, clock=clock))
    assert "请先选择您企业所在的区县" in first.say("/start")
    first.say("", action="district:上街区")
    again = Chat(Assistant(kb, matcher, store, today=lambda: BOT_TODAY, clock=clock))  # a new start, same user
    reply = again.say("/start")
    assert "欢迎回来" in reply and "上街区" in reply and "请先选择" not in reply
    other = Chat(again.assistant, user="u9")
    other.say("/start")
    other.say("其他")
    assert "通用口径" in other.say("/start")


def test_staff_record_a_callers_satisfaction_on_hotline_tickets_only(
    chat: Chat, desk: StaffService, clock: Clock
) -> None:
    call = desk.hotline(ZHANG, "来电：复工需要哪些防疫材料", contact="13800000000")
    desk.claim(ZHANG, call.number)
    with pytest.raises(TicketError, match="不能评价满意"):
        desk.rate(ZHANG, call.number, "满意")
    desk.answer(ZHANG, call.number, "电话告知：按区防控指挥部清单准备。")
    t = desk.rate(ZHANG, call.number, "基本满意")
    assert (t.status, t.satisfaction) == (TicketStatus.CLOSED, "基本满意")
    assert actions(desk, call.number)[-1] == "评价满意"
    number = answered(chat, desk)
    with pytest.raises(TicketError, match="由企业在对话中评价"):
        desk.rate(ZHANG, number, "满意")
    again = desk.hotline(ZHANG, "来电：稳岗返还到账时间", contact="13900000000")
    desk.claim(ZHANG, again.number)
    desk.answer(ZHANG, again.number, "电话告知")
    assert desk.rate(ZHANG, again.number, "不满意").status is TicketStatus.REOPENED
    assert actions(desk, again.number)[-1] == "评价不满意"
