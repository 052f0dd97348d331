"""What the Telegram tests talk to: a fake Bot API server on 127.0.0.1 and a driver that plays users and staff.

`FakeBotApi` serves queued updates to getUpdates (honouring `offset`, which confirms earlier ones, and the
long-poll `timeout`), answers sendMessage, editMessageText, sendDocument, … like Telegram does, and records
every call. Anything it does not implement answers 404, so a test fails loudly when the bot calls it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token_for-fake"
BOT_ID = 123456
STAFF_CHAT = -100777
JSON_FIELDS = frozenset(
    {"reply_markup", "allowed_updates", "commands", "scope", "chat_id", "offset", "limit", "timeout", "message_id",
     "reply_parameters", "show_alert", "drop_pending_updates", "link_preview_options"}
)  # fmt: skip


@dataclass
class Call:
    """One Bot API request as the bot sent it."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    result: Any = None  # what the fake answered (the sent message, for pressing its buttons)

    @property
    def chat_id(self) -> int | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of every inline button, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


class FakeBotApi:
    """The Bot API over HTTP, in memory; thread-safe to read from the test's thread."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.confirmed = 0  # highest update id confirmed by an offset
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._arrived: asyncio.Event | None = None
        self.fail: dict[str, int] = {}  # method → how many of its next calls answer 502
        self.delay: dict[str, float] = {}  # method → seconds to wait before answering (a slow server)
        self.listeners: list[Callable[[Call], None]] = []  # told of every call (the benchmark's clock)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post(f"/bot{self.token}/{{method}}", self._handle)
        app.router.add_get("/echo", self._echo)
        app.router.add_post("/echo", self._echo)
        return app

    # ---- what tests do ------------------------------------------------------------------------------------

    def push(self, update: dict[str, Any], loop: asyncio.AbstractEventLoop | None = None) -> int:
        """Queue an update (an `update_id` is assigned unless given); returns its id."""
        with self._lock:
            update.setdefault("update_id", next(self._ids))
            self.updates.append(update)
        if loop is not None and self._arrived is not None:
            loop.call_soon_threadsafe(self._arrived.set)
        return int(update["update_id"])

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    def wait_for(self, predicate: Callable[[list[Call]], Any], timeout: float = 20.0) -> Any:
        """Wait until `predicate(calls)` is truthy and return its value (the bot works in other threads)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                calls = list(self.calls)
            result = predicate(calls)
            if result:
                return result
            if time.monotonic() > deadline:
                methods = [(c.method, c.chat_id, c.text[:40]) for c in calls]
                raise AssertionError(f"the bot did not do what was expected; calls so far: {methods}")
            time.sleep(0.02)

    def processed(self, update_id: int, timeout: float = 20.0) -> None:
        """Wait until the bot confirmed `update_id` (it asks for the next ones only after processing it)."""
        self.wait_for(lambda _calls: self.confirmed >= update_id, timeout)

    def messages_to(self, chat_id: int, n: int, timeout: float = 20.0) -> list[Call]:
        """Wait for at least `n` sendMessage calls to `chat_id`; all of them."""

        def enough(_calls: list[Call]) -> list[Call] | None:
            sent = self.sent("sendMessage", chat_id)
            return sent if len(sent) >= n else None

        return self.wait_for(enough, timeout)

    # ---- the server ---------------------------------------------------------------------------------------

    async def _echo(self, request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True, "result": True})

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        if request.content_type == "application/json":
            return dict(await request.json()), {}
        form = await request.post()
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for key, value in form.items():
            if hasattr(value, "file"):
                files[value.filename or key] = value.file.read()
                continue
            params[key] = json.loads(value) if key in JSON_FIELDS and isinstance(value, str) else value
        return params, files

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._params(request)
        if self._arrived is None:
            self._arrived = asyncio.Event()
        if method == "getUpdates":
            return self._ok(await self._get_updates(params, request))
        call = Call(method, params, files)
        with self._lock:
            self.calls.append(call)
            failing = self.fail.get(method, 0)
            if failing:
                self.fail[method] = failing - 1
        if method in self.delay:
            await asyncio.sleep(self.delay[method])
        if failing:
            return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        call.result = handler(params)
        for listener in self.listeners:
            listener(call)
        return self._ok(call.result)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, params: dict[str, Any], request: web.Request) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        with self._lock:
            self.calls.append(Call("getUpdates", params))
            if offset:
                self.confirmed = max(self.confirmed, offset - 1)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = self.updates[:limit]
            gone = request.transport is None or request.transport.is_closing()  # the bot stopped waiting
            if pending or gone or time.monotonic() >= deadline:
                return pending
            assert self._arrived is not None
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(0.05, max(deadline - time.monotonic(), 0.001)))

    def _message(self, chat_id: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "复工复产服务专班"
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "复工助手", "username": "fugong_bot"},
            **extra,
        }
        if text is not None:
            message["text"] = text
        return message

    def _m_getMe(self, _p: dict[str, Any]) -> dict[str, Any]:
        me = {"id": BOT_ID, "is_bot": True, "first_name": "复工助手", "username": "fugong_bot"}
        return {**me, "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    def _m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        extra = {"reply_markup": p["reply_markup"]} if p.get("reply_markup") else {}
        return self._message(int(p["chat_id"]), p["text"], **extra)

    def _m_editMessageText(self, p: dict[str, Any]) -> dict[str, Any]:
        return {**self._message(int(p["chat_id"]), p["text"]), "message_id": int(p["message_id"])}

    def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        return {**self._message(int(p["chat_id"])), "message_id": int(p["message_id"])}

    def _m_sendDocument(self, p: dict[str, Any]) -> dict[str, Any]:
        doc = {"file_id": "doc-1", "file_unique_id": "doc-1", "file_name": "report"}
        return self._message(int(p["chat_id"]), document=doc, caption=p.get("caption"))

    def _true(self, _p: dict[str, Any]) -> bool:
        return True

    _m_echo = _true  # the benchmark's baseline: a round trip through the same library and HTTP stack
    _m_answerCallbackQuery = _true
    _m_setMyCommands = _true
    _m_deleteWebhook = _true
    _m_setWebhook = _true


class Users:
    """Builds the updates Telegram would send for users' messages and button presses."""

    def __init__(self) -> None:
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)

    def message(
        self,
        user_id: int,
        text: str | None = None,
        chat_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        chat_id = chat_id or user_id
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": f"用户{user_id}"},
            **extra,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"message": message}

    def press(self, user_id: int, sent: dict[str, Any], data: str) -> dict[str, Any]:
        """A press on a button of a message the bot sent (`sent`: the message as the fake returned it)."""
        return {
            "callback_query": {
                "id": f"cb{next(self._callback_ids)}",
                "from": {"id": user_id, "is_bot": False, "first_name": f"用户{user_id}"},
                "chat_instance": "ci",
                "message": sent,
                "data": data,
            }
        }
