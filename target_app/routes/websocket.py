"""WebSockets: the FastAPI guide's ``async def`` echo handler, the pitfall inside it, its fix.

A WebSocket handler is always ``async def`` (FastAPI has no thread-pool variant), so the pair
here is about what each message does:

- ``/ws/echo``: ``await websocket.receive_text()`` then ``send_text`` back; with ``ms`` > 0 it
  first waits ``await asyncio.sleep`` (a non-blocking lookup per message).
- ``/ws/pitfall/echo``: the same wait with ``time.sleep`` inside the handler: every message
  blocks the event loop, and with it every other connection of the worker.
- ``/ws/fixed/echo``: the blocking wait offloaded with ``run_in_threadpool`` (one thread-pool
  token per message in progress).

Each answer is the message itself, so a client measures the round trip of one message. Idle
connections cost the server a task and its buffers each: the harness holds many open beside an
active client and reads the app's RSS. The number open is a gauge (``websocket_connections``,
kept by the instrumentation). ``ms`` is bounded (≤ 1,000) and a message is at most 64 KiB; a bad
query closes the connection with 1008 (policy violation) before it is accepted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

router = APIRouter(tags=["websocket"])

Millis = Annotated[int, Query(ge=0, le=1_000, description="wait per message, in milliseconds")]
MAX_MESSAGE = 65_536


async def _echo(websocket: WebSocket, wait: Callable[[], Awaitable[None]]) -> None:
    """Accept, then answer every text message with itself after ``await wait()``."""
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if len(text) > MAX_MESSAGE:
                await websocket.close(code=1009)  # message too big
                return
            await wait()
            await websocket.send_text(text)
    except WebSocketDisconnect:
        return


@router.websocket("/ws/echo")
async def ws_echo(websocket: WebSocket, ms: Millis = 0) -> None:
    async def wait() -> None:
        if ms:
            await asyncio.sleep(ms / 1000)

    await _echo(websocket, wait)


@router.websocket("/ws/pitfall/echo")
async def ws_echo_pitfall(websocket: WebSocket, ms: Millis = 10) -> None:
    async def wait() -> None:
        time.sleep(ms / 1000)  # the pitfall: blocks the event loop, every connection waits

    await _echo(websocket, wait)


@router.websocket("/ws/fixed/echo")
async def ws_echo_fixed(websocket: WebSocket, ms: Millis = 10) -> None:
    async def wait() -> None:
        await run_in_threadpool(time.sleep, ms / 1000)

    await _echo(websocket, wait)
