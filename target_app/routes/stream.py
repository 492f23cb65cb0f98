"""Stream: a ``StreamingResponse`` from a slow source, a sync generator vs an async one.

The source yields ``chunks`` chunks of ``size`` bytes, waiting ``ms`` before each (a slow
query's cursor, a file read from a network share, an LLM's tokens).

- ``/sync/stream``: a plain generator (``time.sleep`` per chunk). Starlette cannot iterate it
  on the loop, so it pulls every chunk through anyio's thread pool (``iterate_in_threadpool``):
  each pull holds one thread-pool token for ``ms``. A response holds a token for almost all of
  its ``chunks × ms``, so throughput stays ≤ tokens / (chunks × ms), like a ``def`` route.
- ``/async/stream``: an async generator (``await asyncio.sleep`` per chunk): no thread, no
  token; throughput ≈ users / (chunks × ms).

Both handlers are ``async def``: the pair differs only in the generator. The body is identical
(same bytes, same chunks), each chunk ``"<index> xxx…\\n"``. Inputs are bounded so one response
lasts at most 10 s and carries at most 6.4 MB.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

router = APIRouter(tags=["stream"])

Chunks = Annotated[int, Query(ge=1, le=100, description="how many chunks the source yields")]
Millis = Annotated[int, Query(ge=0, le=100, description="wait before each chunk, in milliseconds")]
Size = Annotated[int, Query(ge=8, le=65_536, description="bytes per chunk")]
MEDIA_TYPE = "text/plain"


def chunk(index: int, size: int) -> bytes:
    """Chunk ``index`` of ``size`` bytes: its index, padding, a newline."""
    head = f"{index:06d} ".encode()
    return head + b"x" * (size - len(head) - 1) + b"\n"


def source_sync(chunks: int, ms: int, size: int) -> Iterator[bytes]:
    """The slow source as a plain generator: blocks its thread ``ms`` per chunk."""
    for index in range(chunks):
        time.sleep(ms / 1000)
        yield chunk(index, size)


async def source_async(chunks: int, ms: int, size: int) -> AsyncIterator[bytes]:
    """The same source as an async generator: waits on the loop."""
    for index in range(chunks):
        await asyncio.sleep(ms / 1000)
        yield chunk(index, size)


@router.get("/sync/stream")
async def stream_sync(chunks: Chunks = 20, ms: Millis = 10, size: Size = 64) -> StreamingResponse:
    # a plain generator: Starlette pulls each chunk through the thread pool (one token per pull)
    return StreamingResponse(source_sync(chunks, ms, size), media_type=MEDIA_TYPE)


@router.get("/async/stream")
async def stream_async(chunks: Chunks = 20, ms: Millis = 10, size: Size = 64) -> StreamingResponse:
    return StreamingResponse(source_async(chunks, ms, size), media_type=MEDIA_TYPE)
