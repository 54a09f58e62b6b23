"""The origin's pages: the HTML that names the hashed files, and a health check for the edge.

A page cannot have a hashed name: its URL is what people type and link to. So it is cached
briefly, and revalidated cheaply: its ``ETag`` lets a cache ask "has it changed?" and get a
``304 Not Modified`` with no body when it has not.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import path
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from django.views.decorators.http import require_safe

PAGE_EDGE_TTL = 60  # seconds a shared cache (the edge) may keep a page; browsers revalidate


@require_safe
def index(request: HttpRequest) -> HttpResponseBase:
    """The home page: every browser revalidates it (``max-age=0``), the edge keeps it for
    ``PAGE_EDGE_TTL`` seconds (``s-maxage``); an ``ETag`` of its content, and ``304`` when the
    request's ``If-None-Match`` names it."""
    # kata: begin render the page, public with max-age 0 and s-maxage PAGE_EDGE_TTL, an ETag of its content, 304 when it matches
    response = render(request, "cdn_static/index.html")
    patch_cache_control(response, public=True, max_age=0, s_maxage=PAGE_EDGE_TTL)
    set_response_etag(response)
    return get_conditional_response(request, etag=response["ETag"], response=response) or response
    # kata: end


def healthz(request: HttpRequest) -> HttpResponse:
    """What the edge's health probe asks; never cached."""
    response = HttpResponse("ok\n", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [path("", index), path("healthz", healthz)]
