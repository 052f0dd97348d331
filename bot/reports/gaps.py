"""Find the week's gaps: questions escalated or only suggested, grouped by need, each with a proposal.

A cluster becomes "new alternates for an existing entry" when users picked that entry from the suggestions
or it scored as an answer would, and at least one of its phrasings is itself close to the entry (one of its
three best lexical matches with at least the suggestion score, and a topic word in common — not 企业 or 办理);
only those phrasings are proposed, each with why. Otherwise "a new entry", drafted from the questions and from
what staff answered on the tickets they opened — never from an answer the enterprise rated 不满意.

Junk (emoji, bare numbers, mash, chit-chat: `bot.answering.intake.is_junk`) is not a gap: it never joins a cluster.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from bot.answering.intake import is_frame_word, is_junk
from bot.answering.kb import KnowledgeBase
from bot.answering.matcher import Matcher
from bot.desk.mask import mask, strip
from bot.models import FaqEntry
from bot.reports.clusters import Text, group
from bot.reports.data import EventRow, Turn, WeekData
from bot.reports.model import Alternate, Cluster
from bot.reports.ticket_stats import ANSWER_ACTIONS

_SPACES = re.compile(r"\s+")
_EDGE_PUNCT = "，,。.！!？?、；;：: "
SHARED_WEIGHT = 2.0  # a shared word counts as evidence from this weight (idf) up: not 企业, 期间, 疫情 …
UNSATISFIED = "不满意"


@dataclass(frozen=True, slots=True)
class GapItem:
    """One gap question with what followed it in its chat."""

    turn: Turn
    text: str  # the question as asked
    name: str | None  # the user's display name, masked in examples
    picked: str | None  # the entry the user then picked from the suggestions
    escalated: bool
    ticket_id: int | None


def by_chat(turns: list[Turn]) -> Iterator[list[Turn]]:
    chat: list[Turn] = []
    for t in turns:
        if chat and (chat[-1].channel, chat[-1].chat_id) != (t.channel, t.chat_id):
            yield chat
            chat = []
        chat.append(t)
    if chat:
        yield chat


def gap_items(data: WeekData) -> list[GapItem]:
    """Suggested or escalated questions, in time order, with the user's next step (pick or 转人工)."""
    items: list[GapItem] = []
    junk: dict[str, bool] = {}  # the same text is asked many times a week
    for whole in by_chat(data.turns):
        chat = [t for t in whole if t.outcome != "junk"]  # "👌" between a suggestion and the pick says nothing
        for i, turn in enumerate(chat):
            if not turn.is_question or turn.outcome == "answer":
                continue
            nxt = chat[i + 1] if i + 1 < len(chat) else None
            picked = nxt.faq_id if nxt is not None and nxt.outcome == "pick" else None
            human = nxt is not None and nxt.outcome == "escalate" and not nxt.is_question
            ticket_id = turn.ticket_id or (nxt.ticket_id if human and nxt else None)
            text = turn.text.strip()
            if ticket_id in data.tickets:  # what a person had to answer: of several questions, only the unanswered
                text = data.tickets[ticket_id].question
            if text not in junk:
                junk[text] = is_junk(text)
            if junk[text]:  # "👍", "1", "哈哈": nothing an FAQ entry could answer
                continue
            name = data.names.get((turn.channel, turn.user_id or ""))
            items.append(GapItem(turn, text, name, picked, turn.outcome == "escalate" or human, ticket_id))
    items.sort(key=lambda g: (g.turn.at, g.turn.id))
    return items


def tidy(text: str) -> str:
    """One line, no leading/trailing punctuation, ending with a full-width question mark."""
    text = _SPACES.sub(" ", text).strip(_EDGE_PUNCT)
    return f"{text}？" if text else ""


class GapFinder:
    """Clusters gap questions and proposes an FAQ change for each cluster."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher, answer_score: float) -> None:
        self.kb = kb
        self.matcher = matcher
        self.answer_score = answer_score
        self._analysed: dict[str, Text] = {}

    def text_of(self, stripped: str) -> Text:
        cached = self._analysed.get(stripped)
        if cached is None:
            norm, weights = self.matcher.analyse(stripped)
            cached = self._analysed[stripped] = Text(norm.replace(" ", ""), weights)
        return cached

    def clusters(self, data: WeekData) -> tuple[int, list[Cluster]]:
        """(number of gap questions, clusters largest first)."""
        items = gap_items(data)
        stripped = [strip(g.text, [g.name] if g.name else ()) for g in items]
        groups = group([self.text_of(s) for s in stripped])
        answers = _staff_answers(data)
        out = [
            self._cluster(n, [items[i] for i in members], [stripped[i] for i in members], data, answers)
            for n, members in enumerate(groups, 1)
        ]
        return len(items), out

    def _closest(self, items: list[GapItem], representative: str) -> tuple[str | None, float]:
        picks = Counter(g.picked for g in items if g.picked in self.kb.entries)
        if picks:
            faq_id, n = picks.most_common(1)[0]
            if n * 2 >= sum(picks.values()):
                scores = [c.score for g in items for c in g.turn.candidates if c.id == faq_id]
                return faq_id, max(scores, default=0.0)
        total: dict[str, float] = defaultdict(float)
        best: dict[str, float] = defaultdict(float)
        for g in items:
            for c in g.turn.candidates:
                if c.id in self.kb.entries:
                    total[c.id] += c.score
                    best[c.id] = max(best[c.id], c.score)
        if not total:
            for c in self.matcher.match(representative).candidates:
                if c.id in self.kb.entries:
                    total[c.id], best[c.id] = c.score, c.score
        if not total:
            return None, 0.0
        faq_id = max(sorted(total), key=total.__getitem__)
        return faq_id, best[faq_id]

    def _cluster(
        self,
        number: int,
        items: list[GapItem],
        stripped: list[str],
        data: WeekData,
        answers: dict[int, str],
    ) -> Cluster:
        masked = Counter(mask(g.text, [g.name] if g.name else ()) for g in items)
        plain = Counter(t for t in (tidy(s) for s in stripped) if t)
        ranked = sorted(plain, key=lambda t: (-plain[t], len(t), t))
        representative = ranked[0] if ranked else tidy(masked.most_common(1)[0][0])
        closest_id, score = self._closest(items, representative)
        entry = self.kb.entries.get(closest_id) if closest_id else None
        picked_it = any(g.picked == closest_id for g in items) if closest_id else False
        close = self._alternates(entry, items, stripped, ranked) if entry else []
        action = "alternates" if entry and (picked_it or score >= self.answer_score) and close else "new"
        ticket_ids = sorted({g.ticket_id for g in items if g.ticket_id is not None})
        tickets = [data.tickets[t] for t in ticket_ids if t in data.tickets]
        answered = [t for t in reversed(tickets) if t.id in answers]
        departments = Counter(t.department for t in (answered[:1] or tickets) if t.department)
        staff = [answers[t.id] for t in answered]
        names = [g.name for g in items if g.name]
        return Cluster(
            number=number,
            size=len(items),
            escalated=sum(g.escalated for g in items),
            examples=tuple(t for t, _ in sorted(masked.items(), key=lambda x: -x[1])[:3]),  # ties: first asked first
            phrasings=tuple(a.text for a in close) if action == "alternates" else tuple(ranked[:10]),
            closest_id=closest_id,
            closest_question=entry.question if entry else None,
            closest_score=round(score, 1),
            action=action,
            draft_question=mask(representative, names),
            draft_answer=mask(staff[0], names) if staff else None,
            department=departments.most_common(1)[0][0] if departments else (entry.department if entry else None),
            category=entry.category if entry else None,
            tickets=tuple(t.number for t in tickets),
            alternates=tuple(close) if action == "alternates" else (),
        )

    def _alternates(
        self, entry: FaqEntry, items: list[GapItem], stripped: list[str], ranked: list[str]
    ) -> list[Alternate]:
        """The cluster's phrasings that are themselves close to `entry`: among their own best lexical matches
        with at least the suggestion score, and sharing a topic word with it."""
        picked = {tidy(s) for g, s in zip(items, stripped, strict=True) if g.picked == entry.id}
        vocabulary = self._vocabulary(entry)
        out = []
        for text in ranked[:10]:
            score = self._lexical_score(entry.id, text)
            if score < self.matcher.thresholds.suggest:
                continue
            weights = self.text_of(strip(text)).weights
            shared = sorted(
                (w for w in weights.keys() & vocabulary if weights[w] >= SHARED_WEIGHT and not is_frame_word(w)),
                key=lambda w: -weights[w],
            )
            if shared:
                out.append(Alternate(text, round(score, 1), tuple(shared[:4]), text in picked))
        return out

    def _lexical_score(self, faq_id: str, text: str) -> float:
        """The entry's lexical score for `text` when it is one of the text's three best entries, else 0."""
        ranked = self.matcher.lexical(self.matcher.normalize.clean(text))
        best = [(i, score) for i, score in (ranked[0] if ranked else []) if i in self.kb.entries][:3]
        return next((score for i, score in best if i == faq_id), 0.0)

    def _vocabulary(self, entry: FaqEntry) -> set[str]:
        """The content words of an entry's question and alternates."""
        words: set[str] = set()
        for phrasing in (entry.question, *entry.alternates):
            words |= self.text_of(strip(phrasing)).weights.keys()
        return words


def _unsatisfied(e: EventRow) -> bool:
    """The enterprise rated the answer before this event 不满意 (as the action or as its detail)."""
    return UNSATISFIED in (e.action, e.detail)


def _staff_answers(data: WeekData) -> dict[int, str]:
    """Ticket id → the latest staff answer the enterprise did not reject (an answer rated 不满意 is no draft)."""
    latest: dict[int, str] = {}
    rejected: set[tuple[int, str]] = set()
    for e in data.events:
        if e.action in ANSWER_ACTIONS and e.detail:
            latest[e.ticket_id] = re.sub(r"^\[FAQ [^\]]+\]\s*", "", e.detail)
        elif _unsatisfied(e) and e.ticket_id in latest:
            rejected.add((e.ticket_id, latest[e.ticket_id]))
    for t in data.tickets.values():
        if t.answer:
            latest[t.id] = t.answer
            if t.satisfaction == UNSATISFIED:
                rejected.add((t.id, t.answer))
    return {ticket_id: a for ticket_id, a in latest.items() if (ticket_id, a) not in rejected}
