"""Mistakes: the missing ``await``, a correctness pitfall rather than a performance one.

Calling a coroutine function without ``await`` does not run it: it only creates a coroutine
object. The pitfall endpoints below keep FastAPI's real behaviour; nothing is caught or dressed up.

- ``/pitfall/missing-await``: ``return fetch_item(...)`` without ``await``. FastAPI validates the
  coroutine object against the return annotation and raises ``ResponseValidationError``
  (``{'type': 'dict_type', 'loc': ('response',), 'msg': 'Input should be a valid dictionary',
  'input': <coroutine object fetch_item at …>}``). The client gets ``500 Internal Server Error``
  as plain text from Starlette's ``ServerErrorMiddleware``; the traceback and
  ``RuntimeWarning: coroutine 'fetch_item' was never awaited`` go to the server log only. Without
  a return annotation, ``jsonable_encoder`` fails instead (``ValueError``: "'coroutine' object
  is not iterable"): again a bare 500.
- ``/fixed/missing-await``: ``return await fetch_item(...)`` → 200 with the item.
- ``/pitfall/missing-await-side-effect``: the worse case. ``write_audit(...)`` is called for its
  side effect and never awaited, so the audit entry is never written. The response is a
  *successful* ``200`` with an empty ``audit`` list; the only trace is the ``RuntimeWarning`` in
  the server log.
- ``/fixed/missing-await-side-effect``: ``await write_audit(...)`` → the entry is in ``audit``.

mypy catches both mistakes (``return-value`` and ``unused-coroutine``), which is why the pitfall
lines carry ``type: ignore`` comments: run a type checker on async code.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

router = APIRouter(tags=["mistakes"])

ItemId = Annotated[int, Query(ge=0, le=1_000_000, description="id of the item to read")]


async def fetch_item(item_id: int) -> dict[str, int | str]:
    """Stands for an async lookup (database, HTTP): it suspends once, then returns the item."""
    await asyncio.sleep(0)
    return {"item_id": item_id, "name": f"item {item_id}"}


async def write_audit(audit: list[str], item_id: int) -> None:
    """Stands for an async side effect (audit log, cache write) whose result nobody reads."""
    await asyncio.sleep(0)
    audit.append(f"read item {item_id}")


@router.get("/pitfall/missing-await")
async def missing_await_pitfall(item_id: ItemId = 1) -> dict[str, int | str]:
    return fetch_item(item_id)  # type: ignore[return-value]  # the pitfall: no await


@router.get("/fixed/missing-await")
async def missing_await_fixed(item_id: ItemId = 1) -> dict[str, int | str]:
    return await fetch_item(item_id)


@router.get("/pitfall/missing-await-side-effect")
async def missing_await_side_effect_pitfall(item_id: ItemId = 1) -> dict[str, int | list[str]]:
    audit: list[str] = []
    write_audit(audit, item_id)  # type: ignore[unused-coroutine]  # the pitfall: never runs
    return {"item_id": item_id, "audit": audit}


@router.get("/fixed/missing-await-side-effect")
async def missing_await_side_effect_fixed(item_id: ItemId = 1) -> dict[str, int | list[str]]:
    audit: list[str] = []
    await write_audit(audit, item_id)
    return {"item_id": item_id, "audit": audit}
