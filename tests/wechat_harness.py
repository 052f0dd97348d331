"""What the WeChat tests talk to: the endpoint on a real port, WeChat's side of the protocol, a fake API server.

`FakeWeChat` signs (and in safe mode encrypts) pushes with wechatpy exactly as WeChat's servers do and
decrypts the passive replies; `FakeApi` is the customer-service API on 127.0.0.1 that records what it got.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import httpx
from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.channels.wechat import WeChatEndpoint

T = TypeVar("T")
TOKEN = "fugong-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, like the admin page's EncodingAESKey
APP_ID = "wx0123456789abcdef"
ACCOUNT = "gh_fugong"  # the Official Account's own id (ToUserName of pushes)


def read_xml(text: str) -> dict[str, str]:
    """A flat WeChat XML message's fields, read with the standard library (not the endpoint's own parser)."""
    return {child.tag: child.text or "" for child in ElementTree.fromstring(text)}


class LoopThread:
    """An asyncio loop in a background thread, so sync tests can serve aiohttp apps on real sockets."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, app: web.Application) -> str:
        """Serve `app` on a free loopback port; its base URL."""

        async def start() -> str:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.runners.append(runner)
            port = runner.addresses[0][1]
            return f"http://127.0.0.1:{port}"

        return self.run(start())

    def close(self) -> None:
        async def stop() -> None:
            for runner in self.runners:
                await runner.cleanup()
            await asyncio.sleep(0)

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Reply:
    status: int
    body: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.fields.get("Content", "")


class FakeWeChat:
    """WeChat's servers pushing one follower's messages to our endpoint, signed and optionally encrypted."""

    _ids = itertools.count(7_000_000_000_000_000_001)

    def __init__(self, url: str, openid: str = "oFollower001", safe: bool = False, token: str = TOKEN) -> None:
        self.url = url
        self.openid = openid
        self.safe = safe
        self.token = token
        self.crypto = WeChatCrypto(token, AES_KEY, APP_ID)
        self.http = httpx.Client(timeout=15)

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def signature(*parts: str) -> str:
        signer = WeChatSigner()
        signer.add_data(*parts)
        return str(signer.signature)

    def xml(self, msg_type: str, msg_id: int | None = None, **fields: str) -> str:
        """A push as WeChat writes it."""
        body = {
            "ToUserName": ACCOUNT,
            "FromUserName": self.openid,
            "CreateTime": str(int(time.time())),
            "MsgType": msg_type,
            **fields,
        }
        if msg_type != "event":
            body["MsgId"] = str(msg_id if msg_id is not None else next(self._ids))
        return "<xml>" + "".join(f"<{k}><![CDATA[{escape(v)}]]></{k}>" for k, v in body.items()) + "</xml>"

    def post(
        self,
        xml: str | bytes,
        *,
        signature: str | None = None,
        msg_signature: str | None = None,
        timestamp: str | None = None,
        nonce: str | None = None,
    ) -> Reply:
        """POST a push (encrypted in safe mode); the reply, decrypted and parsed when it is XML.

        `timestamp` and `nonce` default to now and a fresh value; given, they replay a captured query string.
        """
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or f"n{next(self._ids)}"
        params = {"timestamp": timestamp, "nonce": nonce}
        params["signature"] = signature or self.signature(self.token, timestamp, nonce)
        data = xml if isinstance(xml, bytes) else xml.encode()
        if self.safe:
            envelope = read_xml(self.crypto.encrypt_message(xml, nonce, timestamp))
            params["encrypt_type"] = "aes"
            params["msg_signature"] = msg_signature or envelope["MsgSignature"]
            data = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>".encode()  # noqa: E501
        resp = self.http.post(self.url, params=params, content=data, headers={"Content-Type": "text/xml"})
        reply = Reply(resp.status_code, resp.text)
        if resp.status_code == 200 and resp.text.startswith("<xml>"):
            body = resp.text
            if self.safe:
                outer = read_xml(body)
                body = self.crypto.decrypt_message(body, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
            reply.fields = read_xml(body)
        return reply

    def say(self, text: str, msg_id: int | None = None) -> Reply:
        return self.post(self.xml("text", msg_id, Content=text))

    def verify(self, echostr: str = "echo-123", signature: str | None = None) -> httpx.Response:
        timestamp, nonce = str(int(time.time())), "verify-nonce"
        params = {
            "signature": signature or self.signature(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        return self.http.get(self.url, params=params)


class FakeApi:
    """The Official Account API (stable_token, message/custom/send) as a recording aiohttp app."""

    def __init__(self) -> None:
        self.tokens_issued = 0
        self.sent: list[dict[str, Any]] = []
        self.fail_next: list[int] = []  # errcodes to answer the next sends with
        self.token = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self.stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self.custom_send)
        return app

    async def stable_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("appid") != APP_ID or body.get("secret") != "s3cret":
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.tokens_issued += 1
        self.token = f"TOKEN-{self.tokens_issued}"
        return web.json_response({"access_token": self.token, "expires_in": 7200})

    async def custom_send(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != self.token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.fail_next:
            code = self.fail_next.pop(0)
            return web.json_response({"errcode": code, "errmsg": "injected"})
        self.sent.append(json.loads(await request.read()))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def texts_to(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m["touser"] == openid]


def endpoint_url(loop: LoopThread, endpoint: WeChatEndpoint) -> str:
    return loop.serve(endpoint.app()) + endpoint.config.path
