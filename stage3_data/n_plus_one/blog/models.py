"""A blog: authors write posts, readers comment (comments are moderated), posts carry tags.

The models are given (the committed migration must match them). Each field is annotated
``Field[type you assign, type you read]`` for mypy, which (without the django-stubs mypy
plugin) cannot infer it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


class Author(models.Model):
    name: models.CharField[str, str] = models.CharField(max_length=100, unique=True)

    if TYPE_CHECKING:
        posts: RelatedManager[Post]  # the reverse side of Post.author

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name: models.CharField[str, str] = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    author: models.ForeignKey[Author, Author] = models.ForeignKey(
        Author, on_delete=models.CASCADE, related_name="posts"
    )
    author_id: int
    title: models.CharField[str, str] = models.CharField(max_length=200)
    tags: models.ManyToManyField[Tag, Tag] = models.ManyToManyField(
        Tag, related_name="posts", blank=True
    )

    if TYPE_CHECKING:
        comments: RelatedManager[Comment]  # the reverse side of Comment.post
        # Filled by Prefetch("comments", ..., to_attr="approved_comments"): a plain list.
        approved_comments: list[Comment]

    class Meta:
        ordering = ("pk",)

    def __str__(self) -> str:
        return self.title


class Comment(models.Model):
    post: models.ForeignKey[Post, Post] = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="comments"
    )
    body: models.TextField[str, str] = models.TextField()
    approved: models.BooleanField[bool, bool] = models.BooleanField(default=False)
    created: models.DateTimeField[datetime, datetime] = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created", "pk")

    def __str__(self) -> str:
        return self.body[:40]
