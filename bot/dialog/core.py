"""The channel-agnostic dialog core: one incoming message in, the replies out.

It never imports a channel library and never does network I/O; channels translate and deliver. Every
exchange is recorded atomically with the user's state, and a channel message seen before gets the replies
it got the first time, so re-deliveries neither answer twice nor open a second ticket.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.answering.answer_text import format_answer
from bot.answering.intake import GREETING_RE, SMALLTALK_RE, bare, is_junk, join_questions, split_questions
from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.answering.text import fold
from bot.config import TZ
from bot.desk.tickets import (
    ACTIVE,
    SATISFACTION,
    Change,
    NotDelivered,
    TicketError,
    TicketNotFound,
    TicketPolicy,
    format_due,
)
from bot.desk.tickets import rate as rate_change
from bot.dialog.flood import FloodLimit
from bot.models import DISTRICTS, Candidate, FaqEntry, Incoming, Match, Option, Outcome, Outgoing, Ticket
from bot.store.base import Exchange, NewTicket, Store, UserState

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500  # what the matcher reads of one message; the whole text is still recorded
MAX_PARTS = 3  # questions of one message answered one by one; any further ones go to a person
OTHER_DISTRICT = "其他"
HUMAN_WORDS = ("转人工", "人工客服", "人工服务", "找人工", "人工", "客服", "真人")
HELP_WORDS = (
    "/help",
    "帮助",
    "help",
    "菜单",
    "使用说明",
    "怎么用",
    "你能做什么",
    "你可以做什么",
    "你会什么",
    "你是谁",
    "功能",
)
STATUS_WORDS = ("/status", "查询工单", "我的工单", "工单查询", "工单进度", "查工单", "进度查询")
TOPIC_WORDS = ("/topics", "政策目录", "问题目录", "目录", "分类", "常见问题")
DISTRICT_WORDS = ("/district", "切换区县", "选择区县", "修改区县", "更换区县", "区县")
START_WORDS = ("/start", "开始", "subscribe")
HELPFUL_WORDS = ("有帮助", "👍", "👍有帮助", "有用", "有帮助👍")
UNHELPFUL_WORDS = ("没帮助", "没有帮助", "无帮助", "👎", "👎没帮助", "没用", "没帮助👎")
PUSH_CHANNELS = frozenset({"telegram"})  # channels whose running adapter always sends staff answers at once
_DISTRICT_ALIASES = {"二七": "二七区", "上街": "上街区", "中牟": "中牟县"}

NONTEXT_REPLY = "抱歉，我暂时只能读懂文字消息。请用文字描述您的问题，例如“社保费能缓缴吗”；需要人工帮助请回复“转人工”。"
EMPTY_REPLY = "您好，请用一句话描述您想咨询的复工复产政策问题，例如“稳岗返还怎么申请”。"
JUNK_REPLY = (
    "😊 我是复工复产政策咨询助手，只能解答惠企政策问题。请直接输入您想咨询的问题，"
    "例如“社保费能缓缴吗”“稳岗返还怎么申请”；回复“政策目录”可按类别浏览。"
)
NO_VOTE_REPLY = (
    "现在没有可以评价的答复。请直接输入您的问题，例如“社保费能缓缴吗”；"
    "对工作人员的答复，请回复“满意”“基本满意”或“不满意”。"
)
NO_MENU_REPLY = "现在没有可选的编号。请直接输入您的问题，例如“社保费能缓缴吗”；回复“政策目录”可按类别浏览。"
WELCOME = (
    "您好！我是复工复产政策咨询助手，可以解答社保减免缓缴、稳岗返还、用工补贴、劳动关系、税费、"
    "房租水电气、复工防疫等惠企政策问题。\n请先选择您企业所在的区县，以便按本区县口径答复："
)
HELP_TEXT = (
    "使用说明：\n"
    "· 直接输入问题，如“社保费能缓缴吗”“稳岗返还怎么申请”；\n"
    "· 回复“政策目录”按类别浏览常见问题；\n"
    "· 回复“切换区县”设置企业所在区县（二七区、上街区、中牟县）；\n"
    "· 回复“转人工”由工作人员答复，回复“查询工单”查看处理进度。"
)


@dataclass
class Turn:
    """What the core decided for one incoming message, before it is recorded."""

    outcome: str
    replies: list[Outgoing] = field(default_factory=list)
    faq_id: str | None = None
    score: float | None = None
    candidates: tuple[Candidate, ...] = ()
    ticket: Ticket | None = None


@dataclass(frozen=True)
class _Part:
    """One question of a message with several, numbered as the user reads them, and the matcher's decision."""

    n: int
    question: str
    match: Match
    beyond: bool = False  # past MAX_PARTS: not matched, handed to a person


def numbered(options: tuple[Option, ...]) -> list[Option]:
    """The options a text channel shows with numbers; the user may reply with the number."""
    return [o for o in options if o.kind in ("pick", "topic", "district")]


def district_options() -> tuple[Option, ...]:
    return tuple(Option(d, f"district:{d}", "district") for d in (*DISTRICTS, OTHER_DISTRICT))


class Assistant:
    """Answers enterprise users: FAQ answers, suggestions, tickets, district, help and status."""

    def __init__(
        self,
        kb: KnowledgeBase,
        matcher: Matcher,
        store: Store,
        today: Callable[[], dt.date],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(TZ),
        policy: TicketPolicy | None = None,
        flood: FloodLimit | None = None,
        push_channels: frozenset[str] = PUSH_CHANNELS,
    ) -> None:
        self.kb = kb
        self.matcher = matcher
        self.store = store
        self.today = today
        self.clock = clock
        self.policy = policy or TicketPolicy()
        self.flood = flood  # the per-user limit; None = no limit
        # channels that push a staff answer when it is given; every other one shows it at the user's next contact
        self.push_channels = push_channels

    # ---- entry point ---------------------------------------------------------------------------------------

    def handle(self, inc: Incoming) -> list[Outgoing]:
        """Reply to one incoming message; a re-delivered channel message gets its first replies again."""
        previous, user = self.store.arrival(inc.address, inc.user_id, inc.message_id)
        if previous is not None:
            return previous
        at = self.clock()
        if self.flood is not None and (held := self.flood.check(inc, at)) is not None:
            return held  # over the limit: not recorded, no ticket
        if inc.user_name and not user.name:
            user.name = inc.user_name
        if inc.district in (*DISTRICTS, OTHER_DISTRICT):
            user.district = None if inc.district == OTHER_DISTRICT else inc.district
            user.state["district_set"] = True
        waiting = self.store.waiting_answers(inc.address, at) if user.answers_waiting else []  # not yet seen
        delivering = frozenset(w.out.ticket_number for w in waiting if w.out.ticket_number)
        turn = self._dispatch(inc, user, at, delivering)
        if turn.outcome != "junk":  # junk leaves an open menu open: "👌" and then "1" still picks
            user.state["options"] = [o.action for r in turn.replies for o in numbered(r.options)]
        exchange = Exchange(
            incoming=inc,
            at=at,
            user=user,
            replies=(*(w.out for w in waiting), *turn.replies),
            outcome=turn.outcome,
            faq_id=turn.faq_id,
            score=turn.score,
            candidates=turn.candidates,
            ticket_id=turn.ticket.id if turn.ticket else None,
            delivered=tuple(w.outbox_id for w in waiting),
        )
        replies = self.store.record(exchange)
        logger.info(
            "%s user=%s outcome=%s faq=%s ticket=%s",
            inc.address.channel, inc.user_id, turn.outcome, turn.faq_id, turn.ticket.number if turn.ticket else None,
        )  # fmt: skip
        return replies

    def _dispatch(self, inc: Incoming, user: UserState, at: dt.datetime, delivering: frozenset[str]) -> Turn:
        """`delivering`: tickets whose staff answer is shown with this reply (seen only after it)."""
        if inc.action:
            return self._action(inc, inc.action, user, at, delivering)
        if inc.kind == "event":
            return self._start(inc, user)
        if inc.kind != "text":
            return self._say(inc, "nontext", NONTEXT_REPLY, (Option("转人工", "human", "human"),))
        text = inc.text.strip()
        if not text:
            return self._say(inc, "empty", EMPTY_REPLY)
        choice = bare(text)  # "1", "１", "1。" and "1️⃣" all pick the first option
        options = user.state.get("options") or []
        if choice.isdecimal() and 1 <= int(choice) <= len(options):
            return self._action(inc, options[int(choice) - 1], user, at, delivering)
        command = self._command(inc, text, user, at, delivering)
        if command is not None:
            return command
        if is_junk(text):
            return self._junk(inc, text, len(options))
        self._remember_district(text, user)
        return self._question(inc, text, user, at)

    # ---- commands and small talk -------------------------------------------------------------------------

    def _command(
        self, inc: Incoming, text: str, user: UserState, at: dt.datetime, delivering: frozenset[str]
    ) -> Turn | None:
        word = fold(text).strip().rstrip("。.!！?？").strip()
        if word.startswith("/"):
            word = word.split()[0].split("@")[0]
        if word in START_WORDS:
            return self._start(inc, user)
        if word in HELP_WORDS:
            return self._say(inc, "help", HELP_TEXT)
        if word in STATUS_WORDS:
            return self._status(inc)
        if word in TOPIC_WORDS:
            return self._topics(inc)
        if word in DISTRICT_WORDS:
            return self._say(inc, "district_prompt", "请选择企业所在的区县：", district_options())
        if word in DISTRICTS or word in _DISTRICT_ALIASES or word == OTHER_DISTRICT:
            return self._set_district(inc, _DISTRICT_ALIASES.get(word, word), user)
        if word in HUMAN_WORDS:
            return self._human(inc, user, at)
        if word in SATISFACTION and self._awaiting_rating(inc):
            return self._rate(inc, None, word, at, delivering)
        if word in (*HELPFUL_WORDS, *UNHELPFUL_WORDS):
            last_answer = user.state.get("last_answer")
            if last_answer in self.kb.entries:
                return self._feedback(inc, "up" if word in HELPFUL_WORDS else "down", last_answer, user)
            return self._say(inc, "junk", NO_VOTE_REPLY)  # never a ticket titled “没帮助”
        if word.startswith("/"):
            return self._say(inc, "unknown_command", "抱歉，没有这个命令。" + HELP_TEXT)
        talk = bare(word)  # "谢谢🙏" is thanks too
        if talk and not SMALLTALK_RE.sub("", GREETING_RE.sub("", talk)):
            if GREETING_RE.search(talk):
                return self._say(inc, "greeting", "您好！请直接输入您想咨询的复工复产政策问题。")
            if "谢" in talk:
                return self._say(inc, "thanks", "不客气！还有其他问题可以随时问我。")
            return self._say(inc, "thanks", "好的。还有其他问题可以随时问我。")
        return None

    def _junk(self, inc: Incoming, text: str, menu: int) -> Turn:
        """A friendly word for a message with nothing to answer; recorded as junk, never a ticket or a gap."""
        if bare(text).isdigit():
            hint = f"请回复列表中的编号（1–{menu}），或直接输入您的问题。" if menu else NO_MENU_REPLY
            return self._say(inc, "junk", hint)
        return self._say(inc, "junk", JUNK_REPLY)

    def _say(self, inc: Incoming, outcome: str, text: str, options: tuple[Option, ...] = ()) -> Turn:
        return Turn(outcome, [Outgoing(inc.address, text, options)])

    def _start(self, inc: Incoming, user: UserState) -> Turn:
        """The welcome; a user whose district is known already is not asked for it again."""
        if not (user.district or user.state.get("district_set")):
            return self._say(inc, "welcome", WELCOME, district_options())
        where = f"按{user.district}的口径" if user.district else "按省、市通用口径"
        return self._say(inc, "welcome", welcome_back(where))

    def _remember_district(self, text: str, user: UserState) -> None:
        """A district named in a question is remembered, so the answer uses its wording."""
        for alias, district in (*((d, d) for d in DISTRICTS), *_DISTRICT_ALIASES.items()):
            if alias in text:
                user.district = district
                return

    def _set_district(self, inc: Incoming, district: str, user: UserState) -> Turn:
        user.district = None if district == OTHER_DISTRICT else district
        user.state["district_set"] = True
        if user.district:
            text = f"已设置为{district}，之后将按{district}的口径答复。请输入您的问题。"
        else:
            text = "好的，将按省、市通用口径答复。请输入您的问题。"
        return self._say(inc, "district", text)

    def _status(self, inc: Incoming) -> Turn:
        tickets = self.store.tickets_of(inc.address.channel, inc.user_id)
        if not tickets:
            return self._say(inc, "status", "您目前没有工单。需要人工帮助时请回复“转人工”。")
        lines = ["您的工单："]
        for t in tickets:
            when = t.created_at.astimezone(TZ).strftime("%m-%d %H:%M")
            question = t.question if len(t.question) <= 30 else t.question[:30] + "…"
            lines.append(f"· {t.number}｜{t.status.value}｜{when}｜{question}")
        return self._say(inc, "status", "\n".join(lines))

    def _topics(self, inc: Incoming) -> Turn:
        options = tuple(Option(c, f"topic:{c}", "topic") for c in self.kb.categories)
        return self._say(inc, "topics", "请选择问题类别：", options)

    # ---- questions, answers and tickets ------------------------------------------------------------------

    def _question(self, inc: Incoming, text: str, user: UserState, at: dt.datetime) -> Turn:
        parts = split_questions(text)
        if len(parts) > 1 and (turn := self._questions(inc, text, parts, user, at)) is not None:
            return turn
        match = self.matcher.match(text[:MAX_QUESTION_CHARS])
        user.state["last_question"] = text
        user.state.pop("last_answer", None)  # 没帮助 now would be about no answer
        if match.outcome is Outcome.ANSWER and match.id:
            user.state["misses"] = 0
            turn = self._answer(inc, self.kb.entries[match.id], user, text)
            turn.score, turn.candidates = match.score, match.candidates
            return turn
        misses = int(user.state.get("misses") or 0) + 1
        user.state["misses"] = misses
        if match.outcome is Outcome.SUGGEST and misses < 2:
            options = tuple(Option(self.kb.entries[c.id].question, f"pick:{c.id}") for c in match.candidates)
            turn = self._say(
                inc,
                "suggest",
                "没有找到完全对应的答案，您想问的是下面哪一个？都不是请回复“转人工”。",
                (*options, Option("都不是，转人工", "human", "human")),
            )
            turn.score, turn.candidates = match.score, match.candidates
            return turn
        turn = self._open_ticket(inc, text, user, at, match.candidates)
        turn.score = match.score
        return turn

    def _questions(self, inc: Incoming, text: str, parts: list[str], user: UserState, at: dt.datetime) -> Turn | None:
        """Several questions in one message: each answered or suggested for, the rest in one ticket.

        None when the parts all lead to one entry: they were one question after all, answered as a whole.
        """
        decided = self._decide_parts(parts)
        if len(decided) == 1:
            return None
        settled = all(p.match.outcome is Outcome.ANSWER for p in decided)
        misses = user.state["misses"] = 0 if settled else int(user.state.get("misses") or 0) + 1
        answered = [p for p in decided if p.match.outcome is Outcome.ANSWER and p.match.id]
        suggested = [p for p in decided if p.match.outcome is Outcome.SUGGEST and misses < 2]
        handed = [p for p in decided if p not in answered and p not in suggested]
        replies = [self._part_answer(inc, p, user) for p in answered]
        ticket, notice = self._hand_over(inc, text, handed, user, at) if handed else (None, "")
        if suggested:
            replies.append(self._part_suggestions(inc, notice, suggested))
            user.state["last_question"] = join_questions([p.question for p in suggested])
        elif ticket:
            replies.append(Outgoing(inc.address, notice, ticket_number=ticket.number))
        else:
            user.state["last_question"] = text
        first = replies[0]
        replies[0] = replace(first, text=f"您一共问了{len(decided)}个问题，分别回复如下。\n\n{first.text}")
        deciding = (handed or suggested or answered)[0].match
        return Turn(
            "escalate" if ticket else "suggest" if suggested else "answer",
            replies,
            faq_id=answered[0].match.id if answered else None,
            score=deciding.score,
            candidates=deciding.candidates,
            ticket=ticket,
        )

    def _decide_parts(self, parts: list[str]) -> list[_Part]:
        """The matcher's decision for each of the first MAX_PARTS parts; any further part is left to a person.

        Parts about one entry are one question: those it answers, and a suggested part whose candidates include
        it ("……稳岗返还？返还金额怎么计算？"), since its answer is already given.
        """
        matched = [(q, self.matcher.match(q[:MAX_QUESTION_CHARS])) for q in parts[:MAX_PARTS]]
        answered = {m.id for _, m in matched if m.id}
        groups: dict[str, list[str]] = {}
        decisions: dict[str, Match] = {}
        for i, (question, match) in enumerate(matched):
            near = (c.id for c in match.candidates if match.outcome is Outcome.SUGGEST and c.id in answered)
            key = match.id or next(near, f"#{i}")
            groups.setdefault(key, []).append(question)
            if match.id == key or key not in decisions:
                decisions[key] = match
        decided = [_Part(n, join_questions(groups[k]), decisions[k]) for n, k in enumerate(groups, 1)]
        rest = parts[MAX_PARTS:]
        return decided + [
            _Part(n, q, Match(Outcome.ESCALATE), beyond=True) for n, q in enumerate(rest, len(decided) + 1)
        ]

    def _part_answer(self, inc: Incoming, part: _Part, user: UserState) -> Outgoing:
        """One part's answer, headed by the part; no numbered follow-ups, so the one numbered list stays clear."""
        entry = self.kb.entries[str(part.match.id)]
        user.state["last_answer"] = entry.id
        text = f"问题{part.n}：{part.question}\n{format_answer(entry, user.district, self.today())}"
        feedback = (
            Option("👍有帮助", f"feedback:up:{entry.id}", "feedback"),
            Option("👎没帮助", f"feedback:down:{entry.id}", "feedback"),
        )
        return Outgoing(inc.address, text, feedback)

    def _part_suggestions(self, inc: Incoming, notice: str, suggested: list[_Part]) -> Outgoing:
        """Suggestions for the parts without a sure answer, in one numbered list after any ticket notice."""
        lines, options = [notice] if notice else [], []
        for part in suggested:
            lines.append(f"问题{part.n}「{part.question}」没有找到完全对应的答案，您想问的是下面哪一个？")
            tag = f"（问题{part.n}）" if len(suggested) > 1 else ""
            options += [Option(tag + self.kb.entries[c.id].question, f"pick:{c.id}") for c in part.match.candidates]
        lines[-1] += "都不是请回复“转人工”。"
        return Outgoing(inc.address, "\n".join(lines), (*options, Option("都不是，转人工", "human", "human")))

    def _hand_over(
        self, inc: Incoming, text: str, handed: list[_Part], user: UserState, at: dt.datetime
    ) -> tuple[Ticket, str]:
        """One ticket whose question is just the parts a person must answer; the notice names them."""
        question = join_questions([p.question for p in handed])
        ticket = self._ticket(inc, question, user, at, handed[0].match.candidates, message=text)
        parts = "、".join(f"问题{p.n}「{p.question}」" for p in handed)
        lead = f"{parts}需要工作人员答复，已{'一并' if len(handed) > 1 else ''}转交处理"
        beyond = f"一次最多逐一答复{MAX_PARTS}个问题。\n" if any(p.beyond for p in handed) else ""
        return ticket, beyond + handed_over(ticket, lead, self._reply_route(inc))

    def _answer(self, inc: Incoming, entry: FaqEntry, user: UserState, asked: str | None = None) -> Turn:
        """The entry's answer with 👍/👎; `asked` is the user's question it answers (a 没帮助 hands it on)."""
        user.state["last_answer"] = entry.id
        user.state["answered_question"] = asked or entry.question
        options = [Option(self.kb.entries[r].question, f"pick:{r}") for r in entry.related]
        options += [
            Option("👍有帮助", f"feedback:up:{entry.id}", "feedback"),
            Option("👎没帮助", f"feedback:down:{entry.id}", "feedback"),
            Option("转人工", "human", "human"),
        ]
        text = format_answer(entry, user.district, self.today())
        if entry.related:
            text += "\n\n您可能还想了解："
        return Turn("answer", [Outgoing(inc.address, text, tuple(options))], faq_id=entry.id)

    def _feedback(self, inc: Incoming, vote: str, faq_id: str, user: UserState) -> Turn:
        """👍 thanks; 👎 offers a person, and a following 转人工 hands on the question the answer was about."""
        if vote == "up":
            return Turn("feedback_up", [Outgoing(inc.address, "感谢您的反馈！")], faq_id=faq_id)
        entry = self.kb.entries.get(faq_id)
        asked = user.state.get("answered_question") if user.state.get("last_answer") == faq_id else None
        question = asked or (entry.question if entry else None)
        user.state["last_question"] = question
        about = f"“{question}”" if question else "您的问题"
        text = f"抱歉没能帮到您。回复“转人工”，工作人员会就{about}直接答复您。"
        return Turn("feedback_down", [Outgoing(inc.address, text, (Option("转人工", "human", "human"),))],
                    faq_id=faq_id)  # fmt: skip

    def _awaiting_rating(self, inc: Incoming) -> Ticket | None:
        """The user's newest answered ticket that has no rating yet."""
        for t in self.store.tickets_of(inc.address.channel, inc.user_id, limit=5):
            if t.answer and not t.satisfaction and t.status.value in ("已答复", "已办结"):
                return t
        return None

    def _rate(self, inc: Incoming, number: str | None, level: str, at: dt.datetime, delivering: frozenset[str]) -> Turn:
        """Record the enterprise's rating of an answer it has seen; 不满意 reopens the ticket."""
        target = number or (t.number if (t := self._awaiting_rating(inc)) else "")

        def decide(t: Ticket) -> Change:
            return rate_change(t, level, self.policy, at, delivered=self.store.answer_delivered(t.id))

        try:
            ticket = self.store.change_ticket(target, f"{inc.address.channel}:{inc.user_id}", at, _own(inc, decide))
        except NotDelivered as exc:
            if target.strip().upper() not in delivering:
                return self._say(inc, "rating_refused", str(exc))
            text = f"请先阅读上面工单 {target} 的答复，再回复“满意”“基本满意”或“不满意”。"
            return self._say(inc, "rating_refused", text)
        except TicketError as exc:
            return self._say(inc, "rating_refused", str(exc))
        if level == "不满意":
            text = f"抱歉答复未能解决您的问题，工单 {ticket.number} 已重新打开，工作人员会再次与您联系。"
        else:
            text = f"感谢您的评价（{level}），工单 {ticket.number} 已办结。"
        return Turn("rating", [Outgoing(inc.address, text, ticket_number=ticket.number)], ticket=ticket)

    def _human(self, inc: Incoming, user: UserState, at: dt.datetime) -> Turn:
        question = user.state.get("last_question")
        if not question and (pending := self._pending_ticket(inc, user)) is not None:
            text = (
                f"您的问题已在工作人员处办理（工单号：{pending.number}，{pending.status.value}），不用再描述一遍。"
                + self._reply_route(inc)
            )
            return Turn("human_pending", [Outgoing(inc.address, text, ticket_number=pending.number)])
        if not question:
            user.state["awaiting_human"] = True
            return self._say(inc, "human_prompt", "好的，请用一句话描述您的问题，我会直接转给工作人员。")
        return self._open_ticket(inc, question, user, at, ())

    def _pending_ticket(self, inc: Incoming, user: UserState) -> Ticket | None:
        """The ticket the user's last question became, while staff are still working on it."""
        number = user.state.get("last_ticket")
        if not number:
            return None
        mine = self.store.tickets_of(inc.address.channel, inc.user_id, limit=5)
        return next((t for t in mine if t.number == number and t.status in ACTIVE), None)

    def _reply_route(self, inc: Incoming) -> str:
        """How the staff answer will reach this chat, said honestly: pushed, or shown at the next message."""
        if inc.address.channel in self.push_channels:
            return "答复将直接发送到本对话；回复“查询工单”可查看进度。"
        return "本对话不能主动推送答复：工作人员答复后，您再发送任意消息（如“查询工单”）即可看到答复。"

    def _open_ticket(
        self, inc: Incoming, question: str, user: UserState, at: dt.datetime, candidates: tuple[Candidate, ...]
    ) -> Turn:
        ticket = self._ticket(inc, question, user, at, candidates)
        text = handed_over(ticket, "您的问题已转交工作人员处理", self._reply_route(inc))
        return Turn("escalate", [Outgoing(inc.address, text, ticket_number=ticket.number)], ticket=ticket,
                    candidates=candidates)  # fmt: skip

    def _ticket(
        self,
        inc: Incoming,
        question: str,
        user: UserState,
        at: dt.datetime,
        candidates: tuple[Candidate, ...],
        message: str | None = None,
    ) -> Ticket:
        """Open a ticket; `message`, when the question is only part of it, is added to the context staff read."""
        context = self.store.recent_turns(inc.address)
        if message:
            context.append({"direction": "in", "text": message})
        top = self.kb.entries.get(candidates[0].id) if candidates else None
        tier, department = self.policy.classify(top, user.district)
        ticket = self.store.open_ticket(
            NewTicket(
                address=inc.address,
                user_id=inc.user_id,
                question=question,
                at=at,
                source_message_id=inc.message_id,
                district=user.district,
                enterprise=user.enterprise,
                contact=user.contact,
                candidates=candidates,
                category=top.category if top else None,
                department=department,
                context=tuple(context),
                tier=tier,
                due_at=self.policy.due(at, tier),
            )
        )
        user.state.update(misses=0, last_question=None, awaiting_human=False, last_ticket=ticket.number)
        return ticket

    # ---- button / number actions -------------------------------------------------------------------------

    def _action(self, inc: Incoming, action: str, user: UserState, at: dt.datetime, delivering: frozenset[str]) -> Turn:
        kind, _, arg = action.partition(":")
        if kind == "pick" and arg in self.kb.entries:
            user.state["misses"] = 0
            turn = self._answer(inc, self.kb.entries[arg], user, user.state.get("last_question"))
            turn.outcome = "pick"
            return turn
        if kind == "district":
            return self._set_district(inc, arg, user)
        if kind == "human":
            return self._human(inc, user, at)
        if kind == "topic":
            entries = self.kb.in_category(arg)
            if entries:
                user.state["last_question"] = None  # a browsed entry answers no question of the user's
                options = tuple(Option(e.question, f"pick:{e.id}") for e in entries)
                return self._say(inc, "topic", f"{arg}类常见问题：", options)
        if kind == "topics":
            return self._topics(inc)
        if kind == "satisfaction":
            number, _, level = arg.partition(":")
            return self._rate(inc, number, level, at, delivering)
        if kind == "feedback":
            vote, _, faq_id = arg.partition(":")
            return self._feedback(inc, vote, faq_id, user)
        logger.warning("unknown action %r from %s", action, inc.address.channel)
        return self._say(inc, "unknown_action", "抱歉，这个选项已失效，请直接输入您的问题。")


def handed_over(ticket: Ticket, lead: str, route: str) -> str:
    """What the enterprise reads when a ticket is opened: its number, who handles it, by when, and how (`route`)."""
    return (
        f"{lead}，工单号：{ticket.number}。\n"
        f"承办：{ticket.department}（{ticket.tier}类）。"
        + (f"预计在{format_due(ticket.due_at)}前答复" if ticket.due_at else "工作人员会尽快答复")
        + f"（按工作日计算，节假日顺延）。{route}"
    )


def welcome_back(where: str) -> str:
    return f"您好，欢迎回来！将{where}答复（回复“切换区县”可更改）。请直接输入您想咨询的复工复产政策问题。"


def _own(inc: Incoming, decide: Callable[[Ticket], Change]) -> Callable[[Ticket], Change]:
    """Only the enterprise that asked may rate its ticket; anyone else is told it does not exist."""

    def checked(ticket: Ticket) -> Change:
        if (ticket.channel, ticket.user_id) != (inc.address.channel, inc.user_id):
            raise TicketNotFound(f"没有找到工单 {ticket.number}")
        return decide(ticket)

    return checked
