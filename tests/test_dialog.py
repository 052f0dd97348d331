"""The dialog core, as conversations: what a user types and what they read back."""

from __future__ import annotations

import datetime as dt

from bot.dialog.core import Assistant
from bot.models import Address, Incoming
from bot.store import SqlStore
from tests.conftest import Chat


def test_start_greets_and_offers_districts(chat: Chat) -> None:
    reply = chat.say("/start")
    assert "复工复产政策咨询助手" in reply
    assert [o.label for o in chat.last[0].options] == ["二七区", "上街区", "中牟县", "其他"]


def test_answer_names_source_validity_and_department(chat: Chat) -> None:
    reply = chat.say("社保费能缓缴吗？最长缓多久")
    assert reply.startswith("【受疫情影响")
    assert "依据：《" in reply and "负责部门：" in reply
    assert "有效期：2020-02-01" in reply and "已到期" not in reply  # the bot's date is 2020-03-21 here
    assert {o.kind for o in chat.last[0].options} >= {"pick", "feedback", "human"}


def test_expired_policy_is_said_plainly(assistant: Assistant, chat: Chat) -> None:
    assistant.today = lambda: dt.date(2026, 11, 21)
    assert "该政策已到期" in chat.say("社保费能缓缴吗？最长缓多久")


def test_district_is_remembered_and_its_wording_used(chat: Chat) -> None:
    chat.say("上街区")
    reply = chat.say("企业水价降了多少")
    assert "4.1" in reply and "（已按上街区口径答复）" in reply
    chat.say("切换区县")
    chat.say("1")  # 二七区, picked by number
    assert "4.1" not in chat.say("企业水价降了多少")


def test_district_named_in_a_question_is_remembered(chat: Chat) -> None:
    assert "4.1" in chat.say("我们是上街区的企业，水费有优惠吗")
    assert "4.1" in chat.say("企业水价降了多少")


def test_suggestion_picked_by_number(chat: Chat) -> None:
    reply = chat.say("稳岗返还")
    if "您想问的是" not in reply:  # answered outright is fine too; then pick a follow-up by number
        assert "您可能还想了解" in reply
    first = chat.last[0].options[0]
    picked = chat.say("1")
    assert picked.startswith("【") and first.action.startswith("pick:")


def test_unanswerable_question_becomes_a_numbered_ticket(chat: Chat, store: SqlStore) -> None:
    reply = chat.say("社保卡丢了去哪里补办")
    assert "工单号：FG20200321-0001" in reply
    assert chat.say("帮我写一首诗").count("FG20200321-0002") == 1
    status = chat.say("查询工单")
    assert "FG20200321-0001" in status and "FG20200321-0002" in status and "待认领" in status
    assert [t.number for t in store.tickets_of("console", "u1")] == ["FG20200321-0002", "FG20200321-0001"]


def test_transfer_to_a_person_on_request(chat: Chat, store: SqlStore) -> None:
    chat.say("社保费能缓缴吗？最长缓多久")
    assert "工单号" in chat.say("转人工")
    (ticket,) = store.tickets_of("console", "u1")
    assert ticket.question == "社保费能缓缴吗？最长缓多久"


def test_transfer_without_a_question_asks_for_one(chat: Chat) -> None:
    assert "请用一句话描述您的问题" in chat.say("人工客服")


def test_second_unanswered_question_in_a_row_opens_a_ticket(chat: Chat, store: SqlStore) -> None:
    assert chat.say("社保").startswith("没有找到完全对应的答案")  # a suggestion: not yet a ticket
    assert store.tickets_of("console", "u1") == []
    assert "工单号" in chat.say("社保")
    assert len(store.tickets_of("console", "u1")) == 1


def test_greetings_thanks_and_help_are_not_tickets(chat: Chat, store: SqlStore) -> None:
    assert "您好" in chat.say("你好")
    assert "不客气" in chat.say("好的谢谢你")
    assert "使用说明" in chat.say("你能做什么")
    assert store.tickets_of("console", "u1") == []


def test_non_text_and_empty_input_get_a_polite_reply(chat: Chat) -> None:
    assert "只能读懂文字" in chat.say("", kind="image")
    assert "请用一句话描述" in chat.say("   ")


def test_feedback_is_thanked(chat: Chat) -> None:
    chat.say("社保费能缓缴吗？最长缓多久")
    down = next(o for o in chat.last[0].options if o.action.startswith("feedback:down"))
    assert "抱歉没能帮到您" in chat.say("", action=down.action)


def test_redelivered_message_gets_the_same_reply_and_one_ticket(assistant: Assistant, store: SqlStore) -> None:
    message = Incoming(Address("wechat", "openid-1"), "openid-1", "社保卡丢了去哪里补办", message_id="m-42")
    first = assistant.handle(message)
    again = assistant.handle(message)
    assert first == again
    assert len(store.tickets_of("wechat", "openid-1")) == 1


def test_each_user_sees_only_their_own_tickets(assistant: Assistant) -> None:
    alice, bob = Chat(assistant, user="alice"), Chat(assistant, user="bob")
    number = alice.send("社保卡丢了去哪里补办")[0].ticket_number
    assert number and number not in bob.say("查询工单")
