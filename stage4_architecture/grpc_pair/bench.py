"""The same call over gRPC and as JSON over HTTP: GetItem against ``GET /items/{sku}``.

Each server runs in a process of its own (grpc.aio; FastAPI under uvicorn), serving the same
in-memory shelf; this process is the client (grpc.aio's stub; an httpx client with keep-alive).
Both sides are Python, so the numbers are what a Python service calling a Python service sees:
encoding, framing and the client library together, not the wire format alone.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from katas.kit import Ratio, daemon, free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = __package__ or "stage4_architecture.grpc_pair"
ITEMS = [(f"sku-{i}", f"item {i}", i) for i in range(100)]
CALLS = 2000  # sequential calls for the latency percentiles
CONCURRENT = 16  # calls in flight for the throughput
ROUNDS = 200  # calls per in-flight slot


def _serve_grpc(port: int) -> None:
    from .rpc import add_inventory
    from .service import InventoryService, Shelf

    async def main() -> None:
        import grpc

        server = grpc.aio.server()
        add_inventory(server, InventoryService(Shelf(ITEMS)))
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()

    asyncio.run(main())


def _serve_json(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI, HTTPException

    shelf = {sku: {"sku": sku, "name": name, "quantity": n} for sku, name, n in ITEMS}
    app = FastAPI()

    @app.get("/items/{sku}")
    async def get_item(sku: str) -> dict[str, object]:
        if sku not in shelf:
            raise HTTPException(404, f"no item {sku!r}")
        return shelf[sku]

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _latencies(call: Callable[[str], Awaitable[object]]) -> list[float]:
    for i in range(100):  # warm-up: connections, caches
        await call(ITEMS[i % len(ITEMS)][0])
    seconds = []
    for i in range(CALLS):
        start = time.perf_counter()
        await call(ITEMS[i % len(ITEMS)][0])
        seconds.append(time.perf_counter() - start)
    return seconds


async def _rate(call: Callable[[str], Awaitable[object]]) -> float:
    async def slot(offset: int) -> None:
        for i in range(ROUNDS):
            await call(ITEMS[(offset + i) % len(ITEMS)][0])

    start = time.perf_counter()
    await asyncio.gather(*(slot(n) for n in range(CONCURRENT)))
    return CONCURRENT * ROUNDS / (time.perf_counter() - start)


async def _measure_grpc(port: int) -> tuple[list[float], float]:
    import grpc

    from .rpc import inventory_stub, pb2

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = inventory_stub(channel)

        async def call(sku: str) -> object:
            return await stub.GetItem(pb2.GetItemRequest(sku=sku))

        return await _latencies(call), await _rate(call)


async def _measure_json(port: int) -> tuple[list[float], float]:
    import httpx

    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:

        async def call(sku: str) -> object:
            response = await client.get(f"/items/{sku}")
            response.raise_for_status()
            return response.json()

        return await _latencies(call), await _rate(call)


def _percentile(seconds: list[float], p: int) -> float:
    return statistics.quantiles(seconds, n=100)[p - 1]


def bench() -> list[Ratio]:
    env = {"PYTHONPATH": str(ROOT)}
    grpc_port, json_port = free_port(), free_port()
    server = [sys.executable, "-m", f"{PACKAGE}.bench"]
    with (
        daemon([*server, "grpc", str(grpc_port)], name="grpc-server", ready=grpc_port, env=env),
        daemon([*server, "json", str(json_port)], name="json-server", ready=json_port, env=env),
    ):
        json_latencies, json_rate = asyncio.run(_measure_json(json_port))
        grpc_latencies, grpc_rate = asyncio.run(_measure_grpc(grpc_port))
    json_name, grpc_name = "JSON over HTTP/1.1 (FastAPI, uvicorn, httpx)", "gRPC (grpc.aio)"
    ratios = [
        Ratio(
            f"GetItem latency p{p}, {CALLS} sequential calls",
            json_name,
            grpc_name,
            _percentile(json_latencies, p),
            _percentile(grpc_latencies, p),
            "s",
        )
        for p in (50, 99)
    ]
    rate = f"GetItem calls/s, {CONCURRENT} in flight"
    return [*ratios, Ratio(rate, json_name, grpc_name, json_rate, grpc_rate, "req/s")]


if __name__ == "__main__":  # a server process of the bench: ``bench.py grpc|json PORT``
    {"grpc": _serve_grpc, "json": _serve_json}[sys.argv[1]](int(sys.argv[2]))
