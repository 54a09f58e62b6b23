"""Fixtures of the N+1 kata: a SQLAlchemy engine on a fresh database of its own.

The Django half runs on the harness's shared Django configuration (``django_db``: a transaction
rolled back after each test); model modules need a configured Django, so the tests import them
inside the test functions.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from .sa_listing import Base, make_engine


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()
