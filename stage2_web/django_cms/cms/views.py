"""The V of MTV: fetch through the model, render through a template."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Article


def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A published article by slug; drafts and scheduled articles are a 404 to the public."""
    queryset = Article.objects.published().select_related("author", "category")
    article = get_object_or_404(queryset, slug=slug)
    return render(request, "cms/article_detail.html", {"article": article})
