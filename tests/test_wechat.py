"""The WeChat Official Account channel, driven over real HTTP the way WeChat's servers drive it."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from wechatpy.crypto import WeChatCrypto

from bot.answering.kb import KnowledgeBase
from bot.app import App
from bot.channels.wechat import WAIT_IN_PLACE, WeChatEndpoint
from bot.channels.wechat_api import WeChatApi
from bot.channels.wechat_config import WeChatConfig
from bot.channels.wechat_sender import WeChatSender, split_text
from bot.channels.wechat_translate import render
from bot.channels.wechat_xml import text_reply
from bot.config import ROOT, ConfigError, Settings
from bot.desk.delivery import DeliveryError
from bot.desk.outbox import OutboxPump
from bot.desk.staff import Staff, StaffDirectory, StaffService
from bot.dialog.core import Assistant
from bot.models import Address, Incoming, Outgoing
from bot.store import SqlStore
from bot.store.queue import TicketQueue
from bot.store.windows import WindowStore
from tests.conftest import Chat, Clock
from tests.wechat_harness import AES_KEY, APP_ID, TOKEN, FakeApi, FakeWeChat, LoopThread, endpoint_url, read_xml

TICKET_RE = re.compile(r"FG\d{8}-\d{4}")
ESCALATING = "我们厂的锅炉年检证书到期了，要找哪个窗口"


@pytest.fixture
def api(loop: LoopThread) -> tuple[FakeApi, str]:
    fake = FakeApi()
    return fake, loop.serve(fake.app())


@pytest.fixture
def sender(loop: LoopThread, api: tuple[FakeApi, str], store: SqlStore, clock: Clock) -> Iterator[WeChatSender]:
    """Judges the customer-service window by the clock the dialog core records messages with."""
    _, base_url = api
    wechat_api = WeChatApi(APP_ID, "s3cret", base_url)
    yield WeChatSender(wechat_api, WindowStore(store.engine), linger=0.05, clock=clock)
    loop.run(wechat_api.close())


def make_endpoint(
    assistant: Assistant,
    store: SqlStore,
    sender: WeChatSender | None = None,
    handle: Callable[[Incoming], list[Outgoing]] | None = None,
    deadline: float = 4.5,
    safe: bool = False,
) -> WeChatEndpoint:
    """The endpoint; in safe mode (EncodingAESKey set) it takes encrypted pushes only."""
    aes_key = AES_KEY if safe else None
    config = WeChatConfig(token=TOKEN, aes_key=aes_key, app_id=APP_ID, reply_deadline=deadline)
    return WeChatEndpoint(config, handle or assistant.handle, store, sender)


@pytest.fixture
def endpoint(assistant: Assistant, store: SqlStore, sender: WeChatSender) -> WeChatEndpoint:
    return make_endpoint(assistant, store, sender)


@pytest.fixture
def safe_endpoint(assistant: Assistant, store: SqlStore, sender: WeChatSender) -> WeChatEndpoint:
    return make_endpoint(assistant, store, sender, safe=True)


@pytest.fixture(params=["plain", "safe"])
def wechat(
    request: pytest.FixtureRequest, loop: LoopThread, assistant: Assistant, store: SqlStore, sender: WeChatSender
) -> Iterator[FakeWeChat]:
    """WeChat pushing to our endpoint, in plain mode and in safe (AES) mode."""
    safe = request.param == "safe"
    endpoint = make_endpoint(assistant, store, sender, safe=safe)
    fake = FakeWeChat(endpoint_url(loop, endpoint), safe=safe)
    yield fake
    fake.close()


@pytest.fixture
def question(kb: KnowledgeBase) -> str:
    """A question the FAQ answers directly: an entry's own wording."""
    return kb.entries["si.deferral"].question


@pytest.fixture
def follower(loop: LoopThread, endpoint: WeChatEndpoint) -> Iterator[FakeWeChat]:
    """WeChat pushing in plain mode (for tests about what happens after the push)."""
    fake = FakeWeChat(endpoint_url(loop, endpoint))
    yield fake
    fake.close()


def count(store: SqlStore, table: str) -> int:
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


# ---- the message push ---------------------------------------------------------------------------------


def test_url_verification_echoes_echostr(wechat: FakeWeChat) -> None:
    resp = wechat.verify("1234567890")
    assert resp.status_code == 200 and resp.text == "1234567890"


def test_url_verification_with_a_bad_signature_is_forbidden(wechat: FakeWeChat) -> None:
    assert wechat.verify(signature="0" * 40).status_code == 403


def test_question_gets_a_passive_answer(wechat: FakeWeChat, question: str) -> None:
    reply = wechat.say(question)
    assert reply.status == 200
    assert reply.fields["MsgType"] == "text"
    assert reply.fields["ToUserName"] == wechat.openid and reply.fields["FromUserName"] == "gh_fugong"
    assert f"【{question}】" in reply.text
    assert "依据：《" in reply.text and "负责部门：" in reply.text


def test_subscribe_is_welcomed_with_the_district_prompt(wechat: FakeWeChat) -> None:
    reply = wechat.post(wechat.xml("event", Event="subscribe", EventKey=""))
    assert "复工复产政策咨询助手" in reply.text
    assert "1. 二七区" in reply.text and "4. 其他" in reply.text


def test_district_picked_by_number_after_subscribing(wechat: FakeWeChat) -> None:
    wechat.post(wechat.xml("event", Event="subscribe"))
    assert "二七区" in wechat.say("1").text


def test_suggestion_is_picked_by_replying_with_its_number(wechat: FakeWeChat) -> None:
    suggestions = wechat.say("社保").text
    first = re.search(r"^1\. (.+)$", suggestions, re.M)
    assert first, suggestions
    assert "回复数字" in suggestions
    answer = wechat.say("1").text
    assert f"【{first.group(1)}】" in answer


def test_asking_for_a_person_opens_a_ticket(wechat: FakeWeChat, store: SqlStore) -> None:
    wechat.say(ESCALATING)
    reply = wechat.say("转人工")
    number = TICKET_RE.search(reply.text)
    assert number, reply.text
    (ticket,) = store.tickets_of("wechat", wechat.openid)
    assert ticket.number == number.group(0) and ticket.chat_id == wechat.openid


@pytest.mark.parametrize("kind", ["image", "voice", "video", "shortvideo", "location", "link", "file"])
def test_non_text_messages_are_answered_politely(loop: LoopThread, endpoint: WeChatEndpoint, kind: str) -> None:
    fake = FakeWeChat(endpoint_url(loop, endpoint))
    reply = fake.post(fake.xml(kind, MediaId="m1", PicUrl="http://x/y.jpg"))
    fake.close()
    assert reply.status == 200 and "只能读懂文字消息" in reply.text


def test_voice_with_speech_recognition_is_read_as_text(wechat: FakeWeChat, question: str) -> None:
    reply = wechat.post(wechat.xml("voice", MediaId="m1", Format="amr", Recognition=question))
    assert f"【{question}】" in reply.text


def test_unsubscribe_is_acknowledged_without_reply(wechat: FakeWeChat) -> None:
    reply = wechat.post(wechat.xml("event", Event="unsubscribe"))
    assert (reply.status, reply.body) == (200, "success")


def test_a_retried_message_gets_one_ticket_and_the_same_answer(wechat: FakeWeChat, store: SqlStore) -> None:
    wechat.say(ESCALATING)
    first = wechat.say("转人工", msg_id=42)
    again = [wechat.say("转人工", msg_id=42) for _ in range(3)]
    assert all(r.text == first.text for r in again)
    assert len(store.tickets_of("wechat", wechat.openid)) == 1
    assert TICKET_RE.search(first.text)
    assert count(store, "messages") == 4  # two messages, two answers


def test_concurrent_retries_wait_for_the_first_answer(
    loop: LoopThread, assistant: Assistant, store: SqlStore, sender: WeChatSender
) -> None:
    calls: list[Incoming] = []
    gate = threading.Event()

    def slow_handle(inc: Incoming) -> list[Outgoing]:
        calls.append(inc)
        gate.wait(5)
        return assistant.handle(inc)

    fake = FakeWeChat(endpoint_url(loop, make_endpoint(assistant, store, sender, handle=slow_handle)))
    gate.set()
    fake.say(ESCALATING)
    gate.clear()
    calls.clear()
    with ThreadPoolExecutor(3) as pool:
        replies = [pool.submit(fake.say, "转人工", 77) for _ in range(3)]
        time.sleep(0.5)  # all three re-sends are now waiting at the endpoint
        gate.set()
        texts = {r.result().text for r in replies}
    fake.close()
    assert len(calls) == 1
    assert len(texts) == 1 and TICKET_RE.search(texts.pop() or "")
    assert len(store.tickets_of("wechat", fake.openid)) == 1


# ---- bad input ----------------------------------------------------------------------------------------


def test_a_bad_signature_is_forbidden(wechat: FakeWeChat, store: SqlStore) -> None:
    reply = wechat.post(wechat.xml("text", Content="社保"), signature="f" * 40)
    assert reply.status == 403
    assert count(store, "messages") == 0


def test_a_bad_message_signature_in_safe_mode_is_forbidden(loop: LoopThread, safe_endpoint: WeChatEndpoint) -> None:
    fake = FakeWeChat(endpoint_url(loop, safe_endpoint), safe=True)
    reply = fake.post(fake.xml("text", Content="社保"), msg_signature="a" * 40)
    fake.close()
    assert reply.status == 403


def test_a_message_encrypted_for_another_app_is_forbidden(loop: LoopThread, safe_endpoint: WeChatEndpoint) -> None:
    fake = FakeWeChat(endpoint_url(loop, safe_endpoint), safe=True)
    fake.crypto = WeChatCrypto(TOKEN, AES_KEY, "wx00000000other00")
    assert fake.say("社保").status == 403
    fake.close()


@pytest.mark.parametrize("encrypt", ["not base64!", base64.b64encode(b"x" * 31).decode()], ids=["base64", "length"])
def test_an_undecryptable_payload_is_a_bad_request(
    loop: LoopThread, safe_endpoint: WeChatEndpoint, encrypt: str
) -> None:
    """Signed correctly in safe mode, but the ciphertext cannot be an AES message."""
    fake = FakeWeChat(endpoint_url(loop, safe_endpoint), safe=True)
    timestamp, nonce = str(int(time.time())), "n-undecryptable"
    params = {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": fake.signature(TOKEN, timestamp, nonce),
        "encrypt_type": "aes",
        "msg_signature": fake.signature(TOKEN, timestamp, nonce, encrypt),
    }
    body = f"<xml><ToUserName><![CDATA[gh_fugong]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    assert fake.http.post(fake.url, params=params, content=body.encode()).status_code == 400
    fake.close()


def test_a_message_signed_with_another_token_is_forbidden(loop: LoopThread, endpoint: WeChatEndpoint) -> None:
    fake = FakeWeChat(endpoint_url(loop, endpoint), token="someone-else")
    assert fake.say("社保").status == 403
    fake.close()


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>gh",
        b"not xml at all",
        b"",
        b"<html><body>hi</body></html>",
        b"<xml><MsgType>text</MsgType></xml>",
    ],
    ids=["truncated", "garbage", "empty", "wrong-root", "no-sender"],
)
def test_broken_xml_is_a_bad_request(wechat: FakeWeChat, body: bytes) -> None:
    assert wechat.post(body).status == 400


def test_oversized_xml_is_a_bad_request(wechat: FakeWeChat) -> None:
    reply = wechat.post(wechat.xml("text", Content="社" * 40_000))
    assert reply.status == 400


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>gh_fugong</ToUserName><FromUserName>oAttacker</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_fugong</ToUserName><FromUserName>oAttacker</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&secret;</Content><MsgId>2</MsgId></xml>"""


@pytest.mark.parametrize("attack", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_xml_entity_attacks_are_rejected(wechat: FakeWeChat, store: SqlStore, attack: str) -> None:
    """Signed correctly (in safe mode encrypted too), yet refused before anything reads the entities."""
    reply = wechat.post(attack)
    assert reply.status == 400
    assert count(store, "messages") == 0
    assert wechat.say("你好").status == 200, "the endpoint keeps serving"


# ---- answers that come later: customer-service messages -----------------------------------------------


def test_a_staff_answer_is_delivered_through_the_customer_service_api(
    loop: LoopThread, follower: FakeWeChat, sender: WeChatSender, api: tuple[FakeApi, str]
) -> None:
    fake_api, _ = api
    follower.say(ESCALATING)
    ticket = TICKET_RE.search(follower.say("转人工").text)
    assert ticket
    answer = Outgoing(Address("wechat", follower.openid), f"关于工单{ticket.group(0)}：请到区市场监管局窗口补办。")
    loop.run(sender.send(answer))
    loop.run(sender.send(Outgoing(answer.address, "补充：需带营业执照原件。")))
    assert fake_api.texts_to(follower.openid) == [answer.text, "补充：需带营业执照原件。"]
    assert fake_api.tokens_issued == 1, "the access token is cached"


def test_an_expired_access_token_is_renewed_and_the_message_sent(
    loop: LoopThread, follower: FakeWeChat, sender: WeChatSender, api: tuple[FakeApi, str]
) -> None:
    fake_api, _ = api
    follower.say("你好")
    loop.run(sender.send(Outgoing(Address("wechat", follower.openid), "第一条")))
    fake_api.token = "TOKEN-revoked"  # WeChat expired it early: the next send gets errcode 40001
    loop.run(sender.send(Outgoing(Address("wechat", follower.openid), "第二条")))
    assert fake_api.texts_to(follower.openid) == ["第一条", "第二条"]
    assert fake_api.tokens_issued == 2


def test_pending_replies_to_one_user_are_merged_into_one_message(
    loop: LoopThread, follower: FakeWeChat, sender: WeChatSender, api: tuple[FakeApi, str]
) -> None:
    fake_api, _ = api
    follower.say("你好")
    to = Address("wechat", follower.openid)

    async def three_at_once() -> None:
        await asyncio.gather(*(sender.send(Outgoing(to, f"答复{i}")) for i in (1, 2, 3)))

    loop.run(three_at_once())
    (merged,) = fake_api.texts_to(follower.openid)
    assert [line for line in merged.splitlines() if line.startswith("答复")] == ["答复1", "答复2", "答复3"]


def test_the_sixth_message_in_a_window_is_refused_for_a_call_back(
    loop: LoopThread, follower: FakeWeChat, sender: WeChatSender, clock: Clock, api: tuple[FakeApi, str]
) -> None:
    fake_api, _ = api
    follower.say("你好")
    to = Address("wechat", follower.openid)
    for i in range(5):
        loop.run(sender.send(Outgoing(to, f"第{i + 1}条")))
    with pytest.raises(DeliveryError, match="电话回访") as refused:
        loop.run(sender.send(Outgoing(to, "第6条")))
    assert refused.value.permanent
    assert len(fake_api.texts_to(follower.openid)) == 5
    clock.advance(minutes=1)
    follower.say("谢谢")  # the user writes again: a fresh window
    loop.run(sender.send(Outgoing(to, "第6条")))
    assert fake_api.texts_to(follower.openid)[-1] == "第6条"


def test_a_reply_after_48_hours_is_refused_for_a_call_back(
    loop: LoopThread, follower: FakeWeChat, sender: WeChatSender, clock: Clock, api: tuple[FakeApi, str]
) -> None:
    follower.say(ESCALATING)
    clock.advance(hours=48, minutes=1)
    with pytest.raises(DeliveryError, match="48小时") as refused:
        loop.run(sender.send(Outgoing(Address("wechat", follower.openid), "答复")))
    assert refused.value.permanent
    assert api[0].sent == []


def test_a_user_who_never_wrote_cannot_be_messaged(loop: LoopThread, sender: WeChatSender) -> None:
    with pytest.raises(DeliveryError) as refused:
        loop.run(sender.send(Outgoing(Address("wechat", "oStranger"), "答复")))
    assert refused.value.permanent


def test_an_unsubscribed_user_is_a_permanent_failure_and_a_busy_api_a_temporary_one(
    loop: LoopThread, follower: FakeWeChat, sender: WeChatSender, api: tuple[FakeApi, str]
) -> None:
    fake_api, _ = api
    follower.say("你好")
    to = Address("wechat", follower.openid)
    fake_api.fail_next = [-1, 43004]
    with pytest.raises(DeliveryError) as busy:
        loop.run(sender.send(Outgoing(to, "答复")))
    with pytest.raises(DeliveryError) as gone:
        loop.run(sender.send(Outgoing(to, "答复")))
    assert (busy.value.permanent, gone.value.permanent) == (False, True)


def test_an_unreachable_api_is_a_temporary_failure(
    loop: LoopThread, store: SqlStore, follower: FakeWeChat, clock: Clock
) -> None:
    follower.say("你好")
    dead = WeChatSender(WeChatApi(APP_ID, "s3cret", "http://127.0.0.1:9"), WindowStore(store.engine), 0, clock)
    with pytest.raises(DeliveryError) as failed:
        loop.run(dead.send(Outgoing(Address("wechat", follower.openid), "答复")))
    assert not failed.value.permanent
    loop.run(dead.api.close())


def test_a_slow_answer_is_acknowledged_and_sent_as_a_customer_service_message(
    loop: LoopThread,
    assistant: Assistant,
    store: SqlStore,
    sender: WeChatSender,
    api: tuple[FakeApi, str],
    question: str,
) -> None:
    fake_api, _ = api

    def slow_handle(inc: Incoming) -> list[Outgoing]:
        time.sleep(0.6)
        return assistant.handle(inc)

    fake = FakeWeChat(endpoint_url(loop, make_endpoint(assistant, store, sender, slow_handle, deadline=0.2)))
    reply = fake.say(question)
    assert (reply.status, reply.body) == (200, "success")
    for _ in range(100):
        if fake_api.sent:
            break
        time.sleep(0.05)
    fake.close()
    (late,) = fake_api.texts_to(fake.openid)
    assert f"【{question}】" in late


# ---- small parts --------------------------------------------------------------------------------------


def test_long_text_is_split_at_line_ends_within_wechats_limit() -> None:
    text = "\n".join(f"第{i}行：" + "政策" * 30 for i in range(60))
    parts = split_text(text)
    assert len(parts) > 1 and all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == text
    assert split_text("短") == ["短"]
    assert all(len(p.encode()) <= 2048 for p in split_text("长" * 5000))


def test_reply_text_cannot_end_its_cdata_section_early() -> None:
    text = "工单问题：a]]><MsgType>news</MsgType>b"
    assert read_xml(text_reply("oFollower001", "gh_fugong", text, 1))["Content"] == text


def test_with_telegram_on_the_same_loop_a_wechat_answer_never_holds_the_loop(
    loop: LoopThread, assistant: Assistant, store: SqlStore, question: str
) -> None:
    """Served alone, the loop may sleep briefly on the core's answer; beside Telegram it must stay free."""
    settings = Settings.from_env({"WECHAT_TOKEN": TOKEN, "TELEGRAM_BOT_TOKEN": "123:abc"})
    config = replace(App(settings).wechat_config(), aes_key=None)
    assert not config.loop_to_itself and App(Settings.from_env({"WECHAT_TOKEN": TOKEN})).wechat_config().loop_to_itself
    loop_answered: list[bool] = []

    def handle(inc: Incoming) -> list[Outgoing]:
        # Work the loop must do while this answer is being made (Telegram's replies, say).
        ping = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop.loop)
        try:
            ping.result(timeout=WAIT_IN_PLACE * 0.9)  # a loop sleeping on this answer only wakes after WAIT_IN_PLACE
            loop_answered.append(True)
        except TimeoutError:
            loop_answered.append(False)
        return assistant.handle(inc)

    fake = FakeWeChat(endpoint_url(loop, WeChatEndpoint(config, handle, assistant.store)))
    try:
        assert "【" in fake.say(question, msg_id=90001).text
    finally:
        fake.close()
    assert loop_answered == [True]


def test_settings_check_the_encoding_aes_key() -> None:
    assert Settings.from_env({"WECHAT_TOKEN": "t", "WECHAT_AES_KEY": AES_KEY}).wechat_aes_key == AES_KEY
    with pytest.raises(ConfigError, match="WECHAT_AES_KEY"):
        Settings.from_env({"WECHAT_AES_KEY": "too-short"})
    settings = Settings.from_env({"WECHAT_TOKEN": "t", "WECHAT_PORT": "9090", "WECHAT_PATH": "wx"})
    assert (settings.wechat_host, settings.wechat_port, settings.wechat_path) == ("127.0.0.1", 9090, "/wx")


@pytest.mark.slow
def test_run_bot_serves_the_endpoint_when_wechat_token_is_set(tmp_path: Path, question: str) -> None:
    """`python run_bot.py` with WECHAT_TOKEN: the endpoint verifies and answers (and the outbox pump runs)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": "s3cret",
        "WECHAT_API_BASE_URL": "http://127.0.0.1:9",
        "WECHAT_PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "BOT_TODAY": "2020-03-21",
    }
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.1)
        fake = FakeWeChat(f"http://127.0.0.1:{port}/wechat", safe=True)
        assert fake.verify("ok-1").text == "ok-1"
        assert f"【{question}】" in fake.say(question).text
        fake.safe = False  # with WECHAT_AES_KEY set, a plaintext push is refused
        assert fake.say(question).status == 403
        fake.close()
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


# ---- staff answers and ratings (issue 13) ------------------------------------------------------------------


def staff_answers(store: SqlStore, clock: Clock, number: str, text: str) -> None:
    """A desk worker claims and answers the ticket (as `run_bot.py tickets` would)."""
    desk = StaffService(TicketQueue(store), directory=StaffDirectory(frozenset({"张三"})), clock=clock)
    desk.claim(Staff("cli", "张三"), number)
    desk.answer(Staff("cli", "张三"), number, text)


def test_without_the_customer_service_api_the_answer_comes_with_the_next_reply(
    loop: LoopThread, assistant: Assistant, store: SqlStore, clock: Clock
) -> None:
    assistant.push_channels = frozenset({"telegram"})  # as run_bot.py sets it when WECHAT_APP_SECRET is missing
    user = FakeWeChat(endpoint_url(loop, make_endpoint(assistant, store, sender=None)))
    try:
        user.say(ESCALATING)
        told = user.say("转人工").text
        assert "本对话不能主动推送答复" in told and "直接发送到本对话" not in told, "no promise it cannot keep"
        number = TICKET_RE.search(told).group(0)  # type: ignore[union-attr]
        staff_answers(store, clock, number, "请到区市场监管局特种设备窗口补办。")
        early = user.say("满意").text
        assert early.startswith(f"您的工单 {number} 已答复：\n请到区市场监管局特种设备窗口补办。")
        assert "请先阅读上面工单" in early
        assert "已办结" in user.say("满意").text
        assert "特种设备窗口" not in user.say("你好").text, "shown once"
    finally:
        user.close()


def test_an_answer_pushed_by_the_customer_service_api_can_be_rated(
    loop: LoopThread, assistant: Assistant, store: SqlStore, clock: Clock, follower: FakeWeChat,
    sender: WeChatSender, api: tuple[FakeApi, str],
) -> None:  # fmt: skip
    assistant.push_channels = frozenset({"telegram", "wechat"})  # WECHAT_APP_SECRET set
    follower.say(ESCALATING)
    told = follower.say("转人工").text
    assert "答复将直接发送到本对话" in told
    number = TICKET_RE.search(told).group(0)  # type: ignore[union-attr]
    staff_answers(store, clock, number, "请到区市场监管局特种设备窗口补办。")
    assert loop.run(OutboxPump(TicketQueue(store), {"wechat": sender}, clock).deliver_once()) == 1
    (pushed,) = api[0].texts_to(follower.openid)
    assert pushed.startswith(f"您的工单 {number} 已答复：")
    assert "已办结" in follower.say("满意").text


def test_an_answer_the_api_could_not_push_in_48_hours_comes_with_the_next_reply(
    loop: LoopThread, assistant: Assistant, store: SqlStore, clock: Clock, follower: FakeWeChat,
    sender: WeChatSender, api: tuple[FakeApi, str],
) -> None:  # fmt: skip
    follower.say(ESCALATING)
    number = TICKET_RE.search(follower.say("转人工").text).group(0)  # type: ignore[union-attr]
    clock.advance(hours=49)
    staff_answers(store, clock, number, "请到区市场监管局特种设备窗口补办。")
    assert loop.run(OutboxPump(TicketQueue(store), {"wechat": sender}, clock).deliver_once()) == 0
    assert api[0].sent == []
    assert f"您的工单 {number} 已答复" in follower.say("你好").text
    assert "已办结" in follower.say("满意").text


def test_votes_are_offered_and_read_in_words(follower: FakeWeChat, store: SqlStore, kb: KnowledgeBase) -> None:
    question = kb.entries["utility.water"].question  # a short answer: the vote line fits in the passive reply
    assert "回复“有帮助”或“没帮助”" in follower.say(question).text
    assert f"“{question}”" in follower.say("没帮助").text
    follower.say("转人工")
    (ticket,) = store.tickets_of("wechat", follower.openid)
    assert ticket.question == question


def test_the_vote_line_never_makes_an_answer_need_a_second_message(assistant: Assistant, kb: KnowledgeBase) -> None:
    """The long answer fits one passive reply without it (with WECHAT_APP_SECRET unset the rest would be lost)."""
    chat = Chat(assistant, "wechat", "w1")
    long = chat.send(kb.entries["si.deferral"].question)
    assert len(split_text(render(long))) == 1 and "回复“有帮助”或“没帮助”" not in render(long)
    short = chat.send(kb.entries["utility.water"].question)
    assert render(short).endswith("回复“有帮助”或“没帮助”。")
