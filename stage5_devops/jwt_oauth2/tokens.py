"""RS256 access tokens: an issuer's key ring with rotation by ``kid``, its JWKS, and a verifier."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

Clock = Callable[[], float]  # seconds since the epoch; tests pass a fake one, never sleep

ALGORITHM = "RS256"
# Every claim issue_access_token writes; a token missing one of them is refused.
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti"]

# The error_description of each refusal (README, task 3): the first check that fails wins.
MALFORMED = "malformed token"
ALGORITHM_NOT_ALLOWED = "algorithm not allowed"
UNKNOWN_KID = "unknown key id"
BAD_SIGNATURE = "bad signature"
MISSING_CLAIM = "missing claim"
WRONG_ISSUER = "wrong issuer"
WRONG_AUDIENCE = "wrong audience"
EXPIRED = "token expired"
NOT_YET_VALID = "token not yet valid"


class InvalidToken(Exception):
    """A token the verifier refuses; ``description`` is one of the constants above."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class KeyRing:
    """The issuer's RSA keys by ``kid``: the newest one signs, every one in the ring verifies."""

    def __init__(self, kid: str, private_key: rsa.RSAPrivateKey) -> None:
        self._keys: dict[str, rsa.RSAPrivateKey] = {kid: private_key}
        self.current_kid = kid

    @property
    def signing_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        return self.current_kid, self._keys[self.current_kid]

    def kids(self) -> list[str]:
        return list(self._keys)

    def rotate(self, kid: str, private_key: rsa.RSAPrivateKey) -> None:
        """Add a key and sign with it from now on; the old ones keep verifying."""
        # kata: begin add the key under a new kid (ValueError for a kid already in the ring) and make it the current one
        if kid in self._keys:
            raise ValueError(f"kid {kid!r} is already in the ring")
        self._keys[kid] = private_key
        self.current_kid = kid
        # kata: end

    def retire(self, kid: str) -> None:
        """Remove a key: tokens it signed stop verifying (their kid becomes unknown)."""
        # kata: begin remove the key (ValueError for the current signing key, KeyError for an unknown kid)
        if kid == self.current_kid:
            raise ValueError("the current signing key cannot be retired; rotate first")
        del self._keys[kid]
        # kata: end

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set: every public key of the ring, with its kid, use and alg."""
        # kata: begin one public JWK per key, in ring order, with kid, "use": "sig" and "alg": "RS256"
        keys = []
        for kid, private_key in self._keys.items():
            public = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
            keys.append({**public, "kid": kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": keys}
        # kata: end


def issue_access_token(
    ring: KeyRing, *, subject: str, issuer: str, audience: str, ttl: int, now: Clock
) -> str:
    """An RS256 JWT signed with the ring's current key, its kid in the header."""
    # kata: begin sign the REQUIRED_CLAIMS (iat = nbf = the whole seconds of now(), exp = iat + ttl, a random jti) with the current key
    issued_at = int(now())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + ttl,
        "jti": secrets.token_urlsafe(16),
    }
    kid, private_key = ring.signing_key
    return jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid})
    # kata: end


def verify_access_token(
    token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    audience: str,
    leeway: float,
    now: Clock,
) -> dict[str, Any]:
    """The claims of a valid token; InvalidToken (never another exception) for anything else."""
    # kata: begin header (alg pinned, kid looked up in jwks), signature, required claims, iss, aud, then exp and nbf against now() with leeway
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(MALFORMED) from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(ALGORITHM_NOT_ALLOWED)
    kid = header.get("kid")
    matching = [key for key in jwks["keys"] if isinstance(kid, str) and key.get("kid") == kid]
    if not matching:
        raise InvalidToken(UNKNOWN_KID)
    # PyJWT reads the real clock: its time checks are off, ours below use the injected one.
    options: Any = {
        "require": REQUIRED_CLAIMS,
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
    }
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            jwt.PyJWK(matching[0]).key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options=options,
        )
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken(BAD_SIGNATURE) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(MISSING_CLAIM) from exc
    except jwt.InvalidIssuerError as exc:
        raise InvalidToken(WRONG_ISSUER) from exc
    except jwt.InvalidAudienceError as exc:
        raise InvalidToken(WRONG_AUDIENCE) from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(MALFORMED) from exc
    expires, not_before = claims["exp"], claims["nbf"]
    if not all(
        isinstance(t, int | float) and not isinstance(t, bool) for t in (expires, not_before)
    ):
        raise InvalidToken(MALFORMED)
    current = now()
    if current >= expires + leeway:
        raise InvalidToken(EXPIRED)
    if current < not_before - leeway:
        raise InvalidToken(NOT_YET_VALID)
    return claims
    # kata: end
