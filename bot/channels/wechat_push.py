"""Reading a WeChat push at the edge: signature, freshness, size, decryption and safe XML, or a refusal.

Bad signature, a timestamp more than 5 minutes from now, a (timestamp, nonce) reused with another body
(remembered in the database, so by every process), or a plaintext push while safe mode is configured →
`Forbidden` (403, wechat_replay.py); oversized, malformed, DTD/entity-laden XML or undecryptable payloads →
`BadRequest` (400).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot.channels.wechat_config import WeChatConfig
from bot.channels.wechat_crypto import MessageCrypto, NotForUs, Undecryptable
from bot.channels.wechat_replay import ReplayGuard
from bot.channels.wechat_translate import BadRequest
from bot.channels.wechat_xml import parse_xml
from bot.store.interfaces import Nonces


class Forbidden(ValueError):
    """The push is not signed with our token (→ 403)."""


class PushReader:
    """Checks and opens pushes for one account: its token, its AES key (safe mode) and the shared nonce record."""

    def __init__(self, config: WeChatConfig, store: Nonces) -> None:
        self.config = config
        self.crypto = MessageCrypto(config.token, config.aes_key, config.app_id or "") if config.aes_key else None
        self.replay = ReplayGuard(store)  # (timestamp, nonce) → body, in the database

    def check(self, q: Mapping[str, str]) -> None:
        """Forbidden unless the query is signed with our token and its timestamp is fresh (the URL check too)."""
        try:
            check_signature(self.config.token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
        except InvalidSignatureException:
            raise Forbidden("bad signature") from None
        if not self.replay.fresh(q.get("timestamp", "")):
            raise Forbidden(f"timestamp {q.get('timestamp', '')[:20]!r} outside ±{self.replay.window} s")

    async def read(self, request: web.Request) -> tuple[dict[str, str], bool]:
        """The pushed message as a dict, signature checked and decrypted; whether it came encrypted."""
        q = request.query
        self.check(q)
        if (request.content_length or 0) > self.config.max_body:
            raise BadRequest(f"body of {request.content_length} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise BadRequest("oversized body") from None
        if not await asyncio.to_thread(self.replay.admit, q.get("timestamp", ""), q.get("nonce", ""), body):
            raise Forbidden("timestamp and nonce reused with another body")
        msg = parse_xml(body)
        if q.get("encrypt_type", "raw").lower() != "aes":
            if self.crypto is not None:
                raise Forbidden("plaintext push while safe mode (WECHAT_AES_KEY) is configured")
            return msg, False
        if self.crypto is None:
            raise BadRequest("encrypted push but WECHAT_AES_KEY is not set")
        if "Encrypt" not in msg:
            raise BadRequest("encrypted push without <Encrypt>")
        try:
            plain = self.crypto.decrypt(
                msg["Encrypt"], q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
            )
        except NotForUs as exc:
            raise Forbidden(str(exc)) from None
        except Undecryptable as exc:
            raise BadRequest(f"undecryptable payload: {exc}") from None
        return parse_xml(plain), True
