"""gunicorn's settings for the service, read with ``-c python:<this module>``.

prometheus_client's multiprocess mode: every worker writes its metric values to memory-mapped
files in ``PROMETHEUS_MULTIPROC_DIR`` (set in the environment before any worker imports the
client), and ``/metrics`` sums them, whichever worker serves the scrape.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

worker_class = "uvicorn_worker.UvicornWorker"


def on_starting(server: Any) -> None:
    """Start from an empty folder: files left by an earlier run would be summed in."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


# kata: begin when a worker exits, tell prometheus_client so its live gauges stop counting
def child_exit(server: Any, worker: Any) -> None:
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


# kata: end
