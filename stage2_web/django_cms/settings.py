"""Settings for running the CMS by hand (``django-admin runserver``); tests use the shared ones.

The tests run on the harness's one Django configuration (``katas.django_project``), which installs
this kata's app beside every other Django kata's; this module adds only what is the CMS's own.
"""

from __future__ import annotations

import os

import django_stubs_ext

from katas.kit import BASE_SETTINGS, CONTRIB_APPS, database_from_url

# Lets `admin.ModelAdmin[Article]` and friends be subscripted at run time, as the type stubs want.
django_stubs_ext.monkeypatch()

globals().update(BASE_SETTINGS)
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
INSTALLED_APPS = [*CONTRIB_APPS, "stage2_web.django_cms.cms.apps.CmsConfig"]
ROOT_URLCONF = "stage2_web.django_cms.urls"
DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/django_cms")
    ),
}
