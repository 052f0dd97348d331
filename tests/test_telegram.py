"""The Telegram channel end to end: the real Application against a fake Bot API server on 127.0.0.1.

Users and staff send updates through the fake's getUpdates; the tests read what the bot sent back. The
dialog core, the staff service and the outbox are the real ones, on SQLite and (where tickets are involved)
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.answering.kb import KnowledgeBase
from bot.app import telegram_channel
from bot.channels.telegram import TelegramChannel, TelegramConfig
from bot.channels.telegram_sender import MAX_TEXT, CallbackCodec, keyboard, split_text
from bot.channels.telegram_staff import REFUSAL
from bot.channels.telegram_updates import ChatOrder
from bot.config import ROOT, TZ
from bot.desk.outbox import OutboxPump
from bot.desk.staff import Staff, StaffDirectory, StaffService
from bot.dialog.core import Assistant
from bot.dialog.flood import FLOOD_REPLY, FloodLimit
from bot.models import Address, Option, Outgoing, TicketStatus
from bot.store import SqlStore
from bot.store.queue import TicketQueue
from bot.store.schema import outbox
from tests.conftest import Clock, table_count
from tests.telegram_harness import STAFF_CHAT, TOKEN, Call, FakeBotApi, Users
from tests.wechat_harness import LoopThread

USER = 4242
OTHER_USER = 4343
STAFF_USER = 555  # configured in TELEGRAM_STAFF_USER_IDS
GROUP_MEMBER = 777  # not configured, but writes in the staff group


@dataclass
class Bot:
    """The running channel and the people talking to it."""

    fake: FakeBotApi
    loop: LoopThread
    channel: TelegramChannel
    users: Users

    def send(self, update: dict[str, Any]) -> int:
        update_id = self.fake.push(update, self.loop.loop)
        self.fake.processed(update_id)
        return update_id

    def say(self, text: str, user: int = USER, **kw: Any) -> list[Call]:
        """A user's message; the bot's messages to that chat in reply."""
        chat = kw.get("chat_id") or user
        before = len(self.fake.sent("sendMessage", chat))
        self.send(self.users.message(user, text, **kw))
        return self.fake.sent("sendMessage", chat)[before:]

    def press(self, sent: Call, label: str, user: int = USER) -> list[Call]:
        """Press the button labelled `label` under a message the bot sent."""
        data = next(d for text, d in sent.buttons if text == label)
        chat = sent.chat_id
        before = len(self.fake.sent("sendMessage", chat))
        self.send(self.users.press(user, sent.result, data))
        return self.fake.sent("sendMessage", chat)[before:]

    def card(self, number: str) -> Call:
        """The staff group's card of ticket `number`, once the card job has recorded it (replies find it then)."""
        card: Call = self.fake.wait_for(
            lambda calls: next((c for c in calls if c.method == "sendMessage" and c.chat_id == STAFF_CHAT
                                and f"工单 {number}" in c.text and c.buttons), None)
        )  # fmt: skip
        cards = self.channel.group.cards
        self.fake.wait_for(lambda _calls: cards.ticket_number(STAFF_CHAT, card.result["message_id"]) == number)
        return card


def config(base_url: str, **kw: Any) -> TelegramConfig:
    defaults: dict[str, Any] = dict(
        token=TOKEN,
        api_base_url=base_url,
        staff_chat_id=STAFF_CHAT,
        staff_user_ids=frozenset({str(STAFF_USER)}),
        card_interval=0.1,
        poll_timeout=1,
    )
    return TelegramConfig(**{**defaults, **kw})


@pytest.fixture
def fake_api(loop: LoopThread) -> tuple[FakeBotApi, str]:
    fake = FakeBotApi()
    return fake, loop.serve(fake.app())


def start(loop: LoopThread, channel: TelegramChannel, queue: TicketQueue, clock: Clock) -> list[asyncio.Task[Any]]:
    """Run the channel and an outbox pump with its sender in the loop, as `run_bot.py` does."""

    async def go() -> list[asyncio.Task[Any]]:
        started = asyncio.Event()
        pump = OutboxPump(queue, {"telegram": channel.sender}, clock=clock)
        tasks = [asyncio.create_task(channel.run(started)), asyncio.create_task(pump.run(asyncio.Event(), 0.05))]
        await asyncio.wait_for(started.wait(), 20)
        return tasks

    return loop.run(go())


def stop(loop: LoopThread, tasks: list[asyncio.Task[Any]]) -> None:
    async def go() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    loop.run(go())


@pytest.fixture
def bot(
    loop: LoopThread, fake_api: tuple[FakeBotApi, str], assistant: Assistant, store: SqlStore, clock: Clock
) -> Iterator[Bot]:
    fake, url = fake_api
    channel = telegram_channel(config(url), assistant, store)
    tasks = start(loop, channel, TicketQueue(assistant.store), clock)
    yield Bot(fake, loop, channel, Users())
    stop(loop, tasks)


@pytest.fixture
def question(kb: KnowledgeBase) -> str:
    return kb.entries["si.deferral"].question


def ticket_number(calls: list[Call]) -> str:
    text = "\n".join(c.text for c in calls)
    start = text.index("工单号：") + len("工单号：")
    return text[start : start + len("FG20200321-0001")]


# ---- enterprise side --------------------------------------------------------------------------------------


def test_start_registers_the_command_menu_and_greets_with_district_buttons(bot: Bot) -> None:
    commands = bot.fake.wait_for(lambda calls: [c for c in calls if c.method == "setMyCommands"])
    assert {"start", "topics", "district", "status", "help"} <= {c["command"] for c in commands[0].params["commands"]}
    (reply,) = bot.say("/start")
    assert reply.text.startswith("您好！我是复工复产政策咨询助手")
    assert [label for label, _ in reply.buttons] == ["二七区", "上街区", "中牟县", "其他"]
    (picked,) = bot.press(reply, "中牟县")
    assert "已设置为中牟县" in picked.text


def test_a_question_gets_the_answer_with_feedback_buttons(bot: Bot, question: str) -> None:
    (answer,) = bot.say(question)
    assert answer.text.startswith(f"【{question}】")
    labels = [label for label, _ in answer.buttons]
    assert labels[-3:] == ["👍有帮助", "👎没帮助", "转人工"]
    assert all(len(data.encode()) <= 64 for _, data in answer.buttons)
    (thanks,) = bot.press(answer, "👍有帮助")
    assert thanks.text == "感谢您的反馈！"
    assert bot.fake.sent("answerCallbackQuery") and bot.fake.sent("editMessageReplyMarkup", USER)


def test_a_suggestion_is_picked_by_button(bot: Bot) -> None:
    (suggest,) = bot.say("社保")
    assert suggest.text.startswith("没有找到完全对应的答案")
    first_label, _ = suggest.buttons[0]
    (answer,) = bot.press(suggest, first_label)
    assert answer.text.startswith(f"【{first_label}】")


def test_topics_browse_the_faq_by_category(bot: Bot, kb: KnowledgeBase) -> None:
    (topics,) = bot.say("/topics")
    assert [label for label, _ in topics.buttons] == list(kb.categories)
    category = kb.categories[0]
    (listing,) = bot.press(topics, category)
    assert listing.text == f"{category}类常见问题："
    assert [label for label, _ in listing.buttons] == [e.question for e in kb.in_category(category)]


@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{"file_id": "p1", "file_unique_id": "p1", "width": 90, "height": 90}]},
        {"sticker": {"file_id": "s1", "file_unique_id": "s1", "width": 512, "height": 512, "is_animated": False,
                     "is_video": False, "type": "regular"}},
        {"voice": {"file_id": "v1", "file_unique_id": "v1", "duration": 3}},
        {"document": {"file_id": "d1", "file_unique_id": "d1", "file_name": "营业执照.pdf"}},
        {"location": {"latitude": 34.75, "longitude": 113.62}},
    ],
    ids=["photo", "sticker", "voice", "file", "location"],
)  # fmt: skip
def test_non_text_messages_get_a_polite_reply(bot: Bot, content: dict[str, Any]) -> None:
    (reply,) = bot.say(None, **content)  # type: ignore[arg-type]
    assert "只能读懂文字消息" in reply.text
    assert [label for label, _ in reply.buttons] == ["转人工"]


def test_a_long_message_is_handled_and_status_lists_the_tickets(bot: Bot) -> None:
    long_question = "我们公司想了解一下复工以后的各种情况，" * 200  # 4000 characters, Telegram's limit is 4096
    reply = bot.say(long_question[:4000])
    assert len(reply) == 1 and reply[0].text
    (status,) = bot.say("/status")
    assert status.text.startswith(("您的工单", "您目前没有工单"))


def test_a_reply_longer_than_telegrams_limit_is_split_with_buttons_on_the_last_part(loop: LoopThread, bot: Bot) -> None:
    text = "\n".join(f"第{i}行：" + "政策说明" * 40 for i in range(60))
    out = Outgoing(Address("telegram", str(OTHER_USER)), text, (Option("转人工", "human", "human"),))
    loop.run(bot.channel.sender.send(out))
    parts = bot.fake.sent("sendMessage", OTHER_USER)
    assert len(parts) == len(split_text(text)) >= 3
    assert all(len(p.text) <= MAX_TEXT for p in parts)
    assert "\n".join(p.text for p in parts) == text
    assert [p.buttons for p in parts[:-1]] == [[]] * (len(parts) - 1) and parts[-1].buttons == [("转人工", "human")]


def test_one_user_flooding_is_asked_once_to_slow_down(
    loop: LoopThread,
    fake_api: tuple[FakeBotApi, str],
    assistant: Assistant,
    store: SqlStore,
    clock: Clock,
    question: str,
) -> None:
    fake, url = fake_api
    assistant.flood = FloodLimit(assistant.store, 3)  # as build_assistant() sets it from FLOOD_PER_MINUTE
    channel = telegram_channel(config(url), assistant, store)
    tasks = start(loop, channel, TicketQueue(assistant.store), clock)
    try:
        users = Users()
        ids = [fake.push(users.message(USER, question), loop.loop) for _ in range(8)]
        fake.processed(ids[-1])
        fake.processed(fake.push(users.message(OTHER_USER, question), loop.loop))
    finally:
        stop(loop, tasks)
    texts = [c.text for c in fake.sent("sendMessage", USER)]
    assert texts.count(FLOOD_REPLY) == 1
    assert sum(t.startswith(f"【{question}】") for t in texts) == 3
    assert fake.sent("sendMessage", OTHER_USER)[0].text.startswith(f"【{question}】")


# ---- tickets, the staff group and answers -----------------------------------------------------------------


def test_escalation_card_reply_and_satisfaction(bot: Bot, store: SqlStore) -> None:
    """Escalate → card in the staff group → a member replies to it → the user gets the answer and rates it."""
    bot.say("社保费能缓缴吗？最长缓多久")
    (ack,) = bot.press(bot.fake.sent("sendMessage", USER)[-1], "转人工")
    number = ticket_number([ack])
    assert "预计在" in ack.text

    card = bot.card(number)
    assert "问题：社保费能缓缴吗？最长缓多久" in card.text and "办理时限：" in card.text and "区县：未选" in card.text
    assert [label for label, _ in card.buttons] == ["认领", "转办", "办结"]  # no candidates: asked for a person

    before = len(bot.fake.sent("sendMessage", USER))
    staff_before = len(bot.fake.sent("sendMessage", STAFF_CHAT))
    bot.send(bot.users.message(GROUP_MEMBER, "可以缓缴，最长6个月，请向社保经办机构申请。", chat_id=STAFF_CHAT,
                               reply_to=card.result))  # fmt: skip
    confirm = bot.fake.messages_to(STAFF_CHAT, staff_before + 1)  # the confirmation may follow the update's ack
    assert confirm[-1].text == f"已答复工单 {number}，答复已发送给企业。"
    answer = bot.fake.messages_to(USER, before + 1)[-1]
    assert answer.text.startswith(f"您的工单 {number} 已答复：\n可以缓缴，最长6个月")
    delivered(store)
    assert [label for label, _ in answer.buttons] == ["满意", "基本满意", "不满意"]
    edited = bot.fake.wait_for(lambda calls: [c for c in calls if c.method == "editMessageText"])
    assert edited[-1].params["message_id"] == card.result["message_id"] and "已答复" in edited[-1].text

    (thanks,) = bot.press(answer, "满意")
    assert thanks.text == f"感谢您的评价（满意），工单 {number} 已办结。"
    ticket = store.tickets_of("telegram", str(USER))[0]
    assert (ticket.status, ticket.assignee, ticket.satisfaction) == (TicketStatus.CLOSED, f"telegram:{GROUP_MEMBER}",
                                                                     "满意")  # fmt: skip


def test_an_update_delivered_twice_creates_one_ticket(bot: Bot, store: SqlStore, db_url: str) -> None:
    update = bot.users.message(USER, "社保卡丢了去哪里补办")
    bot.send(dict(update))
    bot.send(dict(update))  # the same message again, in a new update (as after a crash before confirming)
    replies = bot.fake.sent("sendMessage", USER)
    assert len(replies) == 2 and ticket_number(replies[:1]) == ticket_number(replies[1:])
    assert table_count(db_url, "tickets") == 1


def test_a_non_staff_user_cannot_answer(bot: Bot, store: SqlStore) -> None:
    number = ticket_number(bot.say("社保卡丢了去哪里补办"))
    (refusal,) = bot.say(f"/answer {number} 随便答一下", user=OTHER_USER)
    assert refusal.text == REFUSAL
    assert store.tickets_of("telegram", str(USER))[0].status is TicketStatus.OPEN
    (refusal,) = bot.say("/queue", user=OTHER_USER)
    assert refusal.text == REFUSAL


def test_ticket_details_show_personal_data_whole_only_to_the_handler_in_private(bot: Bot) -> None:
    """In the staff group everyone reads along: there the handler sees the masked ticket too."""
    calls = bot.say("我叫王五，电话13912345678，锅炉年检证书丢了补办找谁")
    if not any("工单号：" in c.text for c in calls):
        calls = bot.say("转人工")
    number = ticket_number(calls)
    bot.say(f"/claim {number}", user=STAFF_USER)
    in_group = [c.text for c in bot.say(f"/ticket {number}", user=STAFF_USER, chat_id=STAFF_CHAT) if "工单号" in c.text]
    in_private = [c.text for c in bot.say(f"/ticket {number}", user=STAFF_USER) if "工单号" in c.text]
    assert in_group and "13912345678" not in in_group[0] and "139****5678" in in_group[0]
    assert in_private and "13912345678" in in_private[0]


def test_a_configured_staff_user_answers_by_command_in_a_private_chat(bot: Bot, store: SqlStore) -> None:
    number = ticket_number(bot.say("社保卡丢了去哪里补办"))
    (queue,) = bot.say("/queue", user=STAFF_USER)
    assert number in queue.text
    (done,) = bot.say(f"/answer {number} 今天晴，适合复工。", user=STAFF_USER)
    assert done.text == f"已答复工单 {number}，答复已发送给企业。"
    answer = bot.fake.messages_to(USER, 2)[-1]
    assert answer.text.startswith(f"您的工单 {number} 已答复：\n今天晴，适合复工。")
    (detail,) = bot.say(f"/ticket {number}", user=STAFF_USER)
    assert f"工单号：{number}（已答复）" in detail.text
    (closed,) = bot.say(f"/close {number} 已电话确认", user=STAFF_USER)
    assert closed.text == f"工单 {number} 已办结。"
    (reopened,) = bot.say(f"/reopen {number} 企业追问", user=STAFF_USER)
    assert reopened.text == f"工单 {number} 已重新打开。"
    (noted,) = bot.say(f"/note {number} 已联系企业负责人", user=STAFF_USER)
    assert noted.text == f"已为工单 {number} 添加备注。"
    (digest,) = bot.say("/digest", user=STAFF_USER)
    assert digest.text.startswith("工单日报 2020-03-21")
    (bad,) = bot.say("/answer FG20200321-9999 答复", user=STAFF_USER)
    assert bad.text == "没有找到工单 FG20200321-9999"


def test_staff_void_junk_and_duplicates_by_command_and_the_cards_lose_their_buttons(bot: Bot, store: SqlStore) -> None:
    kept = ticket_number(bot.say("社保卡丢了去哪里补办"))
    dup = ticket_number(bot.say("社保卡丢了怎么补办", user=OTHER_USER))
    bot.card(dup)  # posted before it is voided, so the card shows the change
    (refused,) = bot.say(f"/close {dup} 不用了", user=STAFF_USER)
    assert "尚未答复，不能办结" in refused.text and "重复 保留的工单号" in refused.text
    (done,) = bot.say(f"/close {dup} 重复 {kept}", user=STAFF_USER)
    assert done.text == f"工单 {dup} 已作废（不计入答复和办结）。"
    (detail,) = bot.say(f"/ticket {dup}", user=STAFF_USER)
    assert f"工单号：{dup}（已作废）" in detail.text and f"作废｜重复，并入 {kept}" in detail.text
    (detail,) = bot.say(f"/ticket {kept}", user=STAFF_USER)
    assert f"合并｜重复工单 {dup} 已并入本工单" in detail.text
    edited = bot.fake.wait_for(lambda calls: [c for c in calls if c.method == "editMessageText" and dup in c.text])
    assert "已作废" in edited[-1].text and not edited[-1].buttons
    (done,) = bot.say(f"/close {kept} 无效：测试消息", user=STAFF_USER)
    assert done.text == f"工单 {kept} 已作废（不计入答复和办结）。"
    assert store.tickets_of("telegram", str(USER))[0].status is TicketStatus.DISMISSED


def test_card_buttons_claim_and_close(bot: Bot, store: SqlStore) -> None:
    number = ticket_number(bot.say("社保卡丢了去哪里补办"))
    card = bot.card(number)
    bot.press(card, "办结", user=GROUP_MEMBER)
    alert = bot.fake.sent("answerCallbackQuery")[-1]
    assert alert.params.get("show_alert") is True and "不能办结" in alert.params["text"]
    bot.press(card, "认领", user=GROUP_MEMBER)
    assert store.tickets_of("telegram", str(USER))[0].status is TicketStatus.IN_PROGRESS
    edited = bot.fake.wait_for(lambda calls: [c for c in calls if c.method == "editMessageText"])
    assert "处理中" in edited[-1].text and f"telegram:{GROUP_MEMBER}" in edited[-1].text
    bot.press(card, "认领", user=STAFF_USER)  # a second member of the staff group is too late
    assert (
        bot.fake.sent("answerCallbackQuery")[-1].params["text"] == f"工单 {number} 已由telegram:{GROUP_MEMBER}认领处理"
    )


def test_a_candidate_answer_is_sent_with_one_button(bot: Bot, store: SqlStore, kb: KnowledgeBase) -> None:
    bot.say("社保")
    (ack,) = bot.say("社保")  # the second miss in a row opens a ticket with the candidates
    number = ticket_number([ack])
    card = bot.card(number)
    assert "候选答案：" in card.text
    bot.press(card, "用候选答案回复", user=GROUP_MEMBER)
    answer = bot.fake.wait_for(
        lambda calls: [c for c in calls if c.method == "sendMessage" and c.chat_id == USER and "已答复：" in c.text]
    )[-1]
    ticket = store.tickets_of("telegram", str(USER))[0]
    top = kb.entries[ticket.candidates[0].id]
    assert f"【{top.question}】" in answer.text and ticket.status is TicketStatus.ANSWERED


def test_tickets_from_other_channels_get_cards_once(bot: Bot, assistant: Assistant) -> None:
    svc = StaffService(TicketQueue(assistant.store), directory=StaffDirectory(frozenset({"desk"})),
                       clock=assistant.clock)  # fmt: skip
    ticket = svc.hotline(Staff("cli", "desk"), "来电咨询：外地员工返郑要隔离吗", caller="王先生")
    bot.card(ticket.number)
    bot.loop.run(bot.channel.group.post_cards())
    cards = [c for c in bot.fake.sent("sendMessage", STAFF_CHAT) if f"工单 {ticket.number}" in c.text]
    assert len(cards) == 1 and "渠道：hotline" in cards[0].text


def test_overdue_tickets_are_announced_once(bot: Bot, clock: Clock) -> None:
    number = ticket_number(bot.say("社保卡丢了去哪里补办"))
    bot.card(number)
    assert bot.loop.run(bot.channel.group.announce_overdue()) == 0
    clock.advance(days=10)
    assert bot.loop.run(bot.channel.group.announce_overdue()) == 1
    assert bot.loop.run(bot.channel.group.announce_overdue()) == 0
    (notice,) = [c for c in bot.fake.sent("sendMessage", STAFF_CHAT) if c.text.startswith("⚠️ 督办")]
    assert number in notice.text and "超期" in notice.text


def test_the_monday_report_goes_to_the_staff_group_as_a_document(bot: Bot, clock: Clock) -> None:
    bot.say("社保卡丢了去哪里补办")
    clock.now = dt.datetime(2020, 3, 23, 9, 0, tzinfo=TZ)  # the Monday after: the report covers 2020-W12
    bot.loop.run(bot.channel.group.weekly_report())
    (doc,) = bot.fake.sent("sendDocument", STAFF_CHAT)
    ((name, data),) = doc.files.items()
    assert name == "faq-report-2020-W12.html" and b"<html" in data[:1000].lower()
    assert doc.params["caption"] == "咨询周报 2020-W12"
    summary = [c for c in bot.fake.sent("sendMessage", STAFF_CHAT) if c.text.startswith("【咨询周报 2020-W12】")]
    assert summary and "转人工" in summary[0].text


# ---- delivery, callback data, polling and webhook ---------------------------------------------------------


def test_a_failed_send_leaves_the_update_unconfirmed_and_it_is_processed_again(bot: Bot, question: str) -> None:
    bot.fake.fail["sendMessage"] = 1
    update_id = bot.send(bot.users.message(USER, question))
    answers = [c for c in bot.fake.sent("sendMessage", USER) if c.text.startswith(f"【{question}】")]
    assert len(answers) == 2  # the first attempt answered 502; the re-processed update got through
    assert bot.fake.confirmed >= update_id


def test_one_chats_updates_run_in_order_and_other_chats_alongside() -> None:
    """The application's update processor (webhook calls arrive concurrently): a chat's lock, then none left."""
    from telegram import Update

    order = ChatOrder()
    log: list[str] = []

    async def handle(name: str, gate: asyncio.Event) -> None:
        log.append(f"{name} start")
        await gate.wait()
        log.append(f"{name} end")

    async def main() -> list[str]:
        users, gate = Users(), asyncio.Event()
        named = [("a1", 1, USER), ("a2", 2, USER), ("b1", 3, OTHER_USER)]
        updates = [(name, Update.de_json({"update_id": i, **users.message(uid, "x")}, None)) for name, i, uid in named]
        tasks = [asyncio.ensure_future(order.process_update(u, handle(name, gate))) for name, u in updates]
        await asyncio.sleep(0.01)
        started = list(log)
        gate.set()
        await asyncio.gather(*tasks)
        return started

    assert asyncio.run(main()) == ["a1 start", "b1 start"]
    assert log.index("a1 end") < log.index("a2 start")
    assert order.locks == {}


def test_long_callback_data_is_mapped_within_64_bytes() -> None:
    long_action = "pick:" + "很长的条目编号" * 5
    codec = CallbackCodec([long_action])
    data = codec.encode(long_action)
    assert len(data.encode()) <= 64 and codec.decode(data) == long_action
    assert codec.decode("#unknown") is None and codec.decode("human") == "human"
    markup = keyboard((Option("很长的问题", long_action),), codec)
    assert markup is not None and markup.inline_keyboard[0][0].callback_data == data


def test_every_faq_action_fits_or_is_mapped(kb: KnowledgeBase) -> None:
    codec = CallbackCodec.for_kb(kb)
    for faq_id in kb.entries:
        for action in (f"pick:{faq_id}", f"feedback:down:{faq_id}"):
            assert codec.decode(codec.encode(action)) == action


def test_stopping_finishes_the_update_in_hand_and_confirms_it(
    loop: LoopThread,
    fake_api: tuple[FakeBotApi, str],
    assistant: Assistant,
    store: SqlStore,
    clock: Clock,
    question: str,
) -> None:
    fake, url = fake_api
    tasks = start(loop, telegram_channel(config(url), assistant, store), TicketQueue(assistant.store), clock)
    fake.delay["sendMessage"] = 0.5
    update_id = fake.push(Users().message(USER, question), loop.loop)
    fake.wait_for(lambda calls: [c for c in calls if c.method == "sendMessage" and c.chat_id == USER])
    stop(loop, tasks)  # as on SIGTERM: while the reply is still on its way
    assert fake.confirmed >= update_id
    assert fake.sent("getUpdates")[-1].params["offset"] == update_id + 1


def test_webhook_mode_answers_after_processing(
    loop: LoopThread,
    fake_api: tuple[FakeBotApi, str],
    assistant: Assistant,
    store: SqlStore,
    clock: Clock,
    question: str,
) -> None:
    import socket

    import httpx

    fake, url = fake_api
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = config(url, webhook_url="https://bot.example.cn/tg/hook", webhook_port=port, webhook_secret="s3cret")
    channel = telegram_channel(cfg, assistant, store)
    tasks = start(loop, channel, TicketQueue(assistant.store), clock)
    try:
        (hook,) = fake.sent("setWebhook")
        assert hook.params["url"] == "https://bot.example.cn/tg/hook" and hook.params["secret_token"] == "s3cret"
        update = {"update_id": 1, **Users().message(USER, question)}
        endpoint = f"http://127.0.0.1:{port}/tg/hook"
        assert (
            httpx.post(endpoint, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403
        )
        response = httpx.post(endpoint, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}, timeout=20)
        assert response.status_code == 200
        (answer,) = fake.sent("sendMessage", USER)  # already sent when the webhook call returned
        assert answer.text.startswith(f"【{question}】")
    finally:
        stop(loop, tasks)


@pytest.mark.slow
def test_run_bot_serves_telegram_and_stops_cleanly_on_sigterm(
    loop: LoopThread, fake_api: tuple[FakeBotApi, str], tmp_path: Path, question: str
) -> None:
    """`python run_bot.py` with TELEGRAM_BOT_TOKEN polls the configured Bot API server and answers."""
    fake, url = fake_api
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": url,
        "TELEGRAM_STAFF_CHAT_ID": str(STAFF_CHAT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "BOT_TODAY": "2020-03-21",
    }
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        update_id = fake.push(Users().message(USER, question), loop.loop)
        (answer,) = fake.messages_to(USER, 1, timeout=60)
        assert answer.text.startswith(f"【{question}】")
        fake.processed(update_id)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


# ---- staff answers that a push did not bring (issue 13) ----------------------------------------------------


def delivered(store: SqlStore, timeout: float = 20.0) -> None:
    """Wait until the pump has recorded every push it made (a rating is accepted for a delivered answer only)."""
    queue, end = TicketQueue(store), time.monotonic() + timeout
    while queue.pending_count("telegram") and time.monotonic() < end:
        time.sleep(0.02)
    assert queue.pending_count("telegram") == 0


def push_failed(store: SqlStore, timeout: float = 20.0) -> None:
    """Wait until the pump has recorded a failed push (it retries after a backoff the test clock never reaches)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with store.engine.connect() as conn:
            if conn.execute(sa.select(outbox.c.id).where(outbox.c.last_error.is_not(None))).first():
                return
        time.sleep(0.02)
    raise AssertionError("the push never failed")


def test_an_answer_whose_push_failed_comes_with_the_next_reply_and_is_rated_then(
    bot: Bot, store: SqlStore, clock: Clock
) -> None:
    calls = bot.say("锅炉年检证书丢了补办找谁")
    if not any("工单号：" in c.text for c in calls):
        calls = bot.say("转人工")
    number = ticket_number(calls)
    assert "答复将直接发送到本对话" in "\n".join(c.text for c in calls), "Telegram pushes"
    desk = StaffService(TicketQueue(store), directory=StaffDirectory(frozenset({"张三"})), clock=clock)
    bot.card(number)  # the staff group's card is out, so the one failing call below is the push
    bot.fake.fail["sendMessage"] = 1  # the push meets a Bot API outage
    desk.claim(Staff("cli", "张三"), number)
    desk.answer(Staff("cli", "张三"), number, "请到区市场监管局特种设备窗口补办。")
    push_failed(store)
    replies = bot.say("你好")
    assert replies[0].text.startswith(f"您的工单 {number} 已答复：\n请到区市场监管局特种设备窗口补办。")
    assert [label for label, _ in replies[0].buttons] == ["满意", "基本满意", "不满意"]
    (thanks,) = bot.press(replies[0], "满意")
    assert thanks.text == f"感谢您的评价（满意），工单 {number} 已办结。"
    assert "特种设备窗口" not in "\n".join(c.text for c in bot.say("你好")), "shown once"
