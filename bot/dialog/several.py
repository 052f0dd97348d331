"""Several questions in one message: each part answered, offered choices for, or handed to a person.

Up to MAX_PARTS parts are matched one by one; parts that lead to one entry are one question. What a person must
answer goes into one ticket whose question is just those parts, and the reply says which part went where.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.answering.answer_text import format_answer
from bot.answering.intake import join_questions
from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.dialog.handover import Handover
from bot.dialog.turn import Turn
from bot.dialog.words import MAX_PARTS, MAX_QUESTION_CHARS, handed_over
from bot.models import Incoming, Match, Option, Outcome, Outgoing, Ticket
from bot.store.base import UserState


@dataclass(frozen=True)
class _Part:
    """One question of a message with several, numbered as the user reads them, and the matcher's decision."""

    n: int
    question: str
    match: Match
    beyond: bool = False  # past MAX_PARTS: not matched, handed to a person


class SeveralQuestions:
    """Answers a message that asks several things; `today` dates the answers' validity."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher, today: Callable[[], dt.date], handover: Handover) -> None:
        self.kb = kb
        self.matcher = matcher
        self.today = today
        self.handover = handover

    def answer(self, inc: Incoming, text: str, parts: list[str], user: UserState, at: dt.datetime) -> Turn | None:
        """Several questions in one message: each answered or suggested for, the rest in one ticket.

        None when the parts all lead to one entry: they were one question after all, answered as a whole.
        """
        decided = self._decide(parts)
        if len(decided) == 1:
            return None
        settled = all(p.match.outcome is Outcome.ANSWER for p in decided)
        misses = user.state["misses"] = 0 if settled else int(user.state.get("misses") or 0) + 1
        answered = [p for p in decided if p.match.outcome is Outcome.ANSWER and p.match.id]
        suggested = [p for p in decided if p.match.outcome is Outcome.SUGGEST and misses < 2]
        handed = [p for p in decided if p not in answered and p not in suggested]
        replies = [self._answer(inc, p, user) for p in answered]
        ticket, notice = self._hand_over(inc, text, handed, user, at) if handed else (None, "")
        if suggested:
            replies.append(self._suggestions(inc, notice, suggested))
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

    def _decide(self, parts: list[str]) -> list[_Part]:
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

    def _answer(self, inc: Incoming, part: _Part, user: UserState) -> Outgoing:
        """One part's answer, headed by the part; no numbered follow-ups, so the one numbered list stays clear."""
        entry = self.kb.entries[str(part.match.id)]
        user.state["last_answer"] = entry.id
        text = f"问题{part.n}：{part.question}\n{format_answer(entry, user.district, self.today())}"
        feedback = (
            Option("👍有帮助", f"feedback:up:{entry.id}", "feedback"),
            Option("👎没帮助", f"feedback:down:{entry.id}", "feedback"),
        )
        return Outgoing(inc.address, text, feedback)

    def _suggestions(self, inc: Incoming, notice: str, suggested: list[_Part]) -> Outgoing:
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
        ticket = self.handover.ticket(inc, question, user, at, handed[0].match.candidates, message=text)
        parts = "、".join(f"问题{p.n}「{p.question}」" for p in handed)
        lead = f"{parts}需要工作人员答复，已{'一并' if len(handed) > 1 else ''}转交处理"
        beyond = f"一次最多逐一答复{MAX_PARTS}个问题。\n" if any(p.beyond for p in handed) else ""
        return ticket, beyond + handed_over(ticket, lead, self.handover.reply_route(inc))
