"""The worker's entry point: ``celery -A stage4_architecture.celery_tasks.worker worker ...``.

It reads its deployment from the environment (``Deployment.environ`` names the variables).
"""

from . import tasks
from .app import Deployment, app, configure

__all__ = ["app", "tasks"]

configure(Deployment.from_environ())
