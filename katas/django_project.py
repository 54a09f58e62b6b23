"""One Django configuration for every Django kata in a test run.

Django's settings belong to the whole process, and one pytest run may hold several Django katas
(the stage-2 CMS, the stage-3 ORM katas). So the harness configures Django once, with the apps of
every kata that lists ``django_apps`` in its kata.toml, on a test database of the run's own on
the katas PostgreSQL server; what is a kata's own (its URLconf, say) it sets per test with
``django.test.override_settings``. Nothing here runs unless a Django kata's test asks for it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from katas import catalog
from katas.services import scratch_name

CONTRIB_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

BASE_SETTINGS: dict[str, Any] = {
    "SECRET_KEY": "django-insecure-for-the-katas-only",
    "DEBUG": False,
    "ALLOWED_HOSTS": ["testserver", "127.0.0.1", "localhost"],
    "MIDDLEWARE": [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    "ROOT_URLCONF": "katas.django_urls",
    "TEMPLATES": [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [],
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ],
            },
        },
    ],
    "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
    "USE_TZ": True,
    "TIME_ZONE": "UTC",
    "LANGUAGE_CODE": "en-us",
    "STATIC_URL": "static/",
    # Tests log users in without real password hashing: hashing costs a few hundred ms each.
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
}


def database_from_url(url: str) -> dict[str, Any]:
    """A DATABASES entry from a libpq URL; psycopg parses it (escapes, socket hosts and all)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": params.pop("dbname", "postgres"),
        "USER": params.pop("user", ""),
        "PASSWORD": params.pop("password", ""),
        "HOST": params.pop("host", ""),
        "PORT": str(params.pop("port", "")),
        "OPTIONS": params,
    }


def kata_apps() -> list[str]:
    """Every Django app the katas declare (kata.toml ``django_apps``), stage by stage.

    Read straight from the kata.toml files: one unfinished kata elsewhere in the repository
    must not stop the Django katas from running.
    """
    try:
        root = catalog.find_root()
    except catalog.CatalogError:  # a test run from elsewhere: the tree this harness is in
        root = catalog.find_root(Path(__file__).resolve().parent)
    apps: list[str] = []
    for stage in catalog.STAGES:
        for manifest in sorted((root / stage).glob("*/kata.toml")):
            try:
                declared = tomllib.loads(manifest.read_text(encoding="utf-8")).get(
                    "django_apps", []
                )
            except tomllib.TOMLDecodeError:
                continue  # the catalog reports it, with the file and the fix
            apps.extend(str(app) for app in declared)
    return apps


def configure(database_url: str) -> None:
    """Configure Django for this process (once) with every kata app, on ``database_url``."""
    import django
    import django_stubs_ext
    from django.conf import settings

    # Kata admins subclass `admin.ModelAdmin[Model]`, as the type stubs want; Django's classes
    # accept the subscript at run time only after this patch.
    django_stubs_ext.monkeypatch()
    if not settings.configured:
        settings.configure(
            **BASE_SETTINGS,
            INSTALLED_APPS=[*CONTRIB_APPS, *kata_apps()],
            DATABASES={"default": database_from_url(database_url)},
        )
    django.setup()


def test_database(database_url: str) -> Iterator[None]:
    """Create and migrate a test database of this run's own; drop it afterwards."""
    from django.conf import settings
    from django.test.utils import (
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    configure(database_url)
    # A name of this run's own: parallel runs against one server never drop each other's.
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = scratch_name("test_katas")
    setup_test_environment()
    try:
        created = setup_databases(verbosity=0, interactive=False, serialized_aliases=())
        try:
            yield
        finally:
            teardown_databases(created, verbosity=0)
    finally:
        teardown_test_environment()
