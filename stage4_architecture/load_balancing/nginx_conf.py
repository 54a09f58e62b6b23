"""nginx in front of the backends: the configuration, rendered from a ``Site`` description.

Each concern is one function that returns the directives it adds to three places of the
configuration: the ``upstream`` block (the pool of backends), the ``server`` block (the listener
clients talk to) and the ``location`` that proxies to the pool. ``render`` assembles the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Method = Literal["round_robin", "least_conn"]
UPSTREAM = "backends"  # the pool's name, as proxy_pass refers to it
PROXY_ADDRESS = "127.0.0.2"  # nginx connects to the backends from here (see proxy_bind)
KEEPALIVE_TIMEOUT_S = 60  # how long nginx keeps an idle connection to a backend
READ_TIMEOUT_S = 30  # the longest nginx waits for a backend's answer


@dataclass(frozen=True)
class Backend:
    address: str  # host:port of one app server (a gunicorn master)
    weight: int = 1


@dataclass(frozen=True)
class Site:
    port: int  # where nginx listens, on 127.0.0.1
    backends: tuple[Backend, ...]
    method: Method = "round_robin"
    # Passive health checks: this many failures within fail_timeout mark a backend down for
    # fail_timeout.
    max_fails: int = 1
    fail_timeout_s: int = 10
    # Failover: how long to wait for a backend, and how many backends one request may try.
    connect_timeout_s: int = 2
    read_timeout_s: int = READ_TIMEOUT_S
    tries: int = 3
    # Idle connections to the backends each nginx worker keeps open (0: none), and for how long.
    keepalive: int = 16
    keepalive_timeout_s: int = KEEPALIVE_TIMEOUT_S
    # The largest request body, and the buffers for request headers (count x size).
    max_body_bytes: int = 1 << 20
    header_buffers: tuple[int, int] = (4, 8192)
    # nginx connects to the backends from this address: the one address they trust.
    proxy_address: str = PROXY_ADDRESS


@dataclass
class Directives:
    """Lines, each a complete nginx directive (``least_conn;``), for three blocks."""

    upstream: list[str] = field(default_factory=list)
    server: list[str] = field(default_factory=list)
    location: list[str] = field(default_factory=list)


def balancing(site: Site) -> Directives:
    """The pool: its balancing method, a shared-memory zone, one weighted server line each."""
    # kata: begin balancing: the method, a zone, and a server line per backend with weight and passive health checks
    lines = [] if site.method == "round_robin" else [f"{site.method};"]
    # Without a zone every nginx worker balances (and counts failures) on its own.
    lines.append(f"zone {UPSTREAM} 64k;")
    health = f"max_fails={site.max_fails} fail_timeout={site.fail_timeout_s}s"
    lines += [f"server {b.address} weight={b.weight} {health};" for b in site.backends]
    return Directives(upstream=lines)
    # kata: end


def failover(site: Site) -> Directives:
    """When a backend fails a request, try the next one, within bounds of time and tries."""
    # kata: begin failover: proxy_next_upstream on errors, timeouts, 502 and 503; the timeouts and the tries
    return Directives(
        location=[
            "proxy_next_upstream error timeout http_502 http_503;",
            f"proxy_next_upstream_tries {site.tries};",
            f"proxy_connect_timeout {site.connect_timeout_s}s;",
            f"proxy_read_timeout {site.read_timeout_s}s;",
        ]
    )
    # kata: end


def keepalive(site: Site) -> Directives:
    """Reuse connections to the backends instead of opening one per request."""
    # kata: begin keepalive: a pool of idle upstream connections, HTTP/1.1 and no Connection: close
    if site.keepalive == 0:
        return Directives()
    return Directives(
        upstream=[
            f"keepalive {site.keepalive};",
            f"keepalive_timeout {site.keepalive_timeout_s}s;",
        ],
        location=["proxy_http_version 1.1;", 'proxy_set_header Connection "";'],
    )
    # kata: end


def forwarding(site: Site) -> Directives:
    """Tell the backend who the client is, what it asked for, and over which scheme."""
    # kata: begin forwarding: Host, X-Real-IP, X-Forwarded-For and X-Forwarded-Proto
    return Directives(
        location=[
            "proxy_set_header Host $host;",
            "proxy_set_header X-Real-IP $remote_addr;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
        ]
    )
    # kata: end


def limits(site: Site) -> Directives:
    """Refuse oversized requests at the edge, before they reach (and tie up) a backend."""
    # kata: begin limits: the largest body and the header buffers
    count, size = site.header_buffers
    return Directives(
        server=[
            f"client_max_body_size {site.max_body_bytes};",
            f"large_client_header_buffers {count} {size};",
        ]
    )
    # kata: end


PARTS: tuple[Callable[[Site], Directives], ...] = (failover, keepalive, forwarding, limits)


def _collect(site: Site) -> Directives:
    # The pool is the foundation: without it there is nothing to proxy to. A later part not
    # written yet adds nothing, so nginx runs on its defaults for that part.
    found = balancing(site)
    for part in PARTS:
        try:
            more = part(site)
        except NotImplementedError:
            continue
        found.upstream += more.upstream
        found.server += more.server
        found.location += more.location
    return found


def _block(lines: list[str], indent: str) -> str:
    return "".join(f"{indent}{line}\n" for line in lines)


def render(site: Site, workdir: Path) -> str:
    """The whole nginx.conf for ``nginx -p workdir``: every file it writes stays in workdir."""
    parts = _collect(site)
    # As root, nginx's workers would drop to 'nobody' and could not read the private folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(
        f"    {kind}_temp_path {workdir / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\n"
        f"pid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    access_log {workdir / 'access.log'};\n"
        f"{temps}"
        f"    upstream {UPSTREAM} {{\n{_block(parts.upstream, '        ')}    }}\n"
        "    server {\n"
        f"        listen 127.0.0.1:{site.port};\n"
        f"{_block(parts.server, '        ')}"
        "        location / {\n"
        f"            proxy_pass http://{UPSTREAM};\n"
        f"            proxy_bind {site.proxy_address};\n"
        f"{_block(parts.location, '            ')}"
        "        }\n"
        "    }\n"
        "}\n"
    )


def command(nginx: str, workdir: Path, site: Site) -> list[str]:
    """Write nginx.conf into workdir; the argv that runs nginx on it in the foreground."""
    (workdir / "nginx.conf").write_text(render(site, workdir))
    early_log = workdir / "error.log"  # for what nginx says before it reads error_log
    return [
        nginx,
        "-p",
        str(workdir),
        "-c",
        "nginx.conf",
        "-e",
        str(early_log),
        "-g",
        "daemon off;",
    ]
