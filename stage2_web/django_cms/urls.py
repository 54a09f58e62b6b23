"""The project's URLconf: the admin, and the public article pages of the cms app."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("articles/", include("stage2_web.django_cms.cms.urls")),
]
