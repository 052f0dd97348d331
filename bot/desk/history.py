"""Which history events close a ticket: the one definition the daily digest and the weekly report count by."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from bot.desk.tickets import ACTION_NAMES

K = TypeVar("K")
LEGACY_RATING = "评价"  # histories written before 满意 and 不满意 had events of their own: the level is the detail
CLOSING_EVENTS = frozenset({ACTION_NAMES["close"], ACTION_NAMES["satisfied"]})
REOPENING_EVENTS = frozenset({ACTION_NAMES["reopen"], ACTION_NAMES["unsatisfied"], "重新打开"})  # and its old name
RATING_EVENTS = frozenset({ACTION_NAMES["satisfied"], ACTION_NAMES["unsatisfied"], LEGACY_RATING})


def event_closes(action: str, detail: str | None) -> bool | None:
    """True if a history event closes its ticket, False if it reopens it, None if it does neither."""
    if action == LEGACY_RATING:
        return None if not detail else detail != "不满意"
    if action in CLOSING_EVENTS:
        return True
    if action in REOPENING_EVENTS:
        return False
    return None


def closed_tickets(events: Iterable[tuple[K, str, str | None]]) -> set[K]:
    """The tickets a run of (ticket, action, detail) events in time order leaves closed.

    Each ticket's last closing or reopening event decides, so a 不满意 or a 重办 after a close is not counted.
    """
    closed: dict[K, bool] = {}
    for key, action, detail in events:
        if (closes := event_closes(action, detail)) is not None:
            closed[key] = closes
    return {key for key, is_closed in closed.items() if is_closed}
