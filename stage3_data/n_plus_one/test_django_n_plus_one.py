"""Django: count the queries of the naive listing and of the fixed one, at 5 and at 50 posts.

The proof that an N+1 is fixed is a query count that does not move when N does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def add_posts(count: int) -> None:
    """``count`` more posts by three authors in turn, two tags and three comments each (the
    third not approved; created newest first, so the id order is not the date order)."""
    from .blog.models import Author, Comment, Post, Tag

    authors = [Author.objects.get_or_create(name=name)[0] for name in ("Ada", "Bob", "Cy")]
    tags = [Tag.objects.get_or_create(name=name)[0] for name in ("django", "orm", "python", "sql")]
    start = Post.objects.count()
    for n in range(start, start + count):
        post = Post.objects.create(title=f"Post {n}", author=authors[n % 3])
        post.tags.set([tags[(n + 1) % 4], tags[n % 4]])
        Comment.objects.bulk_create(
            Comment(
                post=post,
                body=f"Comment {c} on post {n}",
                approved=c != 2,
                created=T0 + timedelta(minutes=3 * n + 3 - c),
            )
            for c in range(3)
        )


@pytest.mark.task(1)
def test_list_posts_takes_three_queries_for_5_or_50_posts(django_db: None) -> None:
    from .django_listing import list_posts, list_posts_naive

    counts: dict[str, list[int]] = {"naive": [], "fixed": []}
    for more in (5, 45):
        add_posts(more)
        with CaptureQueriesContext(connection) as naive_queries:
            naive = list_posts_naive()
        with CaptureQueriesContext(connection) as fixed_queries:
            fixed = list_posts()
        assert fixed == naive, "the fix changes the number of queries, never the result"
        counts["naive"].append(len(naive_queries))
        counts["fixed"].append(len(fixed_queries))

    assert naive[0] == {
        "title": "Post 0",
        "author": "Ada",
        "tags": ["django", "orm"],
        "comments": ["Comment 1 on post 0", "Comment 0 on post 0"],
    }, "the third comment is not approved; the others oldest first"
    assert counts["naive"] == [1 + 3 * 5, 1 + 3 * 50], "the naive listing: 1 + 3N queries"
    assert counts["fixed"] == [3, 3], (
        f"{counts['fixed']} queries for 5 and for 50 posts: the fixed listing must send three, "
        "whatever N: the posts JOINed to their authors (select_related), then one query for all "
        "the tags and one for all the approved comments (prefetch_related). A .filter() on a "
        "prefetched relation is a new query per post: filter inside a Prefetch instead"
    )
    posts_sql, comments_sql = fixed_queries[0]["sql"], fixed_queries[2]["sql"]
    assert 'JOIN "nplus_blog_author"' in posts_sql, f"the author comes in the JOIN: {posts_sql}"
    # "approved" is in the SELECT list anyway: look at the WHERE clause.
    _, _, where = comments_sql.partition(" WHERE ")
    assert '"nplus_blog_comment"."approved"' in where, (
        "unapproved comments are never shown: leave them in the database (a Prefetch whose "
        f"queryset filters them), do not fetch them to drop them: {comments_sql}"
    )
    _, _, order = where.partition(" ORDER BY ")
    assert order.startswith('"nplus_blog_comment"."created" ASC, "nplus_blog_comment"."id" ASC'), (
        f"oldest first, ties by id, sorted by the database: {comments_sql}"
    )


@pytest.mark.task(2)
def test_post_counts_is_one_query(django_db: None) -> None:
    from .blog.models import Author
    from .django_listing import post_counts, post_counts_naive

    # The models and the committed migration agree (exits 1 on drift: run makemigrations).
    call_command("makemigrations", "nplus_blog", "--check", "--dry-run", verbosity=0)

    add_posts(7)
    Author.objects.create(name="Dee")  # no posts yet
    with CaptureQueriesContext(connection) as naive_queries:
        naive = post_counts_naive()
    with CaptureQueriesContext(connection) as fixed_queries:
        fixed = post_counts()
    assert naive == {"Ada": 3, "Bob": 2, "Cy": 2, "Dee": 0}
    assert fixed == naive, "every author, Dee (no posts) included with 0"
    assert len(naive_queries) == 1 + 4, "the naive count: one COUNT query per author"
    assert len(fixed_queries) == 1, (
        "counting is an N+1 too: annotate(Count('posts')) does it in one GROUP BY query"
    )
