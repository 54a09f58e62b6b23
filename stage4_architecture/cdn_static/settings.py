"""The origin's static-file settings: the two a CDN depends on (task 1).

``origin_settings.py`` (given) is the Django settings module; it takes these two from here.
"""

from __future__ import annotations

# kata: begin hashed and precompressed names: WhiteNoise's compressed manifest storage; serve them with WhiteNoise's middleware
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
]
# kata: end
