"""The model layer: the published() queryset, __str__, get_absolute_url, the public page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import include, path
from django.utils import timezone

from .conftest import ArticleFactory

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PUBLISHED = "published"  # Article.Status.PUBLISHED: a TextChoices member is a str


@pytest.mark.task(1)
def test_published_keeps_public_articles_newest_first(make_article: ArticleFactory) -> None:
    from .cms.models import Article

    # Created in an order that is neither the expected one nor its reverse.
    make_article("Fresh", status=PUBLISHED, published_at=NOW - timedelta(hours=1))
    make_article("Old news", status=PUBLISHED, published_at=NOW - timedelta(days=30))
    make_article("On the dot", status=PUBLISHED, published_at=NOW)
    make_article("Scheduled", status=PUBLISHED, published_at=NOW + timedelta(minutes=1))
    make_article("Draft with a date", published_at=NOW - timedelta(days=1))
    make_article("Draft")

    got = [article.title for article in Article.objects.published(now=NOW)]
    assert got == ["On the dot", "Fresh", "Old news"], (
        "only PUBLISHED articles whose published_at <= now (an article due exactly now is "
        "public, a scheduled one is not), ordered by published_at, newest first"
    )
    starting_with_o = Article.objects.published(now=NOW).filter(title__startswith="O")
    assert [a.title for a in starting_with_o] == ["On the dot", "Old news"], (
        "published() returns a QuerySet (lazy, chainable), not a list"
    )


# datetime.now() is naive (and local time): Django warns, and the comparison is off by the UTC offset
@pytest.mark.task(1)
@pytest.mark.filterwarnings("error:DateTimeField .* received a naive datetime:RuntimeWarning")
def test_migrations_match_models_and_published_defaults_to_now(
    make_article: ArticleFactory,
) -> None:
    from .cms.models import Article

    # Raises SystemExit(1) when the models changed without a migration: commit migrations.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)

    make_article("Yesterday", status=PUBLISHED, published_at=timezone.now() - timedelta(days=1))
    make_article("Next year", status=PUBLISHED, published_at=timezone.now() + timedelta(days=365))
    got = [article.title for article in Article.objects.published()]
    assert got == ["Yesterday"], "without an argument, now is timezone.now() (aware, UTC)"


@pytest.mark.task(2)
def test_str_is_the_title(make_article: ArticleFactory) -> None:
    article = make_article("Hello, World", status=PUBLISHED, published_at=NOW)

    assert str(article) == "Hello, World", "__str__ is what the admin shows in titles and messages"


@pytest.mark.task(3)
def test_url_is_the_public_page(make_article: ArticleFactory) -> None:
    article = make_article("Hello, World", status=PUBLISHED, published_at=NOW)

    assert article.get_absolute_url() == "/articles/hello-world/", (
        "reverse the namespaced route 'cms:article-detail' with the slug; never build URLs by hand"
    )

    class BlogUrls:  # a project that mounts the cms app elsewhere
        urlpatterns = (path("blog/", include("stage2_web.django_cms.cms.urls")),)

    with override_settings(ROOT_URLCONF=BlogUrls):
        assert article.get_absolute_url() == "/blog/hello-world/", (
            "the URLconf decides where the app lives: reverse() follows it, a hand-built URL does not"
        )


@pytest.mark.task(1)
def test_public_page_shows_published_articles_only(make_article: ArticleFactory) -> None:
    client = Client()
    live = make_article(
        "Live",
        status=PUBLISHED,
        published_at=timezone.now() - timedelta(minutes=5),
        body="Hello, readers.",
    )
    draft = make_article("Secret plans")
    scheduled = make_article(
        "Tomorrow", status=PUBLISHED, published_at=timezone.now() + timedelta(days=1)
    )

    page = client.get(live.get_absolute_url())
    assert page.status_code == 200, "a published article is public"
    html = page.content.decode()
    assert "<h1>Live</h1>" in html and "Hello, readers." in html and "Ada Lovelace" in html
    for hidden in (draft, scheduled):
        response = client.get(hidden.get_absolute_url())
        assert response.status_code == 404, f"{hidden.title!r} is not public yet: 404"
