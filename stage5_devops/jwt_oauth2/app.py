"""The authorization server and a protected API in one FastAPI app.

- ``POST /token``: grant_type ``password``, ``refresh_token`` or ``authorization_code`` (PKCE).
- ``POST /authorize``: the sign-in form of the code flow; 303 back to the client with a code.
- ``GET /.well-known/jwks.json``: the public keys that verify the access tokens.
- ``GET /me``: the protected resource; it needs ``Authorization: Bearer <access token>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis

from .passwords import UNKNOWN_USER_HASH, verify_password
from .pkce import AuthorizationCodes, InvalidGrant, InvalidRequest
from .refresh import RefreshRefused, RefreshTokens
from .tokens import Clock, InvalidToken, KeyRing, issue_access_token, verify_access_token

MISSING_TOKEN = "missing bearer token"


@dataclass
class AuthServer:
    redis: Redis  # decode_responses=True
    ring: KeyRing
    users: Mapping[str, str]  # username -> password hash
    clients: Mapping[str, frozenset[str]]  # client_id -> its registered redirect URIs
    now: Clock
    issuer: str = "https://auth.example"
    audience: str = "todo-api"
    access_ttl: int = 300
    refresh_ttl: int = 14 * 24 * 3600
    code_ttl: int = 60
    leeway: float = 10


class BearerChallenge(Exception):
    """Raised by ``bearer_claims``; ``description`` is None when no token came at all."""

    def __init__(self, description: str | None) -> None:
        super().__init__(description)
        self.description = description


bearer = HTTPBearer(auto_error=False)


def server_of(request: Request) -> AuthServer:
    server: AuthServer = request.app.state.server
    return server


async def bearer_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> dict[str, Any]:
    """The verified claims of the request's access token, checked against the server's JWKS."""
    # kata: begin BearerChallenge(None) without credentials; verify with the server's settings; an InvalidToken becomes BearerChallenge(its description)
    if credentials is None:
        raise BearerChallenge(None)
    server = server_of(request)
    try:
        return verify_access_token(
            credentials.credentials,
            server.ring.jwks(),
            issuer=server.issuer,
            audience=server.audience,
            leeway=server.leeway,
            now=server.now,
        )
    except InvalidToken as exc:
        raise BearerChallenge(exc.description) from exc
    # kata: end


def challenge_response(request: Request, exc: Exception) -> Response:
    """A 401 with the RFC 6750 challenge, and the same error in a JSON body."""
    assert isinstance(exc, BearerChallenge)
    # kata: begin no token: `Bearer` and {"detail": MISSING_TOKEN}; a bad one: error="invalid_token" with its error_description, in the header and the body
    if exc.description is None:
        return JSONResponse(
            {"detail": MISSING_TOKEN}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    challenge = f'Bearer error="invalid_token", error_description="{exc.description}"'
    return JSONResponse(
        {"error": "invalid_token", "error_description": exc.description},
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )
    # kata: end


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    """An RFC 6749 §5.2 error response from the token endpoint."""
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


async def token_pair(server: AuthServer, subject: str, refresh_token: str) -> JSONResponse:
    access = issue_access_token(
        server.ring,
        subject=subject,
        issuer=server.issuer,
        audience=server.audience,
        ttl=server.access_ttl,
        now=server.now,
    )
    body = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": server.access_ttl,
        "refresh_token": refresh_token,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def check_password(server: AuthServer, username: str, password: str) -> bool:
    # An unknown user costs one hash too, so timing does not tell which usernames exist.
    stored = server.users.get(username)
    matches = verify_password(password, stored or UNKNOWN_USER_HASH)
    return matches and stored is not None


FormField = Annotated[str | None, Form()]


def create_app(server: AuthServer) -> FastAPI:
    app = FastAPI(title="jwt_oauth2")
    app.state.server = server
    app.add_exception_handler(BearerChallenge, challenge_response)
    refresh_tokens = RefreshTokens(server.redis, ttl=server.refresh_ttl)
    codes = AuthorizationCodes(server.redis, ttl=server.code_ttl, now=server.now)

    @app.get("/.well-known/jwks.json")
    async def jwks() -> JSONResponse:
        return JSONResponse(server.ring.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @app.get("/me")
    async def me(claims: Annotated[dict[str, Any], Depends(bearer_claims)]) -> dict[str, str]:
        return {"subject": claims["sub"]}

    @app.post("/token")
    async def token(
        grant_type: FormField = None,
        username: FormField = None,
        password: FormField = None,
        refresh_token: FormField = None,
        code: FormField = None,
        redirect_uri: FormField = None,
        client_id: FormField = None,
        code_verifier: FormField = None,
    ) -> Response:
        if grant_type == "password":
            if username is None or password is None:
                return oauth_error("invalid_request", "username and password are required")
            if not check_password(server, username, password):
                return oauth_error("invalid_grant", "wrong username or password")
            return await token_pair(server, username, await refresh_tokens.issue(username))
        if grant_type == "refresh_token":
            if refresh_token is None:
                return oauth_error("invalid_request", "refresh_token is required")
            try:
                rotated = await refresh_tokens.rotate(refresh_token)
            except RefreshRefused as exc:
                return oauth_error("invalid_grant", f"refresh token {exc.reason}")
            return await token_pair(server, rotated.subject, rotated.token)
        if grant_type == "authorization_code":
            if not (code and redirect_uri and client_id and code_verifier):
                return oauth_error(
                    "invalid_request",
                    "code, redirect_uri, client_id and code_verifier are required",
                )
            try:
                subject = await codes.redeem(
                    code, client_id=client_id, redirect_uri=redirect_uri, verifier=code_verifier
                )
            except InvalidGrant as exc:
                return oauth_error("invalid_grant", exc.description)
            return await token_pair(server, subject, await refresh_tokens.issue(subject))
        return oauth_error(
            "unsupported_grant_type",
            "grant_type must be password, refresh_token or authorization_code",
        )

    @app.post("/authorize")
    async def authorize(
        client_id: FormField = None,
        redirect_uri: FormField = None,
        username: FormField = None,
        password: FormField = None,
        response_type: FormField = None,
        code_challenge: FormField = None,
        code_challenge_method: FormField = None,
        state: FormField = None,
    ) -> Response:
        # Never redirect to an unregistered URI: it would hand the code to whoever named it.
        if client_id is None or redirect_uri not in server.clients.get(client_id, frozenset()):
            return oauth_error("invalid_request", "unknown client_id or unregistered redirect_uri")
        assert redirect_uri is not None

        def back(**params: str) -> RedirectResponse:
            if state is not None:
                params["state"] = state
            return RedirectResponse(f"{redirect_uri}?{urlencode(params)}", status_code=303)

        if response_type != "code":
            return back(error="unsupported_response_type")
        if username is None or password is None or not check_password(server, username, password):
            return back(error="access_denied", error_description="wrong username or password")
        try:
            new_code = await codes.create(
                subject=username,
                client_id=client_id,
                redirect_uri=redirect_uri,
                challenge=code_challenge or "",
                method=code_challenge_method or "",
            )
        except InvalidRequest as exc:
            return back(error="invalid_request", error_description=str(exc))
        return back(code=new_code)

    return app
