"""gunicorn's settings in the container, read with ``--config gunicorn_conf.py`` from /app.

The command line (the Dockerfile's CMD) names the worker class and the app; everything about how
the server lives inside a container is here. ``gunicorn --print-config`` shows what it resolves.
"""

import os

# kata: begin listen on every interface at $PORT (8000), $WEB_CONCURRENCY workers (2), a graceful stop shorter than docker stop's 10 s, logs and heartbeats that work on a read-only root
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# docker stop sends SIGKILL 10 s after SIGTERM (Kubernetes: 30 s): drain before that, with margin
graceful_timeout = 5
accesslog = "-"
# Heartbeat files on tmpfs: /tmp may be read-only or a slow overlay filesystem.
worker_tmp_dir = "/dev/shm"
# gunicorn 25.1+ opens a control socket under $HOME, which a non-root user without a home lacks.
control_socket_disable = True
# kata: end
