"""A generated week of conversations with known gaps, written through the real dialog core and store.

Week 2020-W12 (Monday 16 to Sunday 22 March 2020, Beijing time). Known gaps, largest first:
  1. forklift operator licence renewal — 5 questions (two carry a name and a phone number)
  2. lost company seal — 4 questions (one carries an e-mail, one an ID number); staff answered one
  3. lift inspection postponed — 3 questions
  4. cheaper electricity — 2 questions the bot only suggested for; both users picked utility.electricity
Each gap question is escalated or only suggested for, as the matcher decides.
Plus answered questions, one 👎没帮助, one 转人工 right after an answer, and 4 questions in the week before.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from bot.config import TZ
from bot.dialog.core import Assistant
from bot.models import Address, Incoming
from bot.store import SqlStore
from bot.store.schema import messages, ticket_events, tickets
from tests.conftest import Clock

WEEK = "2020-W12"
MONDAY = dt.datetime(2020, 3, 16, 9, 0, tzinfo=TZ)

FORKLIFT = [
    "叉车操作证到期了去哪里换证",
    "我叫张三，电话13812345678，叉车操作证快到期了怎么换新证",
    "叉车操作证过期了怎么换证",
    "我们厂叉车司机操作证到期换证去哪办",
    "联系人：李四 手机13912345678，叉车操作证到期换证要带什么材料",
]
SEAL = [
    "公司公章丢了怎么补刻",
    "公章丢了去哪里补刻",
    "我的邮箱 wang.wu@example.com，公章丢了补刻流程",
    "身份证410102199001011234，公章丢了怎么补刻",
]
LIFT = ["电梯年检能延期吗", "电梯年检到期了能不能延期", "今年电梯年检可以推迟吗"]
POWER = ["疫情期间电费能便宜点吗", "工厂电费能不能便宜点"]
ANSWERED = ["社保费能缓缴吗", "稳岗返还怎么申请", "租国有企业房子的房租能减免吗"]
PERSONAL = ("13812345678", "13912345678", "张三", "李四", "wang.wu@example.com", "410102199001011234")
STAFF_ANSWER = "公章遗失需先登报声明，再持营业执照到公安机关备案后补刻，咨询电话0371-67891234。"


class WeekWriter:
    """Sends messages as different users at chosen Beijing times."""

    def __init__(self, assistant: Assistant, clock: Clock) -> None:
        self.assistant = assistant
        self.clock = clock
        self.n = 0

    def say(
        self,
        at: dt.datetime,
        text: str,
        user: str | None = None,
        channel: str = "telegram",
        district: str | None = None,
        **kw: object,
    ) -> str:
        """One message from `user` (a new user by default); returns the user id."""
        if user is None:
            self.n += 1
            user = f"u{self.n}"
        self.clock.now = at
        inc = Incoming(Address(channel, f"chat-{user}"), user, text, district=district, **kw)  # type: ignore[arg-type]
        self.assistant.handle(inc)
        return user


def write_week(assistant: Assistant, clock: Clock, store: SqlStore) -> None:
    """The week described in the module docstring."""
    w = WeekWriter(assistant, clock)
    hour = dt.timedelta(hours=1)
    at = MONDAY
    for i, text in enumerate(FORKLIFT + SEAL + LIFT):
        w.say(at + i * 5 * hour, text, channel="wechat" if i % 2 else "telegram", district="二七区" if i % 3 else None)
    for i, text in enumerate(ANSWERED * 3):
        w.say(at + i * 3 * hour, text, channel="console", district="中牟县")
    unhelpful = w.say(at + 30 * hour, "社保费能缓缴吗")
    w.say(at + 30 * hour + dt.timedelta(minutes=1), "", user=unhelpful, action="feedback:down:si.deferral")
    escalating = w.say(at + 40 * hour, "租国有企业房子的房租能减免吗")
    w.say(at + 40 * hour + dt.timedelta(minutes=2), "转人工", user=escalating)
    for i, text in enumerate(["社保费能缓缴吗", "稳岗返还怎么申请", "租国有企业房子的房租能减免吗", "社保费能缓缴吗"]):
        w.say(at - dt.timedelta(days=7) + i * hour, text, channel="console")
    for i, text in enumerate(POWER):
        _suggested_then_picked(store, at + (50 + i) * hour, f"p{i}", text)
    _staff_answers_seal(store, at)


def _suggested_then_picked(store: SqlStore, at: dt.datetime, user: str, text: str) -> None:
    """A question the bot only suggested for, then the user's pick — written straight into the log."""
    candidates = [{"id": "utility.electricity", "score": 58.0}, {"id": "utility.water", "score": 52.0}]
    with store.engine.begin() as conn:
        common = {"direction": "in", "channel": "telegram", "chat_id": f"chat-{user}", "user_id": user, "kind": "text"}
        conn.execute(
            messages.insert().values(at=at, text=text, outcome="suggest", score=58.0, candidates=candidates, **common)
        )
        conn.execute(
            messages.insert().values(
                at=at + dt.timedelta(minutes=1),
                text="",
                action="pick:utility.electricity",
                outcome="pick",
                faq_id="utility.electricity",
                **common,
            )
        )


def _staff_answers_seal(store: SqlStore, monday: dt.datetime) -> None:
    """Staff answer the first seal ticket two hours after it was opened; another ticket runs overdue."""
    with store.engine.begin() as conn:
        seal = sa.select(tickets.c.id, tickets.c.created_at).where(tickets.c.question.contains("公章"))
        first = conn.execute(seal.order_by(tickets.c.id)).first()
        assert first is not None, "the seal questions open tickets"
        answered_at = first.created_at + dt.timedelta(hours=2)
        conn.execute(
            tickets.update()
            .where(tickets.c.id == first.id)
            .values(status="已办结", answer=STAFF_ANSWER, satisfaction="满意", department="区市场监管局", tier="常规")
        )
        conn.execute(
            ticket_events.insert().values(
                ticket_id=first.id, at=answered_at, actor="staff:1", action="答复", detail=STAFF_ANSWER
            )
        )
        conn.execute(
            ticket_events.insert().values(
                ticket_id=first.id,
                at=answered_at + dt.timedelta(hours=1),
                actor="telegram:1",
                action="评价满意",
                detail="满意",
            )
        )
        conn.execute(tickets.update().values(due_at=monday + dt.timedelta(days=30)))
        late = conn.execute(
            sa.select(tickets.c.id).where(tickets.c.question.contains("叉车")).order_by(tickets.c.id)
        ).scalar()
        conn.execute(tickets.update().where(tickets.c.id == late).values(due_at=monday + dt.timedelta(days=1)))
