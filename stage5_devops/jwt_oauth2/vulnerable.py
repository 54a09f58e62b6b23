"""A verifier that trusts the token's own header: the bug the attacks in the tests exploit.

Given code, never a solution: the tests first prove that each forged token gets through
``naive_decode``, then that the learner's verifier refuses it. Old JWT libraries behaved like
this when called as ``decode(token, key)`` without naming the allowed algorithms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class NaiveRefusal(Exception):
    """The one thing the naive verifier checks failed: the signature, for the alg it was told."""


def naive_decode(token: str, key: bytes) -> dict[str, Any]:
    """The claims of ``token``, checked with whatever algorithm its header names, using ``key``
    (the server's one configured key: the RSA public key's PEM). No claim is checked at all."""
    header_part, payload_part, signature_part = token.split(".")
    header = json.loads(b64url_decode(header_part))
    signing_input = f"{header_part}.{payload_part}".encode()
    signature = b64url_decode(signature_part)
    algorithm = header["alg"]  # the attacker chose this
    if algorithm == "HS256":  # the PEM becomes an HMAC secret: anyone who has it can sign
        expected = hmac.new(key, signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise NaiveRefusal("bad HS256 signature")
    elif algorithm == "RS256":
        public_key = serialization.load_pem_public_key(key)
        assert isinstance(public_key, rsa.RSAPublicKey)
        try:
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        except Exception as exc:
            raise NaiveRefusal("bad RS256 signature") from exc
    elif algorithm.lower() != "none":  # "none": unsigned, so nothing to check
        raise NaiveRefusal(f"unsupported alg {algorithm}")
    claims: dict[str, Any] = json.loads(b64url_decode(payload_part))
    return claims
