"""What makes a signed WeChat push fresh: its timestamp near now, and its (timestamp, nonce) used once.

WeChat's query signature covers only token, timestamp and nonce, not the body. A query string captured once
(a proxy log) would sign any body forever; so a timestamp more than `window` seconds from now is refused, and
each (timestamp, nonce) is remembered with a hash of its body in the database (`Store.claim_nonce`), shared by
every endpoint process and kept across restarts: the same pair with another body is a forgery, the same body
again is WeChat's own retry (answered from the store like any re-delivery). A pair is forgotten once its
timestamp can no longer be fresh.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from bot.store.interfaces import Nonces

WINDOW_SECONDS = 300


class ReplayGuard:
    """Freshness of a push's timestamp and single use of its (timestamp, nonce)."""

    def __init__(self, store: Nonces, window: int = WINDOW_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.window = window
        self.clock = clock

    def fresh(self, timestamp: str) -> bool:
        """Whether `timestamp` (Unix seconds, as WeChat sends it) is within the window around now."""
        try:
            at = int(timestamp)
        except ValueError:
            return False
        return abs(self.clock() - at) <= self.window

    def admit(self, timestamp: str, nonce: str, body: bytes) -> bool:
        """False when this fresh (timestamp, nonce) came before with a different body; remembers it otherwise."""
        digest = hashlib.sha256(body).hexdigest()
        return self.store.claim_nonce(int(timestamp), nonce, digest, int(self.clock()) - self.window)
