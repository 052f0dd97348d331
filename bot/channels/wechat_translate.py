"""WeChat's pushes as the core's `Incoming`, and the core's replies as the one text of a passive reply.

Fields no WeChat push carries (an openid or MsgId of the wrong shape) are refused as `BadRequest` (→ 400):
they come from someone else, and the store's columns are sized for what WeChat sends.
"""

from __future__ import annotations

import re

from bot.channels.wechat_sender import split_text
from bot.dialog.render import as_text
from bot.models import Address, Incoming, Outgoing

CHANNEL = "wechat"
NONTEXT_KINDS = ("image", "voice", "video", "shortvideo", "location", "link", "file")
OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # real openids are 28 such characters; the users table holds 64
MSG_ID = re.compile(r"[0-9]{1,64}")  # WeChat's MsgId is a 64-bit number


class BadRequest(ValueError):
    """The push cannot be read (→ 400)."""


def to_incoming(msg: dict[str, str]) -> Incoming | None:
    """The core's view of a pushed message; None for pushes that need no answer (unsubscribe, reports)."""
    openid = msg.get("FromUserName") or ""
    kind = msg.get("MsgType", "").lower()
    if not openid or not kind:
        raise BadRequest("message without FromUserName or MsgType")
    if not OPENID.fullmatch(openid):
        raise BadRequest(f"FromUserName of {len(openid)} characters is no openid")
    address = Address(CHANNEL, openid)
    msg_id = msg.get("MsgId") or None
    if msg_id is not None and not MSG_ID.fullmatch(msg_id):
        raise BadRequest(f"MsgId of {len(msg_id)} characters is no message id")
    if not MSG_ID.fullmatch(msg.get("CreateTime") or "0"):
        raise BadRequest("CreateTime is not a number")
    if kind == "text":
        return Incoming(address, openid, msg.get("Content", ""), message_id=msg_id)
    if kind == "voice" and msg.get("Recognition"):  # speech recognition is on: treat as what was said
        return Incoming(address, openid, msg["Recognition"], message_id=msg_id)
    if kind == "event":
        event = msg.get("Event", "").lower()
        event_id = f"{event}:{msg.get('CreateTime', '')}"  # events have no MsgId; WeChat dedups on user + time
        if event == "subscribe":
            return Incoming(address, openid, "subscribe", kind="event", message_id=event_id)
        if event == "click" and msg.get("EventKey"):  # a menu button whose key is a question or a command
            return Incoming(address, openid, msg["EventKey"], message_id=event_id)
        return None
    return Incoming(address, openid, kind=kind if kind in NONTEXT_KINDS else "file", message_id=msg_id)


def render(replies: list[Outgoing]) -> str:
    """All replies of one exchange as one text (a passive reply carries exactly one message).

    The 有帮助/没帮助 line is left out where it alone would push the text past one message: the rest would need
    a customer-service message (one of five in the window, none without WECHAT_APP_SECRET). The words still work.
    """
    text = "\n\n".join(as_text(o) for o in replies)
    plain = "\n\n".join(as_text(o, vote_hint=False) for o in replies)
    return plain if len(split_text(text)) > len(split_text(plain)) else text
