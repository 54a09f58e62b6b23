"""pgbouncer in transaction mode on a free port, for a test or a benchmark (given code).

``run_pgbouncer`` writes the user list and the ``pgbouncer.ini`` that ``pgbouncer_ini`` (task 6,
in ``bouncer.py``) returns into the daemon's private folder, starts the Debian program there,
waits for its port and stops it afterwards. pgbouncer refuses to run as root: as root (CI, a
container) it is started with ``--user nobody``, and the folder and its files are handed to that
user first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katas.kit import Daemon, daemon, free_port

from .bouncer import pgbouncer_ini

ALIAS = "kata"  # the database name clients ask pgbouncer for
NON_ROOT_USER = "nobody"


@dataclass(frozen=True)
class Bouncer:
    dsn: str  # where clients connect: pgbouncer's port, database ALIAS
    pool_size: int  # server connections pgbouncer opens at most for the alias
    daemon: Daemon


def _userlist_entry(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'  # the auth_file's quoting: a " is doubled


@contextmanager
def run_pgbouncer(executable: str, database_url: str, *, pool_size: int = 2) -> Iterator[Bouncer]:
    """pgbouncer in front of ``database_url`` until the block ends; yields where to connect."""
    params = conninfo_to_dict(database_url)
    user = str(params.get("user") or os.environ.get("USER") or "postgres")
    # A server that trusts local users needs no password; the client's leg to pgbouncer does.
    password = str(params.get("password") or os.urandom(12).hex())
    server = make_conninfo(
        "", **{k: params[k] for k in ("host", "port", "dbname", "user") if params.get(k)}
    )
    port = free_port()

    def prepare(workdir: Path) -> list[str]:
        auth_file = workdir / "userlist.txt"
        auth_file.write_text(f"{_userlist_entry(user)} {_userlist_entry(password)}\n")
        ini = workdir / "pgbouncer.ini"
        ini.write_text(
            pgbouncer_ini(
                listen_port=port,
                alias=ALIAS,
                server=server,
                auth_file=auth_file,
                pool_size=pool_size,
            )
        )
        argv = [executable]
        if os.geteuid() == 0:  # "PgBouncer should not run as root": drop to a user that can read
            import pwd

            account = pwd.getpwnam(NON_ROOT_USER)
            for path in (workdir, auth_file, ini):
                os.chown(path, account.pw_uid, account.pw_gid)
            argv += ["--user", NON_ROOT_USER]
        return [*argv, str(ini)]

    with daemon(prepare, name="pgbouncer", ready=port) as running:
        login = f"{quote(user, safe='')}:{quote(password, safe='')}"
        dsn = f"postgresql://{login}@127.0.0.1:{port}/{ALIAS}"
        yield Bouncer(dsn=dsn, pool_size=pool_size, daemon=running)
