"""Fuzzing against ``openapi.yaml``: the public page and the changelist, over the network.

Django writes no OpenAPI document, so the kata keeps one for the two pages whose behaviour is
yours: the article page (task 1's ``published()``) and the article changelist (task 4's filters,
search and date drill-down), sent signed in as a superuser. The app runs under werkzeug on real
commits (a server thread cannot see a test's uncommitted transaction). A hundred requests per
operation, the same ones on every run. Left out, with the reasons: "schema-invalid data is
refused" (like most HTML apps, the admin ignores what it does not know: an unknown status shows an
empty list; a status the document does not list is still caught), and, for the admin only, "an
undeclared method is a 405" (Django's admin views answer any method: POST carries the actions,
and even TRACE gets the list).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from django.test import Client, override_settings
from django.utils import timezone

from katas.kit import contract_settings, load_contract, serve_wsgi

DOCUMENT = Path(__file__).with_name("openapi.yaml")

schema = load_contract(
    lambda: schemathesis.openapi.from_dict(yaml.safe_load(DOCUMENT.read_text(encoding="utf-8")))
)


@pytest.fixture
def site(django_transactional_db: None) -> Iterator[tuple[str, dict[str, str]]]:
    """The served CMS with two articles, and the session cookie of a signed-in superuser."""
    from django.contrib.auth.models import User
    from django.core.handlers.wsgi import WSGIHandler

    from .cms.models import Article, Author, Category

    author = Author.objects.create(name="Ada Lovelace", email="ada@example.com")
    news = Category.objects.create(name="News", slug="news")
    for title, status in (("Engines", "published"), ("Notes", "draft")):
        Article.objects.create(
            title=title,
            slug=title.lower(),
            author=author,
            category=news,
            status=status,
            published_at=timezone.now() - timedelta(days=1),
        )
    browser = Client()
    browser.force_login(User.objects.create_superuser("editor", password=None))
    cookies = {"sessionid": browser.cookies["sessionid"].value}
    with (
        override_settings(ROOT_URLCONF="stage2_web.django_cms.urls"),
        serve_wsgi(WSGIHandler()) as port,
    ):
        yield f"http://127.0.0.1:{port}", cookies


def check(case: schemathesis.Case[Any], site: tuple[str, dict[str, str]], *excluded: Any) -> None:
    # No 5xx, statuses and bodies as documented, documented input accepted.
    base_url, cookies = site
    case.call_and_validate(
        base_url=base_url,
        cookies=cookies,
        excluded_checks=[schemathesis.checks.negative_data_rejection, *excluded],
    )


@pytest.mark.task(1)
@schema.include(path_regex="^/articles/").parametrize()
@contract_settings(max_examples=100)
def test_public_page_contract(
    case: schemathesis.Case[Any], site: tuple[str, dict[str, str]]
) -> None:
    check(case, site)


@pytest.mark.task(4)
@schema.include(path_regex="^/admin/").parametrize()
@contract_settings(max_examples=100)
def test_changelist_contract(
    case: schemathesis.Case[Any], site: tuple[str, dict[str, str]]
) -> None:
    check(case, site, schemathesis.checks.unsupported_method)
