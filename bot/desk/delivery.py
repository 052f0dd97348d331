"""The contract between the core's outgoing messages and the channels that deliver them later.

Staff answers are produced outside a user's own exchange (by another process even), so they are queued and
each running channel adapter delivers the ones addressed to its channel through a `Sender`.
"""

from __future__ import annotations

from typing import Protocol

from bot.models import Outgoing


class DeliveryError(RuntimeError):
    """A message could not be delivered now; `permanent` says whether trying again is pointless."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sender(Protocol):
    channel: str

    async def send(self, out: Outgoing) -> None:
        """Deliver one message to `out.address`; raise DeliveryError on failure."""
        ...
