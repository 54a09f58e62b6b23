"""SQLAlchemy: lazy loading counted, eager loading at a constant count, raiseload as a guard."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session, joinedload, selectinload

from .sa_listing import (
    Author,
    Post,
    PostView,
    QueryCounter,
    add_posts,
    eager_posts,
    forbid_lazy_loads,
    list_posts,
    naive_posts,
)


def listing(engine: Engine, stmt_name: str) -> tuple[list[PostView], list[str]]:
    """List the posts in a fresh session (an empty identity map) and record the statements."""
    stmt = naive_posts() if stmt_name == "naive" else eager_posts()
    with Session(engine) as session, QueryCounter(engine) as queries:
        return list_posts(session, stmt), queries.statements


@pytest.mark.task(3)
def test_eager_loading_takes_three_queries_for_5_or_50_posts(engine: Engine) -> None:
    counts: dict[str, list[int]] = {"naive": [], "eager": []}
    for more in (5, 45):
        with Session(engine) as session:
            add_posts(session, more)
        naive, naive_sql = listing(engine, "naive")
        eager, eager_sql = listing(engine, "eager")
        assert eager == naive, "loading up front changes the number of queries, not the result"
        counts["naive"].append(len(naive_sql))
        counts["eager"].append(len(eager_sql))

    assert naive[1] == {
        "title": "Post 1",
        "author": "Bob",
        "tags": ["orm", "python"],
        "comments": ["Comment 1 on post 1", "Comment 0 on post 1"],
    }
    assert counts["naive"] == [1 + 3 + 2 * 5, 1 + 3 + 2 * 50], (
        "lazy loading: the posts, then tags and comments per post (2N), and each of the three "
        "authors once (a many-to-one already in the identity map costs no query)"
    )
    assert counts["eager"] == [3, 3], (
        f"{counts['eager']} queries for 5 and for 50 posts: eager loading must send three, "
        "whatever N: the posts JOINed to their authors, one SELECT ... IN for all the tags, one "
        "for all the comments"
    )
    posts_sql, *collections_sql = eager_sql
    assert "JOIN authors" in posts_sql, (
        f"a many-to-one rides along in the posts query: joinedload(Post.author): {posts_sql}"
    )
    assert "ORDER BY posts.id" in posts_sql, (
        "order by id in SQL: without ORDER BY, PostgreSQL returns rows in whatever order it "
        f"finds them, which only looks like id order until a row is updated: {posts_sql}"
    )
    assert all("IN (" in sql and "JOIN authors" not in sql for sql in collections_sql), (
        "collections come from selectinload: a JOIN would repeat each post once per tag and per "
        f"comment (rows multiplied, then de-duplicated): {collections_sql}"
    )


@pytest.mark.task(4)
def test_raiseload_turns_a_lazy_load_into_an_error(engine: Engine) -> None:
    with Session(engine) as session:
        add_posts(session, 4)
    with (
        Session(engine) as session,
        pytest.raises(InvalidRequestError, match=r"'Post\.(author|tags|comments)' is not"),
    ):
        list_posts(session, forbid_lazy_loads(naive_posts()))
    with Session(engine) as session, QueryCounter(engine) as queries:
        strict = list_posts(session, forbid_lazy_loads(eager_posts()))
    assert [post["title"] for post in strict] == [f"Post {n}" for n in range(4)]
    assert queries.count == 3, (
        "with everything the listing touches loaded up front, raiseload never fires"
    )


@pytest.mark.task(4)
def test_raiseload_covers_every_relationship_not_loaded(engine: Engine) -> None:
    with Session(engine) as session:
        add_posts(session, 3)
    author_only = select(Post).options(joinedload(Post.author)).order_by(Post.id)
    with Session(engine) as session, pytest.raises(InvalidRequestError, match=r"'Post\.tags' is"):
        list_posts(session, forbid_lazy_loads(author_only))  # the author is loaded: tags raise
    collections_only = (
        select(Post).options(selectinload(Post.tags), selectinload(Post.comments)).order_by(Post.id)
    )
    with Session(engine) as session:
        # Every author is in the identity map, so post.author would need no SQL; raiseload("*")
        # still refuses it: the statement did not say to load it.
        authors = session.scalars(select(Author)).all()  # held: the identity map is weak
        with pytest.raises(InvalidRequestError, match=r"'Post\.author' is"):
            list_posts(session, forbid_lazy_loads(collections_only))
        assert len(authors) == 3
