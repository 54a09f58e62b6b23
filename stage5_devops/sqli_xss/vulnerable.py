"""The shop as it should never be written: every query and every page here is injectable.

Given code, to attack (the tests run the whole corpus of ``payloads.py`` against it) and to
compare with ``safe.py``, which has the same functions. Every flaw is a common one:

- SQL built with f-strings: values, identifiers, ORDER BY and LIKE patterns alike;
- Django's ``raw()`` and ``extra()`` fed formatted strings;
- Jinja2 with autoescape off, ``Markup(user_input)``, ``|safe`` on stored HTML, an unquoted
  attribute, and a user-supplied URL in ``href``;
- a Content-Security-Policy that allows inline script, and a session cookie without flags.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from jinja2 import DictLoader, Environment
from markupsafe import Markup

from .store import Conn

# --- SQL ---------------------------------------------------------------------------------------


def login(conn: Conn, username: str, password: str) -> int | None:
    query = (
        f"SELECT id FROM users WHERE username = '{username}' AND password_hash = "
        f"encode(sha256(convert_to(salt || '{password}', 'UTF8')), 'hex')"
    )
    row = conn.execute(query).fetchone()
    return None if row is None else int(row[0])


def search_products(conn: Conn, term: str) -> list[tuple[str, Decimal]]:
    query = (
        f"SELECT name, price FROM products WHERE published AND name ILIKE '%{term}%' ORDER BY name"
    )
    return [(str(name), price) for name, price in conn.execute(query)]


def sorted_products(conn: Conn, column: str, direction: str) -> list[str]:
    query = f"SELECT name FROM products WHERE published ORDER BY {column} {direction}, id"
    return [str(name) for (name,) in conn.execute(query)]


def table_rows(conn: Conn, table: str) -> list[tuple[int, str]]:
    query = f"SELECT id, name FROM {table} ORDER BY id"
    return [(int(row_id), str(name)) for row_id, name in conn.execute(query)]


# --- Django (needs configured settings; models are imported when called) -----------------------


def django_users_named(username: str) -> list[str]:
    from django.contrib.auth.models import User

    query = f"SELECT * FROM auth_user WHERE username = '{username}' ORDER BY username"
    return [user.username for user in User.objects.raw(query)]


def django_users_starting(prefix: str) -> list[str]:
    from django.contrib.auth.models import User

    # `%%`: Django passes extra() SQL through the driver's %-formatting.
    users = User.objects.extra(where=[f"username LIKE '{prefix}%%'"]).order_by("username")
    return list(users.values_list("username", flat=True))


# --- HTML --------------------------------------------------------------------------------------

TEMPLATES = {
    "base.html": (
        "<!doctype html><html><head><title>Shop</title></head><body>"
        "{% block body %}{% endblock %}"
        '<script>document.body.dataset.ready = "yes";</script>'
        "</body></html>"
    ),
    "search.html": (
        '{% extends "base.html" %}{% block body %}'
        "<h1>Results for {{ term }}</h1><ul>"
        "{% for name, price in products %}<li>{{ name }}: {{ price }}</li>{% endfor %}"
        "</ul>{% endblock %}"
    ),
    "profile.html": (
        '{% extends "base.html" %}{% block body %}'
        '<img src="/static/avatar.png" alt={{ name }}>'
        '<a href="{{ website }}">website</a>'
        "{% endblock %}"
    ),
    "comments.html": (
        '{% extends "base.html" %}{% block body %}'
        "{% for body in comments %}<article>{{ body|safe }}</article>{% endfor %}"
        "{% endblock %}"
    ),
}


@functools.cache
def _environment() -> Environment:
    return Environment(loader=DictLoader(TEMPLATES), autoescape=False)


def render_search(term: str, products: list[tuple[str, Decimal]], nonce: str) -> str:
    page = _environment().get_template("search.html")
    return page.render(term=Markup(term), products=products, nonce=nonce)


def render_profile(name: str, website: str, nonce: str) -> str:
    page = _environment().get_template("profile.html")
    return page.render(name=name, website=website, nonce=nonce)


def render_comments(bodies: list[str], nonce: str) -> str:
    return _environment().get_template("comments.html").render(comments=bodies, nonce=nonce)


def security_headers(nonce: str) -> dict[str, str]:
    return {"Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'"}


def session_cookie(token: str) -> str:
    return f"session={token}; Path=/"
