"""gunicorn's settings for every backend, read with ``-c python:<this module>``.

The command line adds what differs per backend: the address to bind, the number of workers and
the worker class. gunicorn reads this module again on a reload (SIGHUP to the master).
"""

from .nginx_conf import KEEPALIVE_TIMEOUT_S, PROXY_ADDRESS

# kata: begin gunicorn settings: believe proxy headers from nginx's address only; keep idle connections open longer than nginx does
forwarded_allow_ips = PROXY_ADDRESS
keepalive = KEEPALIVE_TIMEOUT_S + 15
# kata: end
