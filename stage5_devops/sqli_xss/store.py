"""The shop's database: schema, seed data, and the (stand-in) password hash both variants share.

Given code. The secrets an attacker is after are the unpublished product and the users'
password hashes; ``mallory`` is the account a stacked query promotes to admin.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

import psycopg
from psycopg.rows import TupleRow

Conn = psycopg.Connection[TupleRow]

SCHEMA = """
CREATE TABLE categories (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE products (
    id int PRIMARY KEY,
    name text COLLATE "C" NOT NULL,  -- one sort order on every server, as in Python
    price numeric(8, 2) NOT NULL,
    category_id int NOT NULL REFERENCES categories,
    published boolean NOT NULL DEFAULT true
);
CREATE TABLE users (
    id int PRIMARY KEY,
    username text NOT NULL UNIQUE,
    salt text NOT NULL,
    password_hash text NOT NULL,
    is_admin boolean NOT NULL DEFAULT false
);
CREATE TABLE comments (id serial PRIMARY KEY, body text NOT NULL);
"""

CATEGORIES = [(1, "Peripherals"), (2, "Displays"), (3, "Gifts")]


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    price: Decimal
    category_id: int
    published: bool = True


PRODUCTS = [
    Product(1, "Keyboard", Decimal("49.00"), 1),
    Product(2, "Mouse", Decimal("19.50"), 1),
    Product(3, "Kid's Tablet", Decimal("89.00"), 2),
    Product(4, "50% Off Voucher", Decimal("5.00"), 3),
    Product(5, "50 Percent Poster", Decimal("12.00"), 3),
    Product(6, "USB_C Cable", Decimal("9.99"), 1),
    Product(7, "USB-C Hub", Decimal("35.00"), 1),
    Product(8, "C:\\Temp Mug", Decimal("12.00"), 3),  # the same price as the poster
    Product(9, "Prototype X", Decimal("999.00"), 2, published=False),  # the unreleased secret
]

# username, salt, password, is_admin
USERS = [
    (1, "admin", "s4lt-admin", "correct horse battery staple", True),
    (2, "alice", "s4lt-alice", "alice's wonderland", False),
    (3, "mallory", "s4lt-mallory", "let-me-in", False),
]


def password_hash(salt: str, password: str) -> str:
    """A salted SHA-256, computed the same way in SQL by both ``login`` functions.

    A stand-in that keeps the login check in one SQL statement (the classic injectable shape).
    Real password storage uses a slow, memory-hard hash (argon2id, scrypt) verified in Python.
    """
    return hashlib.sha256((salt + password).encode()).hexdigest()


def create_schema(conn: Conn) -> None:
    """Create the tables and the seed rows (in one transaction, committed)."""
    with conn.transaction():
        conn.execute(SCHEMA)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO categories VALUES (%s, %s)", CATEGORIES)
            cur.executemany(
                "INSERT INTO products VALUES (%s, %s, %s, %s, %s)",
                [(p.id, p.name, p.price, p.category_id, p.published) for p in PRODUCTS],
            )
            cur.executemany(
                "INSERT INTO users VALUES (%s, %s, %s, %s, %s)",
                [(i, u, s, password_hash(s, pw), adm) for i, u, s, pw, adm in USERS],
            )


def add_comment(conn: Conn, body: str) -> None:
    """Store a comment as the user wrote it: the page that shows it decides how to render it."""
    conn.execute("INSERT INTO comments (body) VALUES (%s)", (body,))


def comments(conn: Conn) -> list[str]:
    return [str(body) for (body,) in conn.execute("SELECT body FROM comments ORDER BY id")]
