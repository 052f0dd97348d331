"""The dialog core, as conversations: what a user types and what they read back."""

from __future__ import annotations

from bot.models import Incoming
from tests.conftest import Chat


def test_start_greets_and_offers_districts(chat: Chat) -> None:
    reply = chat.say("/start")
    assert "复工复产政策咨询助手" in reply
    assert [o.label for o in chat.last[0].options] == ["二七区", "上街区", "中牟县", "其他"]


def test_answer_names_source_validity_and_department(chat: Chat) -> None:
    reply = chat.say("社保费能缓缴吗？最长缓多久")
    assert "【" in reply and "依据：《" in reply and "负责部门：" in reply
    assert chat.last[0].options, "an answer offers follow-ups and feedback"


def test_ticket_question_escalates_with_number(chat: Chat) -> None:
    reply = chat.say("我们厂的锅炉年检证书丢了，补办要找哪个窗口")
    assert "FG20200321-0001" in reply
    assert chat.last[0].ticket_number == "FG20200321-0001"
