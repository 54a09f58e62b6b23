"""Django settings of the origin: the app process that the edge (Varnish) sits in front of.

The origin runs in its own process (gunicorn, started by the tests), so these settings are the
kata's own, not the harness's shared Django configuration. ``CDN_STATIC_ROOT`` is where
``collectstatic`` writes the deployable files and ``CDN_ASSETS`` where it reads the sources; the
tests point both at temporary folders, so a deploy never touches the kata's own files. The two
settings a CDN depends on, ``STORAGES`` and ``MIDDLEWARE``, are yours, in ``settings.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from katas.kit import BASE_SETTINGS

from .caching import cache_headers

KATA = Path(__file__).resolve().parent

globals().update(BASE_SETTINGS)
DEBUG = False
INSTALLED_APPS = ["django.contrib.staticfiles"]
ROOT_URLCONF = "stage4_architecture.cdn_static.origin"
DATABASES: dict[str, Any] = {}  # the origin serves pages and files, no database
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [KATA / "templates"],
    }
]
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("CDN_STATIC_ROOT", str(KATA / "collected"))
STATICFILES_DIRS = [os.environ.get("CDN_ASSETS", str(KATA / "assets"))]
WHITENOISE_ADD_HEADERS_FUNCTION = cache_headers

# Yours (task 1), imported last: they replace what BASE_SETTINGS set.
from .settings import MIDDLEWARE, STORAGES  # noqa: E402, F401
