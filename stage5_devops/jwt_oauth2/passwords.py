"""Password hashes with scrypt (memory-hard, in the standard library), compared in constant time.

A stored hash reads ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``: the parameters travel with
each hash, so raising the cost later still verifies the passwords stored before.
"""

from __future__ import annotations

import hashlib
import hmac
import os

COST = {"n": 2**14, "r": 8, "p": 1}  # 16 MiB of memory per hash (OWASP's scrypt minimum)
SALT_BYTES = 16
HASH_BYTES = 32

# The hash of a random password nobody knows: verified against when the username is unknown,
# so a login for a missing user costs as much as one for a real user (no user enumeration).
UNKNOWN_USER_HASH = (
    "scrypt$16384$8$1$09218354d9ea3596a950bf24f217e608$"
    "ee9b23017de769fa2a74436b2a000e88e0e0f009055a153df6793f4e54e71122"
)


def hash_password(password: str) -> str:
    """A fresh random salt and the scrypt hash of the UTF-8 password, in the stored format."""
    # kata: begin a random salt, hashlib.scrypt with COST, and the scrypt$n$r$p$salt$hash string
    salt = os.urandom(SALT_BYTES)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=HASH_BYTES, **COST)
    return f"scrypt${COST['n']}${COST['r']}${COST['p']}${salt.hex()}${digest.hex()}"
    # kata: end


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` hashes to ``stored`` with its own parameters; False if malformed."""
    # kata: begin parse the stored hash (False when it is not in the format), recompute, compare in constant time
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
    # kata: end
