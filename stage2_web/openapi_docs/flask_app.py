"""The Flask side: the same pet store, documented with APIFlask (Pydantic models, OpenAPI, docs)."""

from __future__ import annotations

import secrets
from typing import Any

from apiflask import APIFlask, HTTPTokenAuth, abort
from flask.json.provider import DefaultJSONProvider

from ..flask_body import body_error
from .models import API_TOKEN, Pet, PetIn, PetStore


def register_routes(app: APIFlask, store: PetStore) -> None:
    """Declare the documented endpoints: tags, summaries, security and error responses."""
    # kata: begin a bearer HTTPTokenAuth; GET /pets/<int:pet_id> (404) and POST /pets (auth, 201) with input/output models and docs
    auth = HTTPTokenAuth(
        scheme="Bearer",
        security_scheme_name="bearerAuth",
        description="The staff token, sent as `Authorization: Bearer <token>`.",
    )

    @auth.verify_token  # type: ignore[untyped-decorator]  # Flask-HTTPAuth has no type hints
    def verify_token(token: str) -> str | None:
        # compare bytes: compare_digest raises TypeError on a str with non-ASCII characters
        return "staff" if secrets.compare_digest(token.encode(), API_TOKEN.encode()) else None

    @app.get("/pets/<int:pet_id>")
    @app.output(Pet)
    @app.doc(tags=["pets"], summary="Get a pet", responses=[404])
    def get_pet(pet_id: int) -> Pet:
        """One pet by id."""
        pet = store.get(pet_id)
        if pet is None:
            abort(404, f"pet {pet_id} not found")
        return pet

    @app.post("/pets")
    @app.auth_required(auth)
    @app.input(PetIn)
    @app.output(Pet, status_code=201)
    @app.doc(tags=["pets"], summary="Add a pet", responses=[400, 401, 422])
    def create_pet(json_data: PetIn) -> Pet:
        """Store a new pet; the server assigns its id. Needs the staff token."""
        return store.add(json_data)

    # kata: end


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that JSON nested too deeply for json.loads is a ValueError, which
    request.get_json() answers with a 400, rather than a RecursionError (a 500)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def read_body() -> None:
    """A body the server cannot decode (a broken chunk) is a 400 saying so, not a 500.

    APIFlask's own ``abort``: its error body would show a werkzeug exception by name only."""
    if (reason := body_error()) is not None:
        abort(400, reason)


def create_flask_app() -> APIFlask:
    """A fresh app with an empty store; docs at /docs, the document at /openapi.json."""
    app = APIFlask(__name__, title="Pet Store API (Flask)", version="1.0.0")
    app.json = JSONProvider(app)
    app.before_request(read_body)
    app.config["DESCRIPTION"] = "The pet store on Flask: browse pets; staff add them."
    app.config["TAGS"] = [{"name": "pets", "description": "Browse and add pets."}]
    app.spec_processor(require_request_bodies)
    register_routes(app, PetStore())
    return app


def require_request_bodies(spec: dict[Any, Any] | str) -> dict[Any, Any] | str:
    """Mark every request body required, as the app treats it (no body is a 400).

    APIFlask leaves ``required`` out, which in OpenAPI means the body is optional: a client
    (or schemathesis) reading the document may send none and expect it accepted.
    """
    if isinstance(spec, str):  # only with SPEC_FORMAT set to a text format, not here
        return spec
    for operations in spec["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation["requestBody"]["required"] = True
    return spec
