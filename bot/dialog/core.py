"""The channel-agnostic dialog core: one incoming message in, the replies out.

It never imports a channel library and never does network I/O; channels translate and deliver. Every
exchange is recorded atomically with the user's state, and a channel message seen before gets the replies
it got the first time, so re-deliveries neither answer twice nor open a second ticket.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from bot.answering.answer_text import format_answer
from bot.answering.intake import GREETING_RE, SMALLTALK_RE, bare, is_junk, split_questions
from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.answering.text import fold
from bot.config import TZ
from bot.desk.ticket_text import enterprise_line
from bot.desk.tickets import SATISFACTION, TicketPolicy
from bot.dialog.flood import FloodLimit
from bot.dialog.handover import PUSH_CHANNELS, Handover
from bot.dialog.several import SeveralQuestions
from bot.dialog.turn import Turn, say
from bot.dialog.words import (
    DISTRICT_ALIASES,
    DISTRICT_WORDS,
    EMPTY_REPLY,
    HELP_TEXT,
    HELP_WORDS,
    HELPFUL_WORDS,
    HUMAN_WORDS,
    JUNK_REPLY,
    MAX_QUESTION_CHARS,
    NO_MENU_REPLY,
    NO_VOTE_REPLY,
    NONTEXT_REPLY,
    OTHER_DISTRICT,
    START_WORDS,
    STATUS_WORDS,
    TOPIC_WORDS,
    UNHELPFUL_WORDS,
    WELCOME,
    district_options,
    numbered,
    welcome_back,
)
from bot.models import DISTRICTS, FaqEntry, Incoming, Option, Outcome, Outgoing
from bot.store.base import Exchange, UserState
from bot.store.interfaces import ConversationRecord

logger = logging.getLogger(__name__)


class Assistant:
    """Answers enterprise users: FAQ answers, suggestions, tickets, district, help and status."""

    def __init__(
        self,
        kb: KnowledgeBase,
        matcher: Matcher,
        store: ConversationRecord,
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
        self.handover = Handover(kb, store, self.policy, push_channels)
        self.several = SeveralQuestions(kb, matcher, lambda: self.today(), self.handover)

    @property
    def push_channels(self) -> frozenset[str]:
        """Channels that push a staff answer when it is given; every other one shows it at the user's next contact."""
        return self.handover.push_channels

    @push_channels.setter
    def push_channels(self, channels: frozenset[str]) -> None:
        self.handover.push_channels = channels

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
            return say(inc, "nontext", NONTEXT_REPLY, (Option("转人工", "human", "human"),))
        text = inc.text.strip()
        if not text:
            return say(inc, "empty", EMPTY_REPLY)
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
            return say(inc, "help", HELP_TEXT)
        if word in STATUS_WORDS:
            return self._status(inc)
        if word in TOPIC_WORDS:
            return self._topics(inc)
        if word in DISTRICT_WORDS:
            return say(inc, "district_prompt", "请选择企业所在的区县：", district_options())
        if word in DISTRICTS or word in DISTRICT_ALIASES or word == OTHER_DISTRICT:
            return self._set_district(inc, DISTRICT_ALIASES.get(word, word), user)
        if word in HUMAN_WORDS:
            return self.handover.human(inc, user, at)
        if word in SATISFACTION and self.handover.awaiting_rating(inc):
            return self.handover.rate(inc, None, word, at, delivering)
        if word in (*HELPFUL_WORDS, *UNHELPFUL_WORDS):
            last_answer = user.state.get("last_answer")
            if last_answer in self.kb.entries:
                return self._feedback(inc, "up" if word in HELPFUL_WORDS else "down", last_answer, user)
            return say(inc, "junk", NO_VOTE_REPLY)  # never a ticket titled “没帮助”
        if word.startswith("/"):
            return say(inc, "unknown_command", "抱歉，没有这个命令。" + HELP_TEXT)
        talk = bare(word)  # "谢谢🙏" is thanks too
        if talk and not SMALLTALK_RE.sub("", GREETING_RE.sub("", talk)):
            if GREETING_RE.search(talk):
                return say(inc, "greeting", "您好！请直接输入您想咨询的复工复产政策问题。")
            if "谢" in talk:
                return say(inc, "thanks", "不客气！还有其他问题可以随时问我。")
            return say(inc, "thanks", "好的。还有其他问题可以随时问我。")
        return None

    def _junk(self, inc: Incoming, text: str, menu: int) -> Turn:
        """A friendly word for a message with nothing to answer; recorded as junk, never a ticket or a gap."""
        if bare(text).isdigit():
            hint = f"请回复列表中的编号（1–{menu}），或直接输入您的问题。" if menu else NO_MENU_REPLY
            return say(inc, "junk", hint)
        return say(inc, "junk", JUNK_REPLY)

    def _start(self, inc: Incoming, user: UserState) -> Turn:
        """The welcome; a user whose district is known already is not asked for it again."""
        if not (user.district or user.state.get("district_set")):
            return say(inc, "welcome", WELCOME, district_options())
        where = f"按{user.district}的口径" if user.district else "按省、市通用口径"
        return say(inc, "welcome", welcome_back(where))

    def _remember_district(self, text: str, user: UserState) -> None:
        """A district named in a question is remembered, so the answer uses its wording."""
        for alias, district in (*((d, d) for d in DISTRICTS), *DISTRICT_ALIASES.items()):
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
        return say(inc, "district", text)

    def _status(self, inc: Incoming) -> Turn:
        tickets = self.store.tickets_of(inc.address.channel, inc.user_id)
        if not tickets:
            return say(inc, "status", "您目前没有工单。需要人工帮助时请回复“转人工”。")
        lines = ["您的工单："]
        lines += [enterprise_line(t) for t in tickets]
        return say(inc, "status", "\n".join(lines))

    def _topics(self, inc: Incoming) -> Turn:
        options = tuple(Option(c, f"topic:{c}", "topic") for c in self.kb.categories)
        return say(inc, "topics", "请选择问题类别：", options)

    # ---- questions, answers and tickets ------------------------------------------------------------------

    def _question(self, inc: Incoming, text: str, user: UserState, at: dt.datetime) -> Turn:
        parts = split_questions(text)
        if len(parts) > 1 and (turn := self.several.answer(inc, text, parts, user, at)) is not None:
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
            turn = say(
                inc,
                "suggest",
                "没有找到完全对应的答案，您想问的是下面哪一个？都不是请回复“转人工”。",
                (*options, Option("都不是，转人工", "human", "human")),
            )
            turn.score, turn.candidates = match.score, match.candidates
            return turn
        turn = self.handover.open_ticket(inc, text, user, at, match.candidates)
        turn.score = match.score
        return turn

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
            return self.handover.human(inc, user, at)
        if kind == "topic":
            entries = self.kb.in_category(arg)
            if entries:
                user.state["last_question"] = None  # a browsed entry answers no question of the user's
                options = tuple(Option(e.question, f"pick:{e.id}") for e in entries)
                return say(inc, "topic", f"{arg}类常见问题：", options)
        if kind == "topics":
            return self._topics(inc)
        if kind == "satisfaction":
            number, _, level = arg.partition(":")
            return self.handover.rate(inc, number, level, at, delivering)
        if kind == "feedback":
            vote, _, faq_id = arg.partition(":")
            return self._feedback(inc, vote, faq_id, user)
        logger.warning("unknown action %r from %s", action, inc.address.channel)
        return say(inc, "unknown_action", "抱歉，这个选项已失效，请直接输入您的问题。")
