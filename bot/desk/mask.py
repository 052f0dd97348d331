"""Mask personal data in what reports and staff views show: phone and ID numbers, e-mail, bank cards, names.

Reports leave the bot (sent to a staff chat, opened in spreadsheets), so every example question and every
drafted answer goes through `mask()`; staff lists, cards and exports too (`bot/desk/privacy.py`). It lives outside
`bot/reports` so the desk's commands do not import the report machinery (and SQLAlchemy) to mask a line.
`strip()` removes the same spans entirely, so clustering is not driven by a phone number two questions share.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<!\d)(\d(?:[ -]?\d){15,18})(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{3,4})(\d{4})(?!\d)")
_NAME_CUE = re.compile(
    r"(我叫|我是|本人|姓名[:：]?|联系人[:：]?|名字[是叫:：]?|经办人[:：]?|法人[:：]?)\s*([\u4e00-\u9fff]{2,3})"
    r"(?=[，,。.！!？?、；;\s]|电话|手机|联系|身份|$)"
)


def _mask_card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def _mask_name(m: re.Match[str]) -> str:
    name = m.group(2)
    return m.group(1) + name[0] + "*" * (len(name) - 1)


def _mask_email(m: re.Match[str]) -> str:
    local, domain = m.group(0).split("@", 1)
    return local[0] + "***@" + domain


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_EMAIL, _mask_email),
    (_ID, lambda m: m.group(1) + "*" * 8 + m.group(3)),
    (_CARD, _mask_card),
    (_MOBILE, lambda m: m.group(1) + "****" + m.group(3)),
    (_LANDLINE, lambda m: m.group(1) + "-" + "*" * len(m.group(2)) + m.group(3)),
    (_NAME_CUE, _mask_name),
)


def mask(text: str, names: Iterable[str] = ()) -> str:
    """`text` with personal data partly hidden (138****5678, 张**); known user `names` hidden too."""
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, name[0] + "*" * (len(name) - 1))
    return text


def strip(text: str, names: Iterable[str] = ()) -> str:
    """`text` with personal data removed, for grouping questions by what they ask."""
    for pattern, _ in _RULES:
        text = pattern.sub(r"\1" if pattern is _NAME_CUE else " ", text)
    for name in {n for n in names if n and len(n) >= 2}:
        text = text.replace(name, " ")
    return text
