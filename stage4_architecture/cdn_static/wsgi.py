"""The origin's WSGI application, for gunicorn: ``stage4_architecture.cdn_static.wsgi``."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stage4_architecture.cdn_static.origin_settings")
application = get_wsgi_application()
