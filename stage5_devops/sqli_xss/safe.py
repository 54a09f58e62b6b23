"""The same shop, defended: your part. Each function keeps the signature of ``vulnerable.py``.

SQL: values travel as parameters, never inside the query text; identifiers (a column, a table)
and keywords (ASC/DESC) cannot be parameters, so they come from an allow-list and are quoted
with ``psycopg.sql``; LIKE patterns escape their wildcards. HTML: Jinja2 escapes every value,
URLs are checked by scheme, rich text goes through nh3 with an allow-list, and the headers set
a strict Content-Security-Policy and a locked-down session cookie.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from urllib.parse import urlsplit

import nh3
from jinja2 import DictLoader, Environment
from markupsafe import Markup
from psycopg import sql

from .store import Conn

SORT_COLUMNS = ("id", "name", "price")
TABLES = ("categories", "products")

# The rich text a comment may keep: what nh3 lets through, everything else is dropped.
COMMENT_TAGS = {
    "a", "b", "blockquote", "br", "code", "em", "i", "li", "ol", "p", "pre", "strong", "ul"
}  # fmt: skip
COMMENT_ATTRIBUTES = {"a": {"href", "title"}}
COMMENT_URL_SCHEMES = {"http", "https", "mailto"}
WEBSITE_SCHEMES = ("http", "https")

# --- SQL ---------------------------------------------------------------------------------------


def login(conn: Conn, username: str, password: str) -> int | None:
    """The id of the user with this username and password, or None."""
    # kata: begin check the username and password with one parameterised query
    row = conn.execute(
        "SELECT id FROM users WHERE username = %s AND password_hash = "
        "encode(sha256(convert_to(salt || %s, 'UTF8')), 'hex')",
        (username, password),
    ).fetchone()
    # kata: end
    return None if row is None else int(row[0])


def like_contains(term: str) -> str:
    """A LIKE pattern that matches ``term`` literally anywhere in the text."""
    # kata: begin escape LIKE's escape character and both wildcards, then wrap in %
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
    # kata: end


def search_products(conn: Conn, term: str) -> list[tuple[str, Decimal]]:
    """Published products whose name contains ``term`` (any case), by name."""
    # kata: begin pass the escaped pattern as a parameter
    rows = conn.execute(
        "SELECT name, price FROM products WHERE published AND name ILIKE %s ORDER BY name",
        (like_contains(term),),
    )
    # kata: end
    return [(str(name), price) for name, price in rows]


def sorted_products(conn: Conn, column: str, direction: str) -> list[str]:
    """Published product names ordered by an allowed column and direction, ties by id."""
    # kata: begin allow-list the column and the direction, compose the query with psycopg.sql
    if column not in SORT_COLUMNS:
        raise ValueError(f"cannot sort by {column!r}: choose one of {', '.join(SORT_COLUMNS)}")
    order = {"asc": sql.SQL("ASC"), "desc": sql.SQL("DESC")}.get(direction.lower())
    if order is None:
        raise ValueError(f"unknown sort direction {direction!r}: choose asc or desc")
    rows = conn.execute(
        sql.SQL("SELECT name FROM products WHERE published ORDER BY {} {}, id").format(
            sql.Identifier(column), order
        )
    )
    # kata: end
    return [str(name) for (name,) in rows]


def table_rows(conn: Conn, table: str) -> list[tuple[int, str]]:
    """Every (id, name) of one of the allowed tables, by id."""
    # kata: begin allow-list the table, then quote it as an identifier
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}: choose one of {', '.join(TABLES)}")
    rows = conn.execute(
        sql.SQL("SELECT id, name FROM {} ORDER BY id").format(sql.Identifier(table))
    )
    # kata: end
    return [(int(row_id), str(name)) for row_id, name in rows]


# --- Django (needs configured settings; models are imported when called) -----------------------


def django_users_named(username: str) -> list[str]:
    """Usernames equal to ``username``, through ``raw()``."""
    from django.contrib.auth.models import User

    # kata: begin keep raw(), but hand the value to it as a parameter
    found = User.objects.raw(
        "SELECT * FROM auth_user WHERE username = %s ORDER BY username", [username]
    )
    # kata: end
    return [user.username for user in found]


def django_users_starting(prefix: str) -> list[str]:
    """Usernames that start with ``prefix`` (literally), in order: no extra() needed."""
    from django.contrib.auth.models import User

    # kata: begin replace extra() with an ORM lookup that escapes the pattern for you
    users = User.objects.filter(username__startswith=prefix).order_by("username")
    # kata: end
    return list(users.values_list("username", flat=True))


# --- HTML --------------------------------------------------------------------------------------


@functools.cache
def _environment() -> Environment:
    # kata: begin the four templates, every attribute quoted, in an autoescaping Environment
    templates = {
        "base.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body>
{% block body %}{% endblock body %}
<script nonce="{{ nonce }}">document.body.dataset.ready = "yes";</script></body></html>""",
        "search.html": """{% extends "base.html" %}
{% block body %}<h1>Results for {{ term }}</h1>
<ul>{% for product_name, product_price in products %}
  <li>{{ product_name }}: {{ product_price }}</li>
{% endfor %}</ul>{% endblock %}""",
        "profile.html": """{% extends "base.html" %}
{% block body %}<img src="/static/avatar.png" alt="{{ name }}">
<a href="{{ website }}" rel="nofollow noopener">website</a>{% endblock %}""",
        "comments.html": """{% extends "base.html" %}
{% block body %}{% for comment in comments %}
  <article>{{ comment }}</article>
{% endfor %}{% endblock %}""",
    }
    return Environment(loader=DictLoader(templates), autoescape=True)
    # kata: end


def safe_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL, else ValueError (no javascript:, data:...)."""
    # kata: begin parse the URL; accept only an http or https scheme with a host
    parts = urlsplit(url)
    if parts.scheme.lower() not in WEBSITE_SCHEMES or not parts.netloc:
        raise ValueError("website must be an absolute http:// or https:// URL")
    return url
    # kata: end


def sanitize_html(html: str) -> Markup:
    """The comment's allowed rich text, safe to insert into a page as it is."""
    # kata: begin clean with nh3 and the COMMENT_ allow-lists, and mark the result safe
    return Markup(
        nh3.clean(
            html,
            tags=COMMENT_TAGS,
            attributes=COMMENT_ATTRIBUTES,
            url_schemes=COMMENT_URL_SCHEMES,
            link_rel="nofollow noopener noreferrer",
        )
    )
    # kata: end


def render_search(term: str, products: list[tuple[str, Decimal]], nonce: str) -> str:
    page = _environment().get_template("search.html")
    return page.render(term=term, products=products, nonce=nonce)


def render_profile(name: str, website: str, nonce: str) -> str:
    page = _environment().get_template("profile.html")
    return page.render(name=name, website=safe_url(website), nonce=nonce)


def render_comments(bodies: list[str], nonce: str) -> str:
    cleaned = [sanitize_html(body) for body in bodies]
    return _environment().get_template("comments.html").render(comments=cleaned, nonce=nonce)


def security_headers(nonce: str) -> dict[str, str]:
    """Headers for every HTML page; ``nonce`` is the one inline script's, fresh per response."""
    # kata: begin a strict Content-Security-Policy: no inline script but the nonce's
    policy = [
        "default-src 'self'",
        f"script-src 'nonce-{nonce}' 'strict-dynamic'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
    return {
        "Content-Security-Policy": "; ".join(policy),
        "X-Content-Type-Options": "nosniff",
    }
    # kata: end


def session_cookie(token: str) -> str:
    """The Set-Cookie value for a new session."""
    # kata: begin out of reach of scripts, HTTPS only, not sent on cross-site requests
    return f"session={token}; Path=/; HttpOnly; Secure; SameSite=Lax"
    # kata: end
