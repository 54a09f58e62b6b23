"""The project's URLconf: the admin, and the public article pages of the cms app."""

from django.contrib import admin
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import include, path


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A 400 that says why: the message of a ``BadRequest`` (Django's own page gives none)."""
    reason = str(exception) if isinstance(exception, BadRequest) else "Bad Request"
    return HttpResponseBadRequest(f"{reason}\n", content_type="text/plain; charset=utf-8")


handler400 = bad_request
urlpatterns = [
    path("admin/", admin.site.urls),
    path("articles/", include("stage2_web.django_cms.cms.urls")),
]
