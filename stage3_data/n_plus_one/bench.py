"""N+1 versus eager loading, SQLAlchemy on a local PostgreSQL, at 10, 100 and 1,000 posts.

Each post has three comments and two tags. The naive listing sends 1 + 2N (+ authors) queries,
the eager one three (selectinload splits IN lists of more than 500 ids: five at 1,000). Even at
a fraction of a millisecond per round trip on localhost, the round trips dominate; over a real
network (a millisecond or more each) the gap grows with the latency.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import Engine, Select
from sqlalchemy.orm import Session

from katas.kit import Ratio, best_time, postgres_database

from .sa_listing import Base, Post, add_posts, eager_posts, list_posts, make_engine, naive_posts

SIZES = (10, 100, 1000)


def listing(engine: Engine, stmt: Select[Post], size: int) -> None:
    with Session(engine) as session:  # a fresh session: an empty identity map every time
        assert len(list_posts(session, stmt)) == size


def bench() -> list[Ratio]:
    ratios = []
    with postgres_database() as url:
        engine = make_engine(url)
        try:
            Base.metadata.create_all(engine)
            posts = 0
            for size in SIZES:
                with Session(engine) as session:
                    add_posts(session, size - posts)
                posts = size
                ratios.append(
                    Ratio(
                        f"list {size:,} posts with their author, tags, comments",
                        "lazy loads (N+1)",
                        "joinedload + selectinload",
                        best_time(partial(listing, engine, naive_posts(), size), repeat=3),
                        best_time(partial(listing, engine, eager_posts(), size), repeat=3),
                        "s",
                    )
                )
        finally:
            engine.dispose()
    return ratios
