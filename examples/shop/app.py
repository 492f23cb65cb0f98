"""A small shop API, written like a user's own service, to try ``bench run --app`` on.

Nothing in it knows about the harness. ``GET /report`` has the classic bug: ``time.sleep`` (a
stand-in for any blocking call) inside ``async def``, which holds the event loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel

app = FastAPI(title="shop")
PRODUCTS = {i: {"id": i, "name": f"product {i}", "price": 10 + i} for i in range(1, 101)}


class Order(BaseModel):
    product_id: int
    quantity: int = 1


def catalogue() -> dict[int, dict[str, object]]:
    """A ``def`` dependency: FastAPI runs it in the thread pool, like a ``def`` route."""
    return PRODUCTS


@app.get("/products")
async def list_products(limit: int = 10) -> list[dict[str, object]]:
    return list(PRODUCTS.values())[:limit]


@app.get("/products/{product_id}")
def get_product(
    product_id: int, products: Annotated[dict[int, dict[str, object]], Depends(catalogue)]
) -> dict[str, object]:
    if product_id not in products:
        raise HTTPException(404, "no such product")
    return products[product_id]


@app.post("/orders", status_code=201)
async def create_order(order: Order) -> dict[str, object]:
    await asyncio.sleep(0.01)  # e.g. an async database insert
    return {"product_id": order.product_id, "quantity": order.quantity, "status": "accepted"}


@app.get("/report")
async def sales_report() -> dict[str, str]:
    time.sleep(0.05)  # blocks the event loop: every other request waits
    return {"report": "ok"}
