"""A small keep-alive HTTP/1.1 client for POSTs to one server: the Bot API calls every message makes.

aiohttp's client spends ~0.2 ms of CPU per request on machinery these calls do not use (cookie jar, redirects,
tracing, header multidicts, stream readers, timer contexts); with a sendMessage per message and a getUpdates
per batch, that was a tenth of the bot's CPU. A Bot API call needs little of HTTP: a POST with a body, an
answer with Content-Length (chunked and read-until-close are handled too), connections kept alive. One
request per connection at a time, no pipelining, no redirects, no proxies, no compression.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024  # bytes of status line and headers
IDLE_SECONDS = 30.0  # an idle connection older than this is not reused (servers close idle ones, ~60 s)


class HttpError(Exception):
    """The connection failed or the server's answer was not valid HTTP/1.1."""


Response = tuple[int, bytes, bool]  # status, body, whether the connection can be reused


class _Connection(asyncio.Protocol):
    """One connection; `waiter` gets the response to the request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._head: tuple[int, int | None, bool, bool] | None = None  # status, length, chunked, keep-alive

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def eof_received(self) -> None:
        self.closed = True  # not to be taken for a new request; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        head = self._head
        if head is not None and head[1] is None and not head[2]:  # no length given: the body ends here
            self._finish(head[0], bytes(self._buffer), False)
        else:
            self._fail(HttpError(f"connection closed before the response ended: {exc or 'EOF'}"))

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():  # nothing was asked (e.g. a 408 before closing)
            self.close()
            return
        self._buffer += data
        try:
            self._parse()
        except (ValueError, IndexError) as exc:
            self._fail(HttpError(f"malformed HTTP response: {exc}"))
            self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _parse(self) -> None:
        while self._head is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    raise ValueError("header too long")
                return
            head = parse_head(bytes(self._buffer[:end]))
            del self._buffer[: end + 4]
            if not 100 <= head[0] < 200:  # an interim 1xx answer is skipped
                self._head = head
        status, length, chunked, keep_alive = self._head
        if chunked:
            decoded = dechunk(self._buffer)
            if decoded is None:
                return
            body, used = decoded
        elif length is not None:
            if len(self._buffer) < length:
                return
            body, used = bytes(self._buffer[:length]), length
        else:
            return  # until the server closes
        del self._buffer[:used]
        self._finish(status, body, keep_alive)

    def _finish(self, status: int, body: bytes, keep_alive: bool) -> None:
        self._head = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, body, keep_alive and not self._buffer))

    def _fail(self, exc: Exception) -> None:
        self._head = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)


def parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, Content-Length or None, chunked, keep-alive) from a response's status line and headers."""
    lines = head.decode("latin-1").split("\r\n")
    version, status_text = lines[0].split(" ", 2)[:2]
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not HTTP/1.x: {lines[0][:40]!r}")
    status = int(status_text)
    length: int | None = None
    chunked = False
    keep_alive = version == "HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = value.endswith("chunked")
        elif name == "connection":
            keep_alive = "close" not in value and (keep_alive or "keep-alive" in value)
    if status in (204, 304):
        length = 0
    if chunked:
        length = None
    elif length is None:
        keep_alive = False  # the body runs to the end of the connection
    return status, length, chunked, keep_alive


def dechunk(buffer: bytearray) -> tuple[bytes, int] | None:
    """A complete chunked body at the start of `buffer` and the bytes it took; None while incomplete."""
    parts: list[bytes] = []
    pos = 0
    while True:
        eol = buffer.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buffer[pos:eol]).split(b";")[0], 16)
        pos = eol + 2
        if size == 0:  # then optional trailer lines and an empty line
            if buffer[pos : pos + 2] == b"\r\n":
                return b"".join(parts), pos + 2
            end = buffer.find(b"\r\n\r\n", pos)
            return None if end < 0 else (b"".join(parts), end + 4)
        if len(buffer) < pos + size + 2:
            return None
        parts.append(bytes(buffer[pos : pos + size]))
        pos += size + 2


class HttpPool:
    """Up to `size` kept-alive connections to one origin (scheme, host and port of `origin`)."""

    def __init__(self, origin: str, size: int = 8, user_agent: str = "fugong-bot") -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {origin}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if parts.scheme == "https" else None
        self._head = f"Host: {parts.netloc}\r\nUser-Agent: {user_agent}\r\n"
        self._size = size
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[_Connection] = []

    async def post(
        self, target: str, body: bytes, content_type: str, timeout: float | None, connect_timeout: float | None
    ) -> tuple[int, bytes]:
        """POST `body` to `target` (path and query); (status, body). Raises HttpError, OSError or TimeoutError.

        `timeout` bounds sending the request and reading the whole answer.
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)
        async with self._slots:
            conn = self._take() or await self._connect(connect_timeout)
            request = (
                f"POST {target} HTTP/1.1\r\n{self._head}Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode("latin-1")
            reusable = False
            try:
                conn.waiter = asyncio.get_running_loop().create_future()
                assert conn.transport is not None
                conn.transport.write(request + body)
                async with asyncio.timeout(timeout):
                    status, answer, reusable = await conn.waiter
                return status, answer
            finally:
                conn.waiter = None
                if reusable and not conn.closed:
                    conn.idle_since = time.monotonic()
                    self._idle.append(conn)
                else:
                    conn.close()

    def close(self) -> None:
        """Close the idle connections (requests in flight close theirs when they end)."""
        while self._idle:
            self._idle.pop().close()

    def _take(self) -> _Connection | None:
        """The most recently used idle connection that is still open and fresh."""
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and now - conn.idle_since < IDLE_SECONDS:
                return conn
            conn.close()
        return None

    async def _connect(self, timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        server_hostname = self.host if self.ssl is not None else None
        async with asyncio.timeout(timeout):
            _, conn = await loop.create_connection(
                _Connection, self.host, self.port, ssl=self.ssl, server_hostname=server_hostname
            )
        return conn
