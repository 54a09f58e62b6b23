"""asyncpg versus psycopg 3 (async), raw drivers, on the same queries and the same rows.

SQLAlchemy's ``postgresql+asyncpg`` and ``postgresql+psycopg`` dialects sit on these drivers;
this measures the drivers alone: fetching a 1,000-row result 200 times, and loading 20,000 rows
with executemany and with COPY.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg  # type: ignore[import-untyped, unused-ignore]
import psycopg

from katas.kit import Ratio, postgres_database

ROWS = [(i, f"name {i}", i % 997) for i in range(20_000)]
QUERY_ROUNDS = 200
REPEAT = 5


async def best_of(
    run: Callable[[], Awaitable[object]], reset: Callable[[], Awaitable[object]]
) -> float:
    """The best time of REPEAT runs, each after an untimed ``reset``."""
    times = []
    for _ in range(REPEAT):
        await reset()
        started = time.perf_counter()
        await run()
        times.append(time.perf_counter() - started)
    return min(times)


async def measure(url: str) -> list[Ratio]:
    pg = await asyncpg.connect(url)
    ps = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        await pg.execute(
            "CREATE TABLE bench_rows (id int PRIMARY KEY, name text NOT NULL, amount int NOT NULL)"
        )
        await pg.copy_records_to_table("bench_rows", records=ROWS)
        select = "SELECT id, name, amount FROM bench_rows WHERE id < 1000 ORDER BY id"

        async def asyncpg_select() -> None:
            for _ in range(QUERY_ROUNDS):
                assert len(await pg.fetch(select)) == 1000

        async def psycopg_select() -> None:
            async with ps.cursor() as cur:
                for _ in range(QUERY_ROUNDS):
                    await cur.execute(select)
                    assert len(await cur.fetchall()) == 1000

        async def nothing() -> None:
            pass

        async def truncate() -> None:
            await pg.execute("TRUNCATE bench_rows")

        insert_pg = "INSERT INTO bench_rows (id, name, amount) VALUES ($1, $2, $3)"
        insert_ps = "INSERT INTO bench_rows (id, name, amount) VALUES (%s, %s, %s)"

        async def asyncpg_executemany() -> None:
            await pg.executemany(insert_pg, ROWS)

        async def psycopg_executemany() -> None:
            async with ps.cursor() as cur:
                await cur.executemany(insert_ps, ROWS)

        async def asyncpg_copy() -> None:
            await pg.copy_records_to_table("bench_rows", records=ROWS)

        async def psycopg_copy() -> None:
            async with ps.cursor() as cur, cur.copy("COPY bench_rows FROM STDIN") as copy:
                for row in ROWS:
                    await copy.write_row(row)

        results = [
            (
                f"SELECT 1,000 rows × {QUERY_ROUNDS}",
                await best_of(psycopg_select, nothing),
                await best_of(asyncpg_select, nothing),
            ),
            (
                f"INSERT {len(ROWS):,} rows: executemany",
                await best_of(psycopg_executemany, truncate),
                await best_of(asyncpg_executemany, truncate),
            ),
            (
                f"INSERT {len(ROWS):,} rows: COPY",
                await best_of(psycopg_copy, truncate),
                await best_of(asyncpg_copy, truncate),
            ),
        ]
        ratios = [
            Ratio(what, "psycopg 3 async", "asyncpg", baseline, candidate, "s")
            for what, baseline, candidate in results
        ]
        executemany_time, copy_time = results[1][2], results[2][2]
        ratios.append(
            Ratio(
                f"asyncpg: load {len(ROWS):,} rows",
                "executemany",
                "copy_records_to_table",
                executemany_time,
                copy_time,
                "s",
            )
        )
        return ratios
    finally:
        await ps.close()
        await pg.close()


def bench() -> list[Ratio]:
    with postgres_database() as url:
        return asyncio.run(measure(url))
