"""pgbouncer.ini for transaction pooling (task 6).

``run_pgbouncer`` (``pgbouncer_daemon.py``, given) writes what ``pgbouncer_ini`` returns into the
daemon's private folder, beside the user list, and starts the Debian program on it.
"""

from __future__ import annotations

import configparser
import io
from pathlib import Path


def pgbouncer_ini(
    *,
    listen_port: int,
    alias: str,
    server: str,
    auth_file: Path,
    pool_size: int,
    max_client_conn: int = 200,
) -> str:
    """The text of a pgbouncer.ini.

    Clients connect over TCP to 127.0.0.1:``listen_port`` only (no Unix socket), ask for
    database ``alias``, and prove their password against ``auth_file`` with SCRAM. Behind the
    alias is ``server``, a libpq connection string of the real database. Server connections are
    lent per transaction, at most ``pool_size`` of them, to at most ``max_client_conn`` clients.
    """
    # kata: begin a [databases] section mapping the alias, a [pgbouncer] section with the settings
    config = configparser.ConfigParser(interpolation=None)
    config["databases"] = {alias: server}
    config["pgbouncer"] = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(listen_port),
        "unix_socket_dir": "",
        "auth_type": "scram-sha-256",
        "auth_file": str(auth_file),
        "pool_mode": "transaction",
        "default_pool_size": str(pool_size),
        "max_client_conn": str(max_client_conn),
    }
    with io.StringIO() as text:
        config.write(text)
        return text.getvalue()
    # kata: end
