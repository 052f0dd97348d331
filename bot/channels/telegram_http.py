"""python-telegram-bot's HTTP layer on aiohttp: the same Bot API calls and errors at a fraction of httpx's CPU.

httpx + httpcore spend several milliseconds of CPU per request (connection-pool scans, anyio wrappers, a
`getpeername` per pooled connection); aiohttp's keep-alive pool does the same job in a small part of that, and
the bot makes one or two requests per message. Parameters go as a JSON body (files as multipart), which the
Bot API accepts for every method; status codes become PTB's errors in `BaseRequest.post` as before.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

logger = logging.getLogger(__name__)

DEFAULT = type(BaseRequest.DEFAULT_NONE)  # PTB's "not given" marker
JSON = {"Content-Type": "application/json", "User-Agent": BaseRequest.USER_AGENT}


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on one aiohttp session with `connections` kept-alive connections."""

    def __init__(
        self,
        connections: int = 8,
        read_timeout: float = 5.0,
        write_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        media_write_timeout: float = 20.0,
    ) -> None:
        self.connections = connections
        self.default_read = read_timeout
        self.default_write = write_timeout
        self.default_connect = connect_timeout
        self.media_write = media_write_timeout
        self.session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self.default_read

    async def initialize(self) -> None:
        if self.session is None or self.session.closed:
            connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=60, ttl_dns_cache=300)
            self.session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("Accept-Encoding",))

    async def shutdown(self) -> None:
        if self.session is not None and not self.session.closed:
            await self.session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self.session is None or self.session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data is not None and request_data.contains_files else None
        read = self.default_read if isinstance(read_timeout, DEFAULT) else read_timeout
        connect = self.default_connect if isinstance(connect_timeout, DEFAULT) else connect_timeout
        write = write_timeout
        if isinstance(write, DEFAULT):
            write = self.media_write if files else self.default_write
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect, sock_read=None if read is None else read + (write or 0)
        )
        kw: dict[str, Any] = {"timeout": timeout}
        if files:
            kw["data"] = _form(request_data, files)  # type: ignore[arg-type]
            kw["headers"] = {"User-Agent": self.USER_AGENT}
        elif request_data is not None:
            kw["data"] = json.dumps(request_data.parameters, ensure_ascii=False).encode()  # objects, not strings
            kw["headers"] = JSON
        try:
            async with self.session.request(method, url, **kw) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc


def _form(request_data: RequestData, files: dict[str, Any]) -> aiohttp.FormData:
    """Multipart body: the JSON-encoded parameters as fields, then the files."""
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, item in files.items():
        if isinstance(item, tuple):
            filename, content, *rest = item
            form.add_field(name, content, filename=filename, content_type=rest[0] if rest else None)
        else:
            form.add_field(name, item)
    return form
