"""What makes a signed WeChat push fresh: its timestamp near now, and its (timestamp, nonce) used once.

WeChat's query signature covers only token, timestamp and nonce, not the body. A query string captured once
(a proxy log) would sign any body forever; so a timestamp more than `window` seconds from now is refused, and
inside the window each (timestamp, nonce) is remembered with a digest of its body: the same pair with another
body is a forgery, the same body again is WeChat's own retry (answered from the store like any re-delivery).

The memory is per process: a deployment with several endpoint processes behind one URL should route by
nonce or accept that a replay inside the 5-minute window may reach another process once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

WINDOW_SECONDS = 300


class ReplayGuard:
    """Freshness of a push's timestamp and single use of its (timestamp, nonce)."""

    def __init__(self, window: int = WINDOW_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self.window = window
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[float, bytes]] = {}  # insertion order = arrival order

    def fresh(self, timestamp: str) -> bool:
        """Whether `timestamp` (Unix seconds, as WeChat sends it) is within the window around now."""
        try:
            at = int(timestamp)
        except ValueError:
            return False
        return abs(self.clock() - at) <= self.window

    def admit(self, timestamp: str, nonce: str, body: bytes) -> bool:
        """False when this (timestamp, nonce) came before with a different body; remembers it otherwise."""
        now = self.clock()
        self._forget(now)
        digest = hashlib.sha256(body).digest()
        seen = self._seen.get((timestamp, nonce))
        if seen is not None:
            return seen[1] == digest
        self._seen[(timestamp, nonce)] = (now, digest)
        return True

    def _forget(self, now: float) -> None:
        """Drop pairs older than twice the window: their timestamps can no longer be fresh."""
        horizon = now - 2 * self.window
        while self._seen:
            key, (arrived, _) = next(iter(self._seen.items()))
            if arrived >= horizon:
                return
            del self._seen[key]
