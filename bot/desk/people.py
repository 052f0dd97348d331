"""Who acts on the desk and who may: kept apart from the staff service so a channel's gate can use it alone."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Staff:
    """Who acts: a channel user, or a desk worker's name on the CLI."""

    channel: str
    user_id: str

    @property
    def id(self) -> str:
        """How the person appears as assignee and in the history."""
        return self.user_id if self.channel == "cli" else f"{self.channel}:{self.user_id}"


@dataclass(frozen=True)
class StaffDirectory:
    """The configured staff: bare ids or `channel:id` (STAFF_USER_IDS).

    With no list configured the CLI desk (local database access) is trusted and no chat user is staff.
    """

    ids: frozenset[str] = frozenset()

    def allows(self, staff: Staff) -> bool:
        if staff.channel == "cli" and not self.ids:
            return bool(staff.user_id.strip())
        return staff.user_id in self.ids or staff.id in self.ids
