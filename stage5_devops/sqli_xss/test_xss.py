"""XSS: the corpus runs script in ``vulnerable``'s pages and nowhere in ``safe``'s; rich text
keeps its allowed formatting; the headers add a strict CSP and a locked-down session cookie."""

from __future__ import annotations

import re
from decimal import Decimal
from http.cookies import SimpleCookie

import pytest

from . import safe, vulnerable
from .conftest import NONCE, Page, Variant, client_for, parse_page
from .payloads import XSS_PAYLOADS, XssPayload
from .store import Conn, add_comment, comments

TASK_OF_CONTEXT = {"reflected": 5, "attribute": 5, "url": 5, "stored": 6}
PRODUCTS = [("Keyboard", Decimal("49.00"))]
WEBSITE = "https://example.com/ada"


def render(variant: Variant, conn: Conn | None, payload: XssPayload) -> str:
    """The page the payload ends up in, rendered with the test's nonce."""
    if payload.context == "reflected":
        return variant.render_search(payload.text, PRODUCTS, NONCE)
    if payload.context == "attribute":
        return variant.render_profile(payload.text, WEBSITE, NONCE)
    if payload.context == "url":
        return variant.render_profile("Ada", payload.text, NONCE)
    assert conn is not None, "a stored payload goes through the database"
    conn.execute("DELETE FROM comments")
    add_comment(conn, payload.text)
    return variant.render_comments(comments(conn), NONCE)


def baseline(variant: Variant, conn: Conn | None, payload: XssPayload) -> Page:
    """The same page with harmless input: what runs there is the page's own script."""
    harmless = WEBSITE if payload.context == "url" else "Ada"
    return parse_page(render(variant, conn, XssPayload(payload.context, harmless)), NONCE)


def injected(variant: Variant, conn: Conn | None, payload: XssPayload) -> list[str]:
    """Script the payload added to the page, as a browser would find it."""
    page = parse_page(render(variant, conn, payload), NONCE)
    return sorted(set(page.executable) - set(baseline(variant, conn, payload).executable))


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            p,
            id=f"{p.context}:{p.text}",
            marks=pytest.mark.task(TASK_OF_CONTEXT[p.context]),
        )
        for p in XSS_PAYLOADS
    ],
)
def test_the_payload_runs_in_the_vulnerable_page_and_not_in_the_safe_one(
    request: pytest.FixtureRequest, payload: XssPayload
) -> None:
    conn: Conn | None = request.getfixturevalue("conn") if payload.context == "stored" else None
    assert injected(vulnerable, conn, payload), "the payload is real: it runs in vulnerable.py"
    if payload.context == "url" and not payload.text.startswith("https:"):
        with pytest.raises(ValueError):
            safe.render_profile("Ada", payload.text, NONCE)
        return
    assert injected(safe, conn, payload) == [], "no script of the payload runs in safe.py"
    page = parse_page(render(safe, conn, payload), NONCE)
    assert page.executable == [], "nor any script without the page's nonce"
    # Escaped, the input is shown exactly as it was typed (stored rich text is sanitised
    # instead: see the nh3 tests).
    if payload.context == "reflected":
        assert f"Results for {payload.text}" in "".join(page.text)
    elif payload.context == "attribute":
        assert ("img", "alt", payload.text) in page.attributes
    elif payload.context == "url":
        assert ("a", "href", payload.text) in page.attributes


@pytest.mark.task(5)
@pytest.mark.parametrize(
    "website",
    ["https://example.com", "http://example.com/a?b=1&c=2", "HTTPS://EXAMPLE.COM/x"],
)
def test_http_and_https_websites_are_linked(website: str) -> None:
    assert safe.safe_url(website) == website
    page = parse_page(safe.render_profile("Ada", website, NONCE), NONCE)
    assert ("a", "href", website) in page.attributes


@pytest.mark.task(5)
@pytest.mark.parametrize(
    "website",
    [
        "ftp://example.com/file",
        "data:text/html,<script>alert(1)</script>",
        "//example.com/no-scheme",
        "/relative/path",
        "example.com",
        "https:///no-host",
        "mailto:ada@example.com",
        "",
    ],
)
def test_other_websites_are_a_value_error(website: str) -> None:
    with pytest.raises(ValueError, match="http"):
        safe.safe_url(website)


@pytest.mark.task(5)
def test_the_page_script_carries_the_nonce_and_values_are_escaped() -> None:
    page = parse_page(safe.render_search("<b>&", PRODUCTS, NONCE), NONCE)
    assert [nonce for nonce, _ in page.scripts] == [NONCE], "one script, with the page's nonce"
    assert "Results for <b>&" in "".join(page.text)
    assert "Keyboard: 49.00" in "".join(page.text)
    html = safe.render_profile('Ada "the" <Countess>', WEBSITE, NONCE)
    assert 'alt="Ada &#34;the&#34; &lt;Countess&gt;"' in html, "quoted, and quotes escaped"


@pytest.mark.task(5)
def test_the_web_app_answers_400_for_a_script_url(shop_url: str) -> None:
    with client_for(safe, shop_url) as app:
        response = app.get("/profile", params={"name": "Ada", "website": "javascript:alert(1)"})
    assert response.status_code == 400
    assert "http" in response.json()["detail"]
    assert "alert" not in response.text, "the error does not echo the payload"


@pytest.mark.task(6)
@pytest.mark.parametrize(
    ("comment", "kept"),
    [
        ("<b>bold</b> and <i>italic</i>", "<b>bold</b> and <i>italic</i>"),
        ("<p>one</p><ul><li>two</li></ul>", "<p>one</p><ul><li>two</li></ul>"),
        (
            '<a href="https://example.com" title="t">x</a>',
            '<a href="https://example.com" title="t" rel="nofollow noopener noreferrer">x</a>',
        ),
        (
            '<a href="mailto:ada@example.com">mail</a>',
            '<a href="mailto:ada@example.com" rel="nofollow noopener noreferrer">mail</a>',
        ),
        (
            '<a href="ftp://example.com" class="c">x</a>',
            '<a rel="nofollow noopener noreferrer">x</a>',
        ),
        ("<h1>big</h1><table><tr><td>cell</td></tr></table>", "bigcell"),
        ('<p style="color:red" onclick="go()">hi</p>', "<p>hi</p>"),
        ("<b>hello</b><script>alert(1)</script>", "<b>hello</b>"),
        ("<style>p{}</style>x", "x"),
        ("1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"),
        (
            "<code>x</code><pre>y</pre><blockquote>z</blockquote>",
            "<code>x</code><pre>y</pre><blockquote>z</blockquote>",
        ),
        (
            "<em>e</em><strong>s</strong><ol><li>1</li></ol>a<br>b",
            "<em>e</em><strong>s</strong><ol><li>1</li></ol>a<br>b",
        ),
    ],
)
def test_rich_text_keeps_its_allowed_formatting_only(comment: str, kept: str) -> None:
    assert safe.sanitize_html(comment) == kept
    assert f"<article>{kept}</article>" in re.sub(
        r"\s*<(/?)article>\s*", r"<\1article>", safe.render_comments([comment], NONCE)
    )


def csp(header: str) -> dict[str, list[str]]:
    directives = (d.split() for d in header.split(";") if d.strip())
    return {name: values for name, *values in directives}


@pytest.mark.task(7)
def test_pages_carry_a_strict_csp_with_a_fresh_nonce(shop_url: str) -> None:
    with client_for(safe, shop_url) as app, client_for(vulnerable, shop_url) as weak:
        weak_policy = csp(weak.get("/products").headers["content-security-policy"])
        assert "'unsafe-inline'" in weak_policy["script-src"], (
            "the check is real: vulnerable fails it"
        )
        nonces = []
        for path in (
            "/products?q=key",
            "/comments",
            "/products",
            f"/profile?name=Ada&website={WEBSITE}",
        ):
            response = app.get(path)
            assert response.status_code == 200, path
            policy = csp(response.headers["content-security-policy"])
            script_src = policy.get("script-src", policy.get("default-src", []))
            assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "https:"} & set(
                script_src
            )
            nonce = [s[len("'nonce-") : -1] for s in script_src if s.startswith("'nonce-")]
            assert len(nonce) == 1, "script-src names exactly one nonce"
            assert len(nonce[0]) >= 22, "at least 128 random bits"
            page = parse_page(response.text, nonce[0])
            assert [n for n, _ in page.scripts] == nonce, "the page's script carries that nonce"
            assert policy.get("object-src") == ["'none'"]
            assert policy.get("base-uri") in (["'none'"], ["'self'"])
            assert policy.get("frame-ancestors") in (["'none'"], ["'self'"])
            nonces.append(nonce[0])
        assert len(set(nonces)) == len(nonces), "a fresh nonce for every response"


@pytest.mark.task(7)
def test_the_session_cookie_is_httponly_secure_and_samesite(shop_url: str) -> None:
    form = {"username": "alice", "password": "alice's wonderland"}
    with client_for(safe, shop_url) as app, client_for(vulnerable, shop_url) as weak:
        admin = {"username": "admin", "password": "correct horse battery staple"}
        weak_cookie = SimpleCookie(weak.post("/login", data=admin).headers["set-cookie"])
        assert not weak_cookie["session"]["httponly"], "the check is real: vulnerable fails it"
        response = app.post("/login", data=form)
        wrong = app.post("/login", data={**form, "password": "wonderland"})
    assert (response.status_code, response.json()) == (200, {"user_id": 2})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    cookie = SimpleCookie(response.headers["set-cookie"])["session"]
    assert len(cookie.value) >= 32, "an unguessable token"
    assert cookie["httponly"] is True, "document.cookie cannot read it"
    assert cookie["secure"] is True, "never sent over plain HTTP"
    assert cookie["samesite"].lower() in ("lax", "strict"), "not sent on cross-site POSTs"
    assert cookie["path"] == "/"
    assert cookie["domain"] == "", "host-only: no Domain attribute that widens it to subdomains"
