"""One message cut into parts a channel accepts: Telegram counts characters, WeChat counts UTF-8 bytes."""

from __future__ import annotations

from collections.abc import Callable

Size = Callable[[str], int]


def utf8_bytes(text: str) -> int:
    return len(text.encode())


def split_text(text: str, limit: int, size: Size = len) -> list[str]:
    """Parts of at most `limit` (as `size` measures), cut at line ends where possible; never an empty part."""
    if size(text) <= limit:  # nearly every answer
        return [text.strip("\n") or "…"]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while size(line) > limit:  # a single overlong line: cut inside it
            cut = _longest_prefix(line, limit, size)
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        if size(current + line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current:
        parts.append(current)
    return [p.strip("\n") or "…" for p in parts]


def _longest_prefix(line: str, limit: int, size: Size) -> int:
    """The most characters of `line` whose size fits `limit` (binary search: size grows with length)."""
    lo, hi = 1, len(line)  # one character always goes, so the loop ends even if it alone is too big
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if size(line[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo
