"""Fixtures of the CMS kata, on the harness's shared Django configuration.

``django_db`` (from the katas plugin) gives each test a transaction that is rolled back; the
fixture below points URLs at this kata's URLconf. Model modules need a configured Django, so the
tests import them inside the test functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client, override_settings
from django.utils.text import slugify

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .cms.models import Article

ArticleFactory = Callable[..., "Article"]


@pytest.fixture
def db(django_db: None) -> Iterator[None]:
    """This kata's database access: the shared Django test database, with the CMS URLconf."""
    with override_settings(ROOT_URLCONF="stage2_web.django_cms.urls"):
        yield


@pytest.fixture
def superuser(db: None) -> User:
    from django.contrib.auth.models import User

    # No password: force_login needs none, and hashing one costs a few hundred milliseconds.
    return User.objects.create_superuser("editor", "editor@example.com", password=None)


@pytest.fixture
def admin_client(superuser: User) -> Client:
    """A test client logged in as a superuser."""
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def make_article(db: None) -> ArticleFactory:
    """``make_article(title, author="Ada Lovelace", category="News", **fields)``: a saved Article.

    Authors and categories are created on first use of their name and reused after.
    """
    from .cms.models import Article, Author, Category

    def make(
        title: str,
        *,
        author: str = "Ada Lovelace",
        category: str = "News",
        status: str = "draft",
        published_at: datetime | None = None,
        **fields: Any,
    ) -> Article:
        writer, _ = Author.objects.get_or_create(
            name=author, defaults={"email": f"{slugify(author)}@example.com"}
        )
        section, _ = Category.objects.get_or_create(
            name=category, defaults={"slug": slugify(category)}
        )
        fields.setdefault("slug", slugify(title))
        return Article.objects.create(
            title=title,
            author=writer,
            category=section,
            status=status,
            published_at=published_at,
            **fields,
        )

    return make
