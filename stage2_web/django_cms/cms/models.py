"""The M of MTV: authors, categories and articles, with a queryset for what the public may see.

The fields are given (the committed migration must match them); the methods are yours. Each
field is annotated ``Field[type you assign, type you read]`` for mypy, which (without the
django-stubs mypy plugin) cannot infer it.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.db import models
from django.urls import reverse
from django.utils import timezone


class Author(models.Model):
    name: models.CharField[str, str] = models.CharField(max_length=100)
    email: models.EmailField[str, str] = models.EmailField(unique=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    name: models.CharField[str, str] = models.CharField(max_length=100, unique=True)
    slug: models.SlugField[str, str] = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ("name",)
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ArticleQuerySet(models.QuerySet["Article"]):
    def published(self, now: datetime | None = None) -> ArticleQuerySet:
        """What the public may see at ``now`` (default: the current time), newest first."""
        # kata: begin keep status PUBLISHED with published_at <= now (default timezone.now()), newest first
        if now is None:
            now = timezone.now()
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=now).order_by(
            "-published_at"
        )
        # kata: end


class ArticleManager(models.Manager["Article"]):
    """``Article.objects``: hands out ArticleQuerySets, so ``Article.objects.published()`` works."""

    def get_queryset(self) -> ArticleQuerySet:
        return ArticleQuerySet(self.model, using=self._db)

    def published(self, now: datetime | None = None) -> ArticleQuerySet:
        return self.get_queryset().published(now)


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title: models.CharField[str, str] = models.CharField(max_length=200)
    slug: models.SlugField[str, str] = models.SlugField(max_length=200, unique=True)
    author: models.ForeignKey[Author, Author] = models.ForeignKey(
        Author, on_delete=models.PROTECT, related_name="articles"
    )
    category: models.ForeignKey[Category | None, Category | None] = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="articles"
    )  # optional: deleting a category leaves its articles uncategorised
    author_id: int  # the foreign keys' raw columns, declared for mypy
    category_id: int | None
    body: models.TextField[str, str] = models.TextField(blank=True)
    status: models.CharField[str, str] = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    published_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now_add=True)
    updated_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now=True)

    objects: ClassVar[ArticleManager] = ArticleManager()

    class Meta:
        ordering = ("-created_at",)
        permissions = (("publish_article", "Can publish articles"),)
        indexes = (models.Index(fields=("status", "-published_at"), name="cms_article_public"),)
        constraints = (
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(published_at__isnull=False),
                name="cms_article_published_has_date",
                violation_error_message="A published article needs a publish date.",
            ),
        )

    def __str__(self) -> str:
        # kata: begin return the article's title
        return self.title
        # kata: end

    def get_absolute_url(self) -> str:
        # kata: begin reverse the "cms:article-detail" URL with this article's slug
        return reverse("cms:article-detail", kwargs={"slug": self.slug})
        # kata: end
