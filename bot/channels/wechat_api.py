"""The Official Account HTTP API we call: a cached access token and customer-service (客服) text messages.

Errors are typed at this edge: `ApiError.permanent` says whether sending the same message again can ever
work (the user unfollowed, the 48-hour window closed, the quota is used), so the caller can flag the ticket
instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TOKEN_EXPIRED = frozenset({40001, 40014, 42001})  # invalid / expired access token: fetch a new one and retry once
PERMANENT = frozenset(
    {
        40003,  # invalid openid
        43004,  # the user does not follow the account (unsubscribed)
        45015,  # response out of time limit: the 48-hour window is closed
        45047,  # out of response count limit: the window's messages are used
        45002,  # content too long
    }
)
REFRESH_MARGIN = 300.0  # seconds before expiry that a token is renewed


class ApiError(RuntimeError):
    """The WeChat API refused or could not be reached; `errcode` 0 means a transport failure."""

    def __init__(self, message: str, errcode: int = 0) -> None:
        super().__init__(message)
        self.errcode = errcode

    @property
    def permanent(self) -> bool:
        return self.errcode in PERMANENT


class WeChatApi:
    """Access token (stable_token, cached and refreshed) and message/custom/send on one aiohttp session."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.monotonic = monotonic
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def _call(self, method: str, path: str, params: dict[str, str], body: dict[str, Any] | None) -> Any:
        """One API call; the JSON answer, or ApiError for transport failures and non-zero errcodes."""
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        try:
            async with self._http().request(
                method, self.base_url + path, params=params, data=data, headers=headers
            ) as resp:
                if resp.status >= 400:
                    raise ApiError(f"{path}: HTTP {resp.status}")
                answer = json.loads(await resp.read())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ApiError(f"{path}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(answer, dict):
            raise ApiError(f"{path}: unexpected answer")
        errcode = int(answer.get("errcode") or 0)
        if errcode:
            raise ApiError(f"{path}: errcode {errcode} {answer.get('errmsg', '')}", errcode)
        return answer

    async def access_token(self) -> str:
        """A valid access token; fetched once for concurrent callers and renewed before it expires."""
        async with self._token_lock:
            if self._token and self.monotonic() < self._token_expires:
                return self._token
            body = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
            answer = await self._call("POST", "/cgi-bin/stable_token", {}, body)
            token = answer.get("access_token")
            if not isinstance(token, str) or not token:
                raise ApiError("/cgi-bin/stable_token: no access_token in answer")
            expires_in = float(answer.get("expires_in") or 7200)
            self._token = token
            self._token_expires = self.monotonic() + max(expires_in - REFRESH_MARGIN, expires_in / 2)
            logger.info("wechat access token renewed, valid %.0f s", expires_in)
            return token

    async def send_text(self, openid: str, text: str) -> None:
        """Send one customer-service text message; an expired token is renewed and the call repeated once."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        token = await self.access_token()
        try:
            await self._call("POST", "/cgi-bin/message/custom/send", {"access_token": token}, body)
        except ApiError as exc:
            if exc.errcode not in TOKEN_EXPIRED:
                raise
            logger.info("wechat access token rejected (errcode %s), renewing", exc.errcode)
            async with self._token_lock:
                if self._token == token:
                    self._token = None
            token = await self.access_token()
            await self._call("POST", "/cgi-bin/message/custom/send", {"access_token": token}, body)
