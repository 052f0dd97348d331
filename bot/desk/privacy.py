"""Personal data in staff views: masked by default, shown whole only to the ticket's own handler, on record.

Lists, Telegram cards, reminders and the CSV export show a ticket with its question and contact masked
(138****5678, 张**), as the weekly report does. The staff member the ticket is assigned to needs the
enterprise's contact to call back: `show` gives them the full values, and `StaffService.show` records that
reveal in the ticket's history.
"""

from __future__ import annotations

from dataclasses import replace

from bot.desk.mask import mask
from bot.models import Ticket


def mask_contact(contact: str | None) -> str | None:
    """A contact with its numbers masked; anything the rules do not recognise keeps only its first character."""
    if not contact or "*" in contact:  # empty, or masked already
        return contact
    masked = mask(contact)
    if masked != contact or len(contact) < 2:
        return masked
    return contact[0] + "*" * (len(contact) - 1)


def masked(ticket: Ticket) -> Ticket:
    """The ticket as lists, cards and exports show it."""
    return replace(ticket, question=mask(ticket.question), contact=mask_contact(ticket.contact))


def masked_turns(turns: list[dict[str, str]]) -> list[dict[str, str]]:
    """A ticket's conversation context with personal data masked in each turn."""
    return [{**turn, "text": mask(turn.get("text", ""))} for turn in turns]


def has_personal_data(ticket: Ticket, turns: list[dict[str, str]]) -> bool:
    """Whether showing the ticket whole reveals anything masking would hide."""
    return masked(ticket) != ticket or masked_turns(turns) != turns
