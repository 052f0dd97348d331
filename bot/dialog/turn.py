"""What the core decided for one incoming message, before it is recorded."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.models import Candidate, Incoming, Option, Outgoing, Ticket


@dataclass
class Turn:
    """The outcome the exchange is recorded with, the replies, and what the decision rested on."""

    outcome: str
    replies: list[Outgoing] = field(default_factory=list)
    faq_id: str | None = None
    score: float | None = None
    candidates: tuple[Candidate, ...] = ()
    ticket: Ticket | None = None


def say(inc: Incoming, outcome: str, text: str, options: tuple[Option, ...] = ()) -> Turn:
    """A turn of one plain reply."""
    return Turn(outcome, [Outgoing(inc.address, text, options)])
