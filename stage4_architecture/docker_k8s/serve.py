"""Run the service under uvicorn, with the shutdown Kubernetes expects: ``python -m docker_k8s.serve``.

On SIGTERM the kubelet and the endpoints controller act at the same time: the pod is removed from
the Service's endpoints while the process is told to stop, and load balancers learn of it a little
later. So the process first only turns unready and keeps serving for DRAIN_SECONDS; then uvicorn
closes the listening socket, lets in-flight requests finish (at most SHUTDOWN_TIMEOUT_SECONDS),
runs the lifespan shutdown and the process exits 0, all before the kubelet's SIGKILL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from types import FrameType

import uvicorn

from .app import Lifecycle, Phase, create_app
from .settings import ConfigError, Settings

log = logging.getLogger("docker_k8s")


class DrainingServer(uvicorn.Server):
    """uvicorn, except that the first SIGTERM drains before it stops."""

    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle, drain_seconds: float) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle
        self.drain_seconds = drain_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Called from the signal handler; uvicorn's own re-raises the signal after shutdown,
        which would end the process with status 143 instead of 0."""
        # kata: begin SIGTERM: turn unready, stop after the drain; a second one stops now
        if sig != signal.SIGTERM:
            super().handle_exit(sig, frame)  # Ctrl-C in a terminal: uvicorn's behaviour
        elif self.lifecycle.phase is Phase.DRAINING:
            self.should_exit = True
        else:
            log.info("SIGTERM: draining for %gs before stopping", self.drain_seconds)
            self.lifecycle.begin_drain()
            loop = asyncio.get_running_loop()
            loop.call_soon_threadsafe(loop.call_later, self.drain_seconds, self.stop)
        # kata: end

    def stop(self) -> None:
        """Close the listener and finish what is in flight (uvicorn's graceful shutdown)."""
        self.should_exit = True


def build_server(settings: Settings, lifecycle: Lifecycle) -> DrainingServer:
    """The server for ``settings``: its address, the app, and the shutdown timeout."""
    # kata: begin configure uvicorn: the app, host and port, and the graceful shutdown timeout
    config = uvicorn.Config(
        create_app(settings, lifecycle),
        host=settings.host,
        port=settings.port,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        log_level="info",
    )
    return DrainingServer(config, lifecycle, settings.drain_seconds)
    # kata: end


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as error:
        raise SystemExit(f"docker_k8s: configuration error: {error}") from None
    build_server(settings, Lifecycle()).run()


if __name__ == "__main__":
    main()
