"""A service instance as a real process: ``python -m stage4_architecture.service_discovery.worker``.

It listens on its port, registers itself in etcd (or Consul), heartbeats, and on SIGTERM or SIGINT
deregisters before it exits. SIGKILL gives it no such chance: then only the TTL removes it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from .consul import ConsulRegistry
from .etcd import EtcdRegistry
from .instance import run_instance, serve_identity
from .registry import Instance


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--etcd", help="etcd client URL, e.g. http://127.0.0.1:2379")
    parser.add_argument("--consul", help="Consul agent URL, e.g. http://127.0.0.1:8500")
    parser.add_argument("--root", default="/services", help="etcd key prefix of the registry")
    parser.add_argument("--service", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ttl", type=int, default=10)
    args = parser.parse_args(argv)
    if (args.etcd is None) == (args.consul is None):
        parser.error("give exactly one of --etcd and --consul")
    return args


async def main(args: argparse.Namespace) -> None:
    instance = Instance(args.service, args.id, args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    registry: EtcdRegistry | ConsulRegistry = (
        EtcdRegistry(args.etcd, root=args.root) if args.etcd else ConsulRegistry(args.consul)
    )
    # Listen before registering: a client may connect the moment the instance is listed.
    server = await serve_identity(instance)
    async with registry, server:
        await run_instance(registry, instance, args.ttl, stop)


if __name__ == "__main__":
    asyncio.run(main(parse()))
