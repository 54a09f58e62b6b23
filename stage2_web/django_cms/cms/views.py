"""The V of MTV: fetch through the model, render through a template."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from .models import Article


@csrf_exempt  # a read-only page: any other method is a 405 below, not a CSRF 403
@require_safe
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A published article by slug; drafts and scheduled articles are a 404 to the public."""
    queryset = Article.objects.published().select_related("author", "category")
    article = get_object_or_404(queryset, slug=slug)
    return render(request, "cms/article_detail.html", {"article": article})
