"""pgbouncer in transaction mode (a real one, started per test) in front of the test's database."""

from __future__ import annotations

import asyncio
from configparser import ConfigParser
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from .bouncer import pgbouncer_ini
from .conftest import GUARD_S, Admin, rows
from .pg_pool import Pool, open_bouncer_pool, open_pool, pool_stats, run_transaction
from .pgbouncer_daemon import Bouncer

# The server connections behind pgbouncer: every connection to this database but the asker's.
SERVERS = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND backend_type = 'client backend'"
)


async def two_clients_one_cached_statement(pool: Pool) -> tuple[int, int]:
    """Client A runs a query, client B opens a transaction, client A runs the query again.

    With transaction pooling, A's second run gets the other server connection: B holds the first.
    """
    a = await pool.acquire()
    b = await pool.acquire()
    try:
        first = await a.fetchval("SELECT $1::int * 2", 21)
        async with b.transaction():
            await b.execute("SELECT 1")  # B's transaction now holds the server A used
            second = await a.fetchval("SELECT $1::int * 2", 21)
        return first, second
    finally:
        await pool.release(b)
        await pool.release(a)


@pytest.mark.task(6)
def test_the_ini_listens_on_tcp_only_in_transaction_mode() -> None:
    text = pgbouncer_ini(
        listen_port=6543,
        alias="shop",
        server="host=db.internal port=5433 dbname=shop_prod user=shop",
        auth_file=Path("/etc/pgbouncer/users.txt"),
        pool_size=3,
        max_client_conn=50,
    )
    ini = ConfigParser(interpolation=None)
    ini.read_string(text)
    assert ini["databases"]["shop"] == "host=db.internal port=5433 dbname=shop_prod user=shop"
    settings = ini["pgbouncer"]
    assert (settings["listen_addr"], settings["listen_port"]) == ("127.0.0.1", "6543")
    assert settings["unix_socket_dir"] == ""  # no socket file in /tmp
    assert settings["auth_file"] == "/etc/pgbouncer/users.txt"
    assert settings["pool_mode"] == "transaction"
    assert settings["default_pool_size"] == "3"
    assert settings["max_client_conn"] == "50"


@pytest.mark.task(6)
async def test_pgbouncer_leaves_no_socket_file(bouncer: Bouncer) -> None:
    port = urlsplit(bouncer.dsn).port
    assert not Path("/tmp", f".s.PGSQL.{port}").exists()  # pgbouncer's default socket folder
    assert "listening on unix:" not in bouncer.daemon.output()


@pytest.mark.task(6)
async def test_many_clients_share_a_few_server_connections(
    bouncer: Bouncer, app_name: str, pools: list[Pool]
) -> None:
    pool = await open_bouncer_pool(bouncer.dsn, app_name=app_name, max_size=8)
    pools.append(pool)
    assert pool_stats(pool).size == 0  # nothing opened in advance

    async def request(n: int) -> tuple[int, int]:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT $1::int AS n, ({SERVERS}) AS servers FROM pg_sleep(0.02)", n
            )
            assert row is not None
            return row["n"], row["servers"]

    async with asyncio.timeout(GUARD_S):
        answers = await asyncio.gather(*(request(n) for n in range(10)))
    assert [n for n, _ in answers] == list(range(10))
    assert pool_stats(pool).size == 8  # eight client connections to pgbouncer...
    assert max(servers for _, servers in answers) <= bouncer.pool_size  # ...on two servers


@pytest.mark.task(6)
async def test_releasing_a_connection_leaves_the_server_session_alone(
    bouncer: Bouncer, app_name: str, pools: list[Pool]
) -> None:
    pool = await open_bouncer_pool(bouncer.dsn, app_name=app_name, max_size=2)
    pools.append(pool)
    for _ in range(3):  # each release would otherwise RESET ALL a server pgbouncer keeps track of
        async with asyncio.timeout(GUARD_S), pool.acquire() as conn:
            assert await conn.fetchval("SELECT current_setting('application_name')") == app_name


@pytest.mark.task(6)
async def test_a_transaction_keeps_one_server_connection(
    bouncer: Bouncer, app_name: str, pools: list[Pool]
) -> None:
    pool = await open_bouncer_pool(bouncer.dsn, app_name=app_name, max_size=2)
    pools.append(pool)
    async with asyncio.timeout(GUARD_S), pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE cart (item text) ON COMMIT DROP")
        await conn.execute("INSERT INTO cart VALUES ('book'), ('pen')")
        assert await conn.fetchval("SELECT count(*) FROM cart") == 2


@pytest.mark.task(6)
async def test_asyncpgs_statement_cache_breaks_behind_transaction_pooling(
    bouncer: Bouncer, app_name: str, pools: list[Pool]
) -> None:
    cached = await open_pool(bouncer.dsn, app_name=app_name, min_size=2, max_size=2)
    pools.append(cached)
    async with asyncio.timeout(GUARD_S):
        with pytest.raises(asyncpg.InvalidSQLStatementNameError) as caught:
            await two_clients_one_cached_statement(cached)
    assert "__asyncpg_stmt_" in str(caught.value)  # prepared on the other server connection
    assert "pgbouncer" in (caught.value.hint or "")


@pytest.mark.task(6)
async def test_without_the_statement_cache_it_works(
    bouncer: Bouncer, app_name: str, pools: list[Pool]
) -> None:
    pool = await open_bouncer_pool(bouncer.dsn, app_name=app_name, max_size=2)
    pools.append(pool)
    async with asyncio.timeout(GUARD_S):
        assert await two_clients_one_cached_statement(pool) == (42, 42)


@pytest.mark.task(6)
async def test_a_wrong_password_is_refused(bouncer: Bouncer) -> None:
    parts = urlsplit(bouncer.dsn)
    wrong = parts._replace(netloc=f"{parts.username}:wrong@{parts.hostname}:{parts.port}")
    async with asyncio.timeout(GUARD_S):
        with pytest.raises(asyncpg.PostgresError, match="authentication failed"):
            await asyncpg.connect(wrong.geturl())


@pytest.mark.task(6)
async def test_killed_server_connections_lose_no_request(
    bouncer: Bouncer, app_name: str, admin: Admin, pools: list[Pool]
) -> None:
    await admin.execute("CREATE TABLE visits (n int PRIMARY KEY)")
    pool = await open_bouncer_pool(bouncer.dsn, app_name=app_name, max_size=4)
    pools.append(pool)

    async def visit(n: int) -> int:
        async def work(conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record]) -> int:
            await conn.execute("INSERT INTO visits VALUES ($1)", n)
            return n

        return await run_transaction(pool, work, attempts=4)

    async with asyncio.timeout(GUARD_S):
        assert await asyncio.gather(*(visit(n) for n in range(4))) == list(range(4))
    # the server ends pgbouncer's connections (a restart, a failover); pgbouncer opens new ones
    killed = await admin.fetchval(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'"
    )
    assert 1 <= killed <= bouncer.pool_size
    async with asyncio.timeout(GUARD_S):
        assert await asyncio.gather(*(visit(n) for n in range(4, 12))) == list(range(4, 12))
    assert await rows(admin, "SELECT n FROM visits ORDER BY n") == [(n,) for n in range(12)]
