"""What the edge and the precompression buy: bytes on the wire and requests per second.

Bytes: the stylesheet as sent plain, gzip and brotli (the files collectstatic wrote). Requests
per second: the hashed stylesheet with ``Accept-Encoding: br`` from the origin (gunicorn, one
sync worker, WhiteNoise) and from the Varnish edge in front of it (every request a hit), loaded
with ``wrk`` (else Python's). The load generator shares the machine with the servers: compare the
ratio, not the numbers with another machine's. Without ``varnishd`` only the byte ratios are made.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from katas.kit import Ratio, load_generator, program_path, request_rate

from . import stack

DURATION_S = 4
CONNECTIONS = 16


def loaded(url: str) -> float:
    return request_rate(
        url, seconds=DURATION_S, connections=CONNECTIONS, headers={"Accept-Encoding": "br"}
    )


def bench() -> list[Ratio]:
    with tempfile.TemporaryDirectory(prefix="bench-cdn-static-") as tmp:
        root = Path(tmp)
        hashed = stack.collectstatic(root, stack.KATA / "assets")["css/app.css"]
        plain = (root / hashed).stat().st_size
        results = [
            Ratio(f"app.css on the wire ({encoding})", "plain", encoding, plain, size, "B")
            for encoding, size in (
                ("gzip", (root / f"{hashed}.gz").stat().st_size),
                ("brotli", (root / f"{hashed}.br").stat().st_size),
            )
        ]
        varnishd = program_path("varnishd")
        if varnishd is None:
            return results
        with (
            stack.origin(root, stack.KATA / "assets") as origin,
            stack.edge(varnishd, origin.port) as edge,
        ):
            path = f"/static/{hashed}"
            from_origin, from_edge = loaded(origin.url + path), loaded(edge.url + path)
        what = f"hashed app.css, brotli ({load_generator(CONNECTIONS)}, {DURATION_S} s)"
        results.append(
            Ratio(
                what,
                "origin: gunicorn + WhiteNoise",
                "Varnish edge, hits",
                from_origin,
                from_edge,
                "req/s",
            )
        )
        return results
