"""The lean HTTP/1.1 client under the Bot API calls: framing, keep-alive, closed connections, timeouts, errors.

A scripted server on 127.0.0.1 reads each request and writes the next canned answer, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from telegram.error import NetworkError, TimedOut

from bot.channels.http11 import HttpError, HttpPool, dechunk, parse_head
from bot.channels.telegram_http import BotApiRequest
from bot.channels.telegram_sender import JsonData

OK = b'{"ok":true,"result":true}'


@dataclass
class Request:
    line: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """What the server answers to each request in turn: raw bytes, or a coroutine given the writer."""

    answers: list[bytes | Callable[[asyncio.StreamWriter], Awaitable[None]]]
    requests: list[Request] = field(default_factory=list)
    connections: int = 0


def answer(body: bytes = OK, status: str = "200 OK", *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


async def serve(script: Script) -> asyncio.Server:
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        script.connections += 1
        try:
            while script.answers:
                line = (await reader.readline()).decode().strip()
                if not line:
                    break
                headers = {}
                while (h := (await reader.readline()).decode().strip()) != "":
                    name, _, value = h.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                script.requests.append(Request(line, headers, body))
                reply = script.answers.pop(0)
                if isinstance(reply, bytes):
                    writer.write(reply)
                    await writer.drain()
                else:
                    await reply(writer)
                    if writer.is_closing():
                        return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(connection, "127.0.0.1", 0)


def origin(server: asyncio.Server) -> str:
    return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def run(script: Script, body: Callable[[HttpPool], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        server = await serve(script)
        pool = HttpPool(origin(server), size=2)
        try:
            return await body(pool)
        finally:
            pool.close()
            server.close()

    return asyncio.run(main())


async def post(pool: HttpPool, body: bytes = b"{}", timeout: float | None = 5) -> tuple[int, bytes]:
    return await pool.post("/bot1:x/sendMessage", body, "application/json", timeout, 5)


def test_a_post_is_sent_as_http11_and_the_connection_is_kept_alive() -> None:
    script = Script([answer(), answer(b'{"ok":true,"result":2}')])

    async def two(pool: HttpPool) -> list[tuple[int, bytes]]:
        return [await post(pool, '{"text":"社保"}'.encode()), await post(pool)]

    assert run(script, two) == [(200, OK), (200, b'{"ok":true,"result":2}')]
    first = script.requests[0]
    assert first.line == "POST /bot1:x/sendMessage HTTP/1.1"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["host"].startswith("127.0.0.1:")
    assert json.loads(first.body) == {"text": "社保"}
    assert script.connections == 1


def test_answers_arriving_byte_by_byte_are_put_together() -> None:
    async def trickle(writer: asyncio.StreamWriter) -> None:
        for byte in answer(b'{"ok":false}', "400 Bad Request"):
            writer.write(bytes([byte]))
            await writer.drain()

    assert run(Script([trickle]), post) == (400, b'{"ok":false}')


def test_a_chunked_answer_with_extensions_and_trailers() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked = head + b'5;x=1\r\n{"ok"\r\n6\r\n:true}\r\n0\r\nX-T: 1\r\n\r\n'
    script = Script([chunked, answer()])

    async def two(pool: HttpPool) -> list[tuple[int, bytes]]:
        return [await post(pool), await post(pool)]

    assert run(script, two) == [(200, b'{"ok":true}'), (200, OK)]
    assert script.connections == 1


def test_an_answer_without_length_runs_to_the_close_and_the_connection_is_not_reused() -> None:
    async def until_close(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + OK)
        await writer.drain()
        writer.close()

    script = Script([until_close, answer()])

    async def two(pool: HttpPool) -> list[tuple[int, bytes]]:
        return [await post(pool), await post(pool)]

    assert run(script, two) == [(200, OK), (200, OK)]
    assert script.connections == 2


def test_connection_close_is_honoured_and_an_interim_answer_skipped() -> None:
    script = Script([b"HTTP/1.1 100 Continue\r\n\r\n" + answer(OK, "200 OK", "Connection: close"), answer()])

    async def two(pool: HttpPool) -> list[tuple[int, bytes]]:
        return [await post(pool), await post(pool)]

    assert run(script, two) == [(200, OK), (200, OK)]
    assert script.connections == 2


def test_an_idle_connection_the_server_closed_is_replaced() -> None:
    async def then_close(writer: asyncio.StreamWriter) -> None:
        writer.write(answer())
        await writer.drain()
        writer.close()  # keep-alive promised, then the server drops it while idle

    script = Script([then_close, answer()])

    async def two(pool: HttpPool) -> list[tuple[int, bytes]]:
        first = await post(pool)
        await asyncio.sleep(0.05)  # the FIN reaches the client
        return [first, await post(pool)]

    assert run(script, two) == [(200, OK), (200, OK)]
    assert script.connections == 2


def test_a_connection_closed_before_the_answer_is_an_http_error() -> None:
    async def hang_up(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
        await writer.drain()
        writer.close()

    with pytest.raises(HttpError):
        run(Script([hang_up]), post)


def test_garbage_is_an_http_error() -> None:
    with pytest.raises(HttpError):
        run(Script([b"SSH-2.0-OpenSSH_9.6\r\n\r\n"]), post)


def test_a_server_that_does_not_answer_times_out() -> None:
    async def silent(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    with pytest.raises(TimeoutError):
        run(Script([silent]), lambda pool: post(pool, timeout=0.2))


def test_head_and_chunk_parsing() -> None:
    assert parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 3") == (200, 3, False, True)
    assert parse_head(b"HTTP/1.0 200 OK\r\nContent-Length: 3") == (200, 3, False, False)
    assert parse_head(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3") == (200, 3, False, True)
    assert parse_head(b"HTTP/1.1 502 Bad Gateway\r\nconnection: Close\r\ncontent-length: 0") == (502, 0, False, False)
    assert parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked") == (200, None, True, True)
    assert parse_head(b"HTTP/1.1 204 No Content") == (204, 0, False, True)
    assert parse_head(b"HTTP/1.1 200 OK") == (200, None, False, False)
    with pytest.raises(ValueError):
        parse_head(b"ICY 200 OK")
    assert dechunk(bytearray(b"3\r\nabc\r\n0\r\n\r\nnext")) == (b"abc", 13)
    assert dechunk(bytearray(b"3\r\nabc\r\n0\r\n")) is None
    assert dechunk(bytearray(b"3\r\nab")) is None


def test_bot_api_request_maps_failures_to_ptb_errors() -> None:
    async def main() -> None:
        request = BotApiRequest(connect_timeout=2)
        await request.initialize()
        data = JsonData({"chat_id": 1})
        try:
            server = await serve(Script([]))
            url = origin(server)
            server.close()
            await server.wait_closed()
            with pytest.raises(NetworkError):
                await request.post(f"{url}/bot1:x/sendMessage", data)

            async def silent(writer: asyncio.StreamWriter) -> None:
                await asyncio.sleep(10)

            server = await serve(Script([silent]))
            with pytest.raises(TimedOut):
                await request.post(f"{origin(server)}/bot1:x/sendMessage", data, read_timeout=0.2, write_timeout=0)
            server.close()
        finally:
            await request.shutdown()

    asyncio.run(main())
