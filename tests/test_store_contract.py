"""Every storage interface (bot/store/interfaces.py) held to its promises, on SQLite and on PostgreSQL.

One suite, every backend (the model is aiogram's storage tests): the `stores` fixture builds each interface's
implementation on the database of `db_url`, which runs once per backend (PostgreSQL whenever TEST_DATABASE_URL
is set, as in CI). The tests see only the Protocols, so a second implementation would run the same suite.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from bot.config import TZ
from bot.desk.tickets import Change, TicketError, claim, claimed
from bot.models import Address, Incoming, Outgoing, Ticket, TicketStatus
from bot.reports.week import IsoWeek
from bot.store import SqlStore, make_engine, migrate
from bot.store.base import Card, Exchange, Filter, NewTicket, Refusal, UserState
from bot.store.cards import LEASE, CardStore
from bot.store.interfaces import (
    Cards,
    ConversationRecord,
    FloodCounter,
    Nonces,
    Once,
    Outbox,
    ReportReader,
    TicketDesk,
    Updates,
    Windows,
)
from bot.store.once import OnceLedger
from bot.store.queue import TicketQueue
from bot.store.reports import ReportStore
from bot.store.updates import UpdateQueue
from bot.store.windows import QUOTA, WindowStore

AT = dt.datetime(2020, 3, 18, 10, 0, tzinfo=TZ)  # a Wednesday of ISO week 2020-W12
CHAT = Address("wechat", "oChat1")


@dataclass
class Stores:
    """Each interface's implementation on one database."""

    record: ConversationRecord
    flood: FloodCounter
    nonces: Nonces
    desk: TicketDesk
    outbox: Outbox
    cards: Cards
    windows: Windows
    updates: Updates
    once: Once
    reports: ReportReader
    engine: sa.Engine  # only to count rows: what the interfaces promise not to leave behind


@pytest.fixture
def stores(db_url: str) -> Iterator[Stores]:
    engine = make_engine(db_url)
    migrate(engine)
    store = SqlStore(engine)
    queue = TicketQueue(store)
    yield Stores(
        record=store,
        flood=store,
        nonces=store,
        desk=queue,
        outbox=queue,
        cards=CardStore(engine),
        windows=WindowStore(engine),
        updates=UpdateQueue(engine),
        once=OnceLedger(engine),
        reports=ReportStore(engine),
        engine=engine,
    )
    engine.dispose()


def rows(s: Stores, table: str) -> int:
    with s.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def exchange(
    message_id: str, text: str, reply: str, at: dt.datetime = AT, user: str = "oChat1", **kw: object
) -> Exchange:
    address = Address(CHAT.channel, user)
    incoming = Incoming(address, user, text, message_id=message_id)
    state = UserState(address.channel, user, district="金水区", state={"misses": 1})
    return Exchange(incoming, at, state, (Outgoing(address, reply),), "answer", **kw)  # type: ignore[arg-type]


def new_ticket(message_id: str | None, at: dt.datetime = AT, chat: str = "oChat1") -> NewTicket:
    return NewTicket(Address(CHAT.channel, chat), chat, "复工备案找谁", at, message_id, district="金水区")


# ---- conversation record -----------------------------------------------------------------------------------


def test_record_of_a_redelivered_message_keeps_the_first_replies(stores: Stores) -> None:
    first = stores.record.record(exchange("m1", "水价", "第一次的回答"))
    again = stores.record.record(exchange("m1", "水价", "不同的回答"))
    assert [o.text for o in first] == [o.text for o in again] == ["第一次的回答"]
    assert rows(stores, "messages") == 2, "the re-delivery wrote nothing"
    previous, user = stores.record.arrival(CHAT, "oChat1", "m1")
    assert previous is not None and [o.text for o in previous] == ["第一次的回答"]
    assert (user.district, user.state) == ("金水区", {"misses": 1})


def test_arrival_of_a_new_user_and_a_new_message(stores: Stores) -> None:
    previous, user = stores.record.arrival(CHAT, "nobody", "m-new")
    assert previous is None
    assert (user.user_id, user.district, user.state, user.answers_waiting) == ("nobody", None, {}, False)


def test_ticket_numbers_are_unique_and_consecutive_per_day(stores: Stores) -> None:
    numbers = [stores.record.open_ticket(new_ticket(f"m{i}")).number for i in range(3)]
    assert numbers == ["FG20200318-0001", "FG20200318-0002", "FG20200318-0003"]
    again = stores.record.open_ticket(new_ticket("m1"))
    assert again.number == numbers[1], "a re-delivered message takes no new number"
    next_day = stores.record.open_ticket(new_ticket("m9", AT + dt.timedelta(days=1)))
    assert next_day.number == "FG20200319-0001"
    assert stores.desk.open_ticket(new_ticket(None)).number == "FG20200318-0004", "the desk numbers alike"
    ticket = stores.desk.get(" fg20200318-0001 ")
    assert ticket is not None and ticket.status == TicketStatus.OPEN and ticket.district == "金水区"


def test_ticket_numbers_beyond_9999_keep_every_digit(stores: Stores) -> None:
    with stores.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO ticket_counters (day, last_seq) VALUES ('20200318', 9999)"))
    assert stores.record.open_ticket(new_ticket("m1")).number == "FG20200318-10000"


def test_change_ticket_applies_a_decision_atomically(stores: Stores) -> None:
    ticket = stores.record.open_ticket(new_ticket("m1"))

    def refuse(t: Ticket) -> Change:
        raise TicketError("不能")

    with pytest.raises(TicketError):
        stores.record.change_ticket(ticket.number, "wechat:oChat1", AT, refuse)
    assert [e.action for e in stores.desk.events(ticket.id)] == ["创建"], "a refused decision writes nothing"
    reply = Outgoing(CHAT, "已收到补充")
    later = AT + dt.timedelta(minutes=5)
    changed = stores.record.change_ticket(
        ticket.number, "wechat:oChat1", later, lambda t: Change("note", {"answer": "补充"}, "补充材料", (reply,))
    )
    assert (changed.answer, changed.updated_at) == ("补充", later)
    assert [e.detail for e in stores.desk.events(ticket.id)] == [None, "补充材料"]
    assert stores.outbox.pending_count(CHAT.channel) == 1


def test_tickets_of_newest_first_and_recent_turns_oldest_first(stores: Stores) -> None:
    for i in range(3):
        stores.record.record(exchange(f"m{i}", f"问{i}", f"答{i}", AT + dt.timedelta(seconds=i)))
        stores.record.open_ticket(new_ticket(f"m{i}"))
    assert [t.number[-4:] for t in stores.record.tickets_of(CHAT.channel, "oChat1")] == ["0003", "0002", "0001"]
    assert len(stores.record.tickets_of(CHAT.channel, "oChat1", limit=1)) == 1
    turns = stores.record.recent_turns(CHAT, limit=3)
    assert turns == [
        {"direction": "out", "text": "答1"},
        {"direction": "in", "text": "问2"},
        {"direction": "out", "text": "答2"},
    ]


def test_a_staff_answer_waits_for_the_users_next_contact_until_delivered(stores: Stores) -> None:
    ticket = stores.record.open_ticket(new_ticket("m1"))
    assert not stores.record.answer_delivered(ticket.id)
    answer = Outgoing(CHAT, "答复：请到政务大厅")
    stores.desk.apply(ticket.number, "staff", AT, lambda t: Change("answer", {}, None, (answer,)))
    _previous, user = stores.record.arrival(CHAT, "oChat1", "m2")
    assert user.answers_waiting
    waiting = stores.record.waiting_answers(CHAT, AT)
    assert [w.out.text for w in waiting] == ["答复：请到政务大厅"] and waiting[0].out.ticket_number == ticket.number
    stores.record.record(exchange("m2", "你好", "答复：请到政务大厅", delivered=(waiting[0].outbox_id,)))
    assert stores.record.waiting_answers(CHAT, AT) == [] and stores.record.answer_delivered(ticket.id)
    assert not stores.record.arrival(CHAT, "oChat1", "m3")[1].answers_waiting


def test_flood_counter_counts_per_user_within_a_window(stores: Stores) -> None:
    count = stores.flood.count_message
    assert [count("wechat", "u1", 1000.0 + i) for i in range(3)] == [1, 2, 3]
    assert count("wechat", "u2", 1001.0) == 1 and count("telegram", "u1", 1001.0) == 1, "per channel and user"
    assert count("wechat", "u1", 1059.0) == 4, "still the window that began at 1000"
    assert count("wechat", "u1", 1061.0) == 1, "a message after the window ended starts a new one"


# ---- ticket desk -----------------------------------------------------------------------------------------


def test_of_two_claims_exactly_one_wins_with_one_event(stores: Stores) -> None:
    ticket = stores.record.open_ticket(new_ticket("m1"))
    sources = frozenset({TicketStatus.OPEN, TicketStatus.REOPENED})
    won = stores.desk.apply_if(ticket.number, "staff1", AT, sources, claimed("staff1"))
    lost = stores.desk.apply_if(ticket.number, "staff2", AT, sources, claimed("staff2"))
    assert won is not None and won.assignee == "staff1" and lost is None
    with pytest.raises(TicketError):
        stores.desk.apply(ticket.number, "staff2", AT, lambda t: claim(t, "staff2"))
    assert [(e.actor, e.action) for e in stores.desk.events(ticket.id)] == [
        ("wechat:oChat1", "创建"),
        ("staff1", "认领"),
    ]


def test_find_log_actions_and_context(stores: Stores) -> None:
    a = stores.record.open_ticket(new_ticket("m1"))
    b = stores.record.open_ticket(new_ticket("m2", AT + dt.timedelta(hours=1)))
    assert [t.id for t in stores.desk.find(Filter())] == [a.id, b.id]
    assert stores.desk.find(Filter(district="惠济区")) == []
    assert [t.id for t in stores.desk.find(Filter(created_from=AT + dt.timedelta(minutes=1)))] == [b.id]
    stores.desk.log([a.id, b.id], "system", AT + dt.timedelta(hours=2), Change("催办", detail="即将到期"))
    actions = stores.desk.actions_between(AT, AT + dt.timedelta(days=1))
    assert [(t.id, e.action) for t, e in actions] == [(a.id, "创建"), (b.id, "创建"), (a.id, "催办"), (b.id, "催办")]
    assert stores.desk.context(a.id) == [] and stores.desk.get("FG20990101-0001") is None


# ---- outbox ----------------------------------------------------------------------------------------------


def queued(stores: Stores, text: str = "答复") -> Ticket:
    ticket = stores.record.open_ticket(new_ticket(f"m-{text}"))
    stores.desk.apply(ticket.number, "staff", AT, lambda t: Change("answer", {}, None, (Outgoing(CHAT, text),)))
    return ticket


def test_outbox_claim_leases_and_delivered_removes(stores: Stores) -> None:
    ticket = queued(stores)
    lease = dt.timedelta(minutes=2)
    items = stores.outbox.claim_outbox(CHAT.channel, AT, lease=lease)
    assert [(i.out.text, i.out.ticket_number, i.attempts) for i in items] == [("答复", ticket.number, 1)]
    assert stores.outbox.claim_outbox(CHAT.channel, AT + dt.timedelta(minutes=1)) == [], "leased"
    assert stores.outbox.claim_outbox("telegram", AT + lease) == [], "another channel's worker never sees it"
    again = stores.outbox.claim_outbox(CHAT.channel, AT + lease)
    assert [i.attempts for i in again] == [2], "a sender that died: the lease ran out"
    stores.outbox.delivered(again[0].id, AT + lease)
    assert stores.outbox.claim_outbox(CHAT.channel, AT + 2 * lease) == [] and stores.outbox.pending_count() == 0


def test_outbox_retry_later_then_give_up_flags_a_call_back(stores: Stores) -> None:
    ticket = queued(stores)
    [item] = stores.outbox.claim_outbox(CHAT.channel, AT)
    stores.outbox.retry_later(item.id, AT + dt.timedelta(minutes=10), "timeout")
    assert stores.outbox.claim_outbox(CHAT.channel, AT + dt.timedelta(minutes=9)) == []
    [item] = stores.outbox.claim_outbox(CHAT.channel, AT + dt.timedelta(minutes=10))
    stores.outbox.give_up(item, AT + dt.timedelta(minutes=11), "blocked")
    assert stores.outbox.pending_count(CHAT.channel) == 0
    flagged = stores.desk.get(ticket.number)
    assert flagged is not None and flagged.callback_needed
    assert stores.desk.events(ticket.id)[-1].detail == "blocked；请电话回访"
    assert [w.out.text for w in stores.record.waiting_answers(CHAT, AT)] == ["答复"], "the user's contact is its chance"


# ---- channel state: nonces, cards, windows, updates, once ------------------------------------------------


def test_nonces_are_first_writer_wins_and_expire(stores: Stores) -> None:
    """One body per (timestamp, nonce); pairs that can no longer be fresh are pruned, a few per call."""
    claim_nonce = stores.nonces.claim_nonce
    now = int(time.time())
    assert claim_nonce(now, "n1", "a" * 64, now - 300)
    assert claim_nonce(now, "n1", "a" * 64, now - 300), "the same body again: WeChat's retry"
    assert not claim_nonce(now, "n1", "b" * 64, now - 300)
    assert claim_nonce(now, "n2", "b" * 64, now - 300)
    for i in range(3):
        claim_nonce(now, f"more{i}", "c" * 64, now - 300)
    assert rows(stores, "wechat_nonces") == 5
    later = now + 600  # all five are stale by then: each push drops two of them, its own pair stays
    assert claim_nonce(later, "n1", "b" * 64, later - 300), "another timestamp, another pair"
    assert rows(stores, "wechat_nonces") == 4
    claim_nonce(later, "n3", "d" * 64, later - 300)
    claim_nonce(later, "n4", "d" * 64, later - 300)
    assert rows(stores, "wechat_nonces") == 3


def test_cards_are_claimed_once_posted_and_resolved(stores: Stores) -> None:
    ticket = stores.record.open_ticket(new_ticket("m1"))
    assert [t.id for t in stores.cards.claim_unposted(-100, AT)] == [ticket.id]
    assert stores.cards.claim_unposted(-100, AT) == [], "another worker's claim holds"
    stores.cards.release(ticket.id)
    assert [t.id for t in stores.cards.claim_unposted(-100, AT)] == [ticket.id], "released: the next round retries"
    stale = AT + LEASE + dt.timedelta(seconds=1)
    assert [t.id for t in stores.cards.claim_unposted(-100, stale)] == [ticket.id], "a crashed poster's lease ran out"
    stores.cards.posted(ticket.id, Card(-100, 42))
    assert stores.cards.claim_unposted(-100, AT + 2 * LEASE) == []
    assert stores.cards.card_of(ticket.id) == Card(-100, 42)
    assert stores.cards.ticket_number(-100, 42) == ticket.number and stores.cards.ticket_number(-100, 43) is None


def test_overdue_is_announced_once_per_due_time(stores: Stores) -> None:
    ticket = stores.record.open_ticket(NewTicket(CHAT, "oChat1", "问题", AT, "m1", due_at=AT + dt.timedelta(hours=1)))
    assert stores.cards.overdue_unannounced(AT) == []
    late = stores.cards.overdue_unannounced(AT + dt.timedelta(hours=2))
    assert [t.id for t in late] == [ticket.id]
    stores.cards.announced_overdue(-100, late, AT + dt.timedelta(hours=2))
    assert stores.cards.overdue_unannounced(AT + dt.timedelta(hours=3)) == []


def test_window_gives_quota_slots_after_a_users_message_then_refuses(stores: Stores) -> None:
    assert stores.windows.reserve("oChat1", AT) == Refusal.CLOSED, "the user never wrote"
    stores.record.record(exchange("m1", "你好", "您好", AT))
    assert [stores.windows.reserve("oChat1", AT + dt.timedelta(hours=1)) for _ in range(QUOTA)] == [None] * QUOTA
    assert stores.windows.reserve("oChat1", AT + dt.timedelta(hours=1)) == Refusal.QUOTA
    stores.windows.release("oChat1")
    assert stores.windows.reserve("oChat1", AT + dt.timedelta(hours=1)) is None, "a slot given back"
    assert stores.windows.reserve("oChat1", AT + dt.timedelta(hours=49)) == Refusal.CLOSED, "48 hours passed"
    stores.record.record(exchange("m2", "再问", "好的", AT + dt.timedelta(hours=50)))
    assert stores.windows.reserve("oChat1", AT + dt.timedelta(hours=50)) is None, "a new message, a new window"


def body(update_id: int, chat_id: int) -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": update_id, "chat": {"id": chat_id, "type": "private"}}}


def test_update_queue_put_take_done_failed(stores: Stores) -> None:
    queue = stores.updates
    queue.put([(1, 10, body(1, 10)), (2, 11, body(2, 11)), (3, -1003, body(3, -1003)), (4, 10, body(4, 10))], AT)
    queue.put([(2, 11, {"changed": True})], AT)  # Telegram delivers it again: the first copy stays
    assert queue.pending() == 4
    evens = queue.take(0, 2)
    odds = queue.take(1, 2)
    assert [u for u, _b, _n in evens] == [1, 4]  # chat 10's updates, oldest first
    assert [u for u, _b, _n in odds] == [2, 3]  # chats 11 and -1003 (by the chat id's size)
    assert odds[0][1] == body(2, 11) and odds[0][2] == 0
    assert [u for u, _b, _n in queue.take(0, 1, limit=2)] == [1, 2]
    queue.failed([4])
    queue.done([1, 2])
    assert [(u, n) for u, _b, n in queue.take(0, 2)] == [(4, 1)]
    queue.done([3, 4])
    assert queue.pending() == 0 and queue.take(0, 1) == []


def test_once_per_period(stores: Stores) -> None:
    assert stores.once.claim("weekly-report", "2020-W12", AT)
    assert not stores.once.claim("weekly-report", "2020-W12", AT + dt.timedelta(seconds=1))
    assert stores.once.claim("weekly-report", "2020-W13", AT + dt.timedelta(days=7))
    assert stores.once.claim("other-job", "2020-W12", AT)


# ---- report reader ---------------------------------------------------------------------------------------


def test_report_reader_returns_the_weeks_rows(stores: Stores) -> None:
    week = IsoWeek.parse("2020-W12")
    before, inside, after = week.start - dt.timedelta(hours=1), AT, week.end + dt.timedelta(hours=1)
    for i, at in enumerate((before, inside, after)):
        stores.record.record(exchange(f"m{i}", f"问{i}", f"答{i}", at, faq_id="F1", score=0.9))
        stores.record.open_ticket(new_ticket(f"m{i}", at))
    data = stores.reports.read_week(week)
    assert [t.text for t in data.turns] == ["问1"] and data.turns[0].faq_id == "F1"
    assert [t.created_at for t in data.tickets.values()] == [inside]
    assert [e.action for e in data.events] == ["创建"]
    assert data.previous_outcomes == {"answer": 1}, "last week's question"
    assert data.matched_ever == {"F1"} and data.proposals == []
