"""An empty URLconf: the default of the shared Django settings; katas override it per test."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
