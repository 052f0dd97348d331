"""What a message holds: junk gets a friendly word and no ticket; several questions get an answer each.

Conversations through the dialog core on the real FAQ (both backends), the weekly report read back from the
same database, and the `ask` / `match` commands as a user runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answering.intake import is_junk, join_questions, split_questions
from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.config import ROOT
from bot.models import Outcome
from bot.reports.gaps import gap_items
from bot.reports.volume import volume
from bot.reports.week import IsoWeek
from bot.store import SqlStore
from bot.store.queue import TicketQueue
from bot.store.reports import ReportStore
from tests.conftest import Chat

JUNK = [
    "😂",
    "👍👍",
    "好的👌",
    "谢谢🙏",
    "1",
    "asdfgh",
    "jjjjjj",
    "。。。",
    "？？？",
    "今天天气怎么样",
    "你吃饭了吗",
    "哈哈哈",
]
SHORT_QUESTIONS = ["社保缓缴？", "稳岗返还", "电费"]
OUT_OF_SCOPE = "社保卡丢了去哪里补办？"  # listed in faq/out-of-scope.yaml: always handed to a person
ONE_QUESTION = ["我们是小微企业，社保能缓缴吗", "我们是小微企业。社保能缓缴吗？", "社保费能缓缴吗？最长缓多久"]
THREE = "员工工资怎么发，另外社保能不能缓交，还有房租能不能减免？"


def questions_in_tickets(store: SqlStore) -> list[str]:
    return [t.question for t in store.tickets_of("console", "u1")]


# ---- junk ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", JUNK)
def test_junk_gets_a_short_friendly_reply_and_no_ticket(chat: Chat, store: SqlStore, text: str) -> None:
    reply = chat.say(text)
    assert reply and len(reply) < 120
    assert "工单号" not in reply and "您想问的是" not in reply
    assert chat.last[0].options == ()
    assert questions_in_tickets(store) == []


@pytest.mark.parametrize("text", SHORT_QUESTIONS)
def test_real_short_questions_still_reach_the_matcher(chat: Chat, text: str) -> None:
    assert not is_junk(text)
    reply = chat.say(text)
    assert reply.startswith("【") or "您想问的是" in reply or "工单号" in reply


def test_a_number_picks_from_an_open_menu_and_is_waved_off_without_one(chat: Chat, store: SqlStore) -> None:
    assert "没有可选的编号" in chat.say("1")
    chat.say("政策目录")
    categories = len(chat.last[0].options)
    chat.say("👌")  # junk between the menu and the pick leaves the menu open
    assert f"（1–{categories}）" in chat.say(str(categories + 1))
    assert "类常见问题" in chat.say("1")
    assert chat.say("1").startswith("【")  # the first entry of that category
    assert questions_in_tickets(store) == []


def test_junk_is_recorded_as_junk_and_is_no_gap_in_the_report(chat: Chat, store: SqlStore) -> None:
    for text in JUNK:
        chat.say(text)
    chat.say("社保费能缓缴吗？另外" + OUT_OF_SCOPE)
    data = ReportStore(store.engine).read_week(IsoWeek.parse("2020-W12"))  # the week of the test clock, 2020-03-21
    outcomes = [t.outcome for t in data.turns]
    assert outcomes.count("junk") == len(JUNK) - 3  # 好的👌, 谢谢🙏 and 哈哈哈 get the existing thanks reply
    assert volume(data).questions == 1
    assert [g.text for g in gap_items(data)] == [OUT_OF_SCOPE]  # only the part nobody could answer


# ---- several questions in one message --------------------------------------------------------------------------


def test_each_question_is_answered_and_the_unanswered_one_becomes_the_ticket(chat: Chat, store: SqlStore) -> None:
    message = "社保费能缓缴吗？另外" + OUT_OF_SCOPE
    answer, handover = chat.send(message)
    assert answer.text.startswith("您一共问了2个问题") and "问题1：社保费能缓缴吗？\n【受疫情影响" in answer.text
    assert f"问题2「{OUT_OF_SCOPE}」需要工作人员答复" in handover.text and "工单号：FG20200321-0001" in handover.text
    (ticket,) = store.tickets_of("console", "u1")
    assert ticket.question == OUT_OF_SCOPE and handover.ticket_number == ticket.number
    assert TicketQueue(store).context(ticket.id)[-1] == {"direction": "in", "text": message}  # staff see it all


def test_every_part_is_answered_or_clearly_handed_over(chat: Chat, store: SqlStore) -> None:
    parts = split_questions(THREE)
    assert parts == ["员工工资怎么发", "社保能不能缓交", "房租能不能减免？"]
    reply = chat.say(THREE)
    for n, part in enumerate(parts, 1):
        assert f"问题{n}：{part}\n【" in reply or f"问题{n}「{part}」" in reply
    handover = next((line for line in reply.splitlines() if "需要工作人员答复" in line), "")
    handed = [p for n, p in enumerate(parts, 1) if f"问题{n}「{p}」" in handover]
    assert questions_in_tickets(store) == ([join_questions(handed)] if handed else [])


def test_a_suggestion_for_one_part_is_picked_by_number(chat: Chat) -> None:
    reply = chat.say("稳岗返还怎么申请？社保呢？")
    assert "问题1" in reply and "问题2" in reply
    if "（回复数字查看）" in reply:  # a part was only suggested for: its list is the one numbered list
        assert chat.say("1").startswith("【")


def test_more_than_three_questions_hand_the_rest_to_a_person(chat: Chat, store: SqlStore) -> None:
    reply = chat.say("1、社保费能缓缴吗 2、企业水价降了多少 3、房租能减免吗 4、" + OUT_OF_SCOPE)
    assert "您一共问了4个问题" in reply and "一次最多逐一答复3个问题" in reply
    (question,) = questions_in_tickets(store)
    assert question.endswith(OUT_OF_SCOPE) and "水价" not in question


@pytest.mark.parametrize("text", ONE_QUESTION)
def test_one_question_with_context_or_a_follow_up_is_not_split(
    chat: Chat, kb: KnowledgeBase, matcher: Matcher, text: str
) -> None:
    assert split_questions(text) == [text]
    reply = chat.say(text)
    match = matcher.match(text)
    assert "问题1" not in reply
    if match.outcome is Outcome.ANSWER and match.id:
        assert reply.startswith(f"【{kb.entries[match.id].question}】")


def test_parts_answered_by_one_entry_are_one_question(chat: Chat) -> None:
    reply = chat.say("社保费能缓缴吗？社宝能缓交吗？")  # asked twice, the second time with a typo
    assert reply.startswith("【受疫情影响") and "问题1" not in reply


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("员工工资怎么发另外社保能不能缓交还有房租能不能减免", ["员工工资怎么发", "社保能不能缓交", "房租能不能减免"]),
        ("社保能缓缴吗？还有房租", ["社保能缓缴吗？", "房租"]),
        ("工资怎么发；社保能缓缴吗", ["工资怎么发", "社保能缓缴吗"]),
        ("社保能缓缴吗？另外我们是小微企业", ["社保能缓缴吗？另外我们是小微企业"]),
        ("公司能同时享受社保减免和稳岗返还吗", ["公司能同时享受社保减免和稳岗返还吗"]),
        ("这个政策现在还有效吗", ["这个政策现在还有效吗"]),
        ("你好。社保能缓缴吗？哈哈", ["你好。社保能缓缴吗？哈哈"]),
    ],
)
def test_where_a_message_splits(text: str, parts: list[str]) -> None:
    assert split_questions(text) == parts


# ---- the command line ------------------------------------------------------------------------------------------


def run(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "BOT_TODAY": "2020-03-21"}
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), *args],
        input=stdin, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.slow
def test_ask_answers_several_questions_and_waves_off_junk(tmp_path: Path) -> None:
    several = run(["ask", "社保费能缓缴吗？另外" + OUT_OF_SCOPE], tmp_path)
    assert several.returncode == 0, several.stderr
    assert "问题1：社保费能缓缴吗？" in several.stdout and f"问题2「{OUT_OF_SCOPE}」" in several.stdout
    assert several.stdout.count("工单号：FG") == 1
    junk = run(["ask", "好的👌"], tmp_path)
    assert junk.returncode == 0 and "工单号" not in junk.stdout
    weather = run(["ask", "今天天气怎么样"], tmp_path)
    assert "政策咨询助手" in weather.stdout and "工单号" not in weather.stdout
    assert run(["ask", "查询工单"], tmp_path).stdout.count("｜待认领｜") == 1  # one ticket in all


@pytest.mark.slow
def test_match_still_gives_one_line_per_message(tmp_path: Path) -> None:
    stdin = "".join(json.dumps({"q": q}, ensure_ascii=False) + "\n" for q in [THREE, "😂", "社保能缓缴吗"])
    out = run(["match"], tmp_path, stdin=stdin)
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["q"] for line in out.stdout.splitlines()] == [THREE, "😂", "社保能缓缴吗"]
