"""The bench's tiny framework apps: the same ``GET /hello`` JSON answer in FastAPI, Flask, Django.

This module is also the Django settings module and URLconf (``DJANGO_SETTINGS_MODULE`` points
here): no database, no installed apps, no middleware — the least Django can do.
"""

from __future__ import annotations

import os
from typing import Any
from wsgiref.types import WSGIApplication

import fastapi
import flask

PAYLOAD = {"message": "hello, world"}

# --- FastAPI (ASGI) ---

fastapi_app = fastapi.FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@fastapi_app.get("/hello")
async def fastapi_hello() -> dict[str, str]:
    return PAYLOAD


# --- Flask (WSGI) ---

flask_app = flask.Flask(__name__)


@flask_app.get("/hello")
def flask_hello() -> dict[str, str]:
    return PAYLOAD


# --- Django (WSGI): settings, URLconf and view in one module ---

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, Any] = {}
USE_TZ = True


def django_hello(request: Any) -> Any:
    from django.http import JsonResponse

    return JsonResponse(PAYLOAD)


def _urlpatterns() -> list[Any]:
    from django.urls import path

    return [path("hello", django_hello)]


def __getattr__(name: str) -> Any:
    # Django reads ``urlpatterns`` lazily, after settings are configured.
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


def django_wsgi() -> WSGIApplication:
    """The Django WSGI app; gunicorn calls it as ``bench_apps:django_wsgi()``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
    from django.core.wsgi import get_wsgi_application

    app: WSGIApplication = get_wsgi_application()
    return app
