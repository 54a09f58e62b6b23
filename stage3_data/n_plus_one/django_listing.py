"""The N+1 problem in Django: a listing that queries once per row, and the fix.

``list_posts_naive`` is the code everyone writes first: it looks like one query and sends
1 + 3N. ``list_posts`` must return exactly the same thing in a number of queries that does not
depend on N. Import this module only once Django is configured (the tests do it inside the
test functions).
"""

from __future__ import annotations

from typing import TypedDict

from django.db.models import Count, Prefetch

from .blog.models import Author, Comment, Post


class PostView(TypedDict):
    title: str
    author: str
    tags: list[str]  # by name
    comments: list[str]  # the approved comments' bodies, oldest first


def list_posts_naive() -> list[PostView]:
    """Every post, by id. One query for the posts, then three more for EACH post: its author,
    its tags, its approved comments. 1 + 3N queries."""
    return [
        {
            "title": post.title,
            "author": post.author.name,  # a query: the author is not loaded yet
            "tags": [tag.name for tag in post.tags.all()],  # a query
            "comments": [  # a query
                comment.body
                for comment in post.comments.filter(approved=True).order_by("created", "pk")
            ],
        }
        for post in Post.objects.order_by("pk")
    ]


def list_posts() -> list[PostView]:
    """What list_posts_naive returns, in three queries whatever the number of posts."""
    # kata: begin select_related("author"), prefetch_related("tags", Prefetch("comments", approved ones by created, pk, to_attr="approved_comments")); build the same dicts from post.approved_comments
    approved = Prefetch(
        "comments",
        queryset=Comment.objects.filter(approved=True).order_by("created", "pk"),
        to_attr="approved_comments",
    )
    posts = Post.objects.select_related("author").prefetch_related("tags", approved).order_by("pk")
    return [
        {
            "title": post.title,
            "author": post.author.name,
            "tags": [tag.name for tag in post.tags.all()],
            "comments": [comment.body for comment in post.approved_comments],
        }
        for post in posts
    ]
    # kata: end


def post_counts_naive() -> dict[str, int]:
    """{author name: number of posts}, every author. 1 + N queries: a COUNT per author."""
    return {author.name: author.posts.count() for author in Author.objects.all()}


def post_counts() -> dict[str, int]:
    """What post_counts_naive returns (authors without posts too), in one query."""
    # kata: begin annotate each Author with Count("posts"); values_list of (name, count)
    return dict(
        Author.objects.annotate(post_count=Count("posts")).values_list("name", "post_count")
    )
    # kata: end
