"""A FastAPI app whose OpenAPI document is curated: tags, security, declared errors, examples."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, Security
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import fastapi_errors
from .models import API_TOKEN, Error, Pet, PetIn, PetStore, Species

#: Keyword arguments of FastAPI(...): the document's info and the docs pages' settings.
APP_INFO: dict[str, Any] = {"title": "Pet Store API", "version": "1.0.0"}
# kata: begin add a description, openapi_tags ("pets", "meta") with descriptions, and swagger_ui_parameters that persist the token
APP_INFO.update(
    description="Browse the shelter's pets; staff with a bearer token add and remove them.",
    openapi_tags=[
        {"name": "pets", "description": "Browse pets (public) and manage them (bearer token)."},
        {"name": "meta", "description": "Service health, for load balancers and monitoring."},
    ],
    swagger_ui_parameters={"persistAuthorization": True},
)
# kata: end

#: The error responses operations declare, so 4xx bodies appear in the document.
ERROR_RESPONSES: dict[int, dict[str, Any]] = {}
# kata: begin declare 400, 401 and 404 with the Error model, a description and an example body each
ERROR_RESPONSES.update(
    {
        400: {
            "model": Error,
            "description": "The body is not parseable JSON",
            "content": {
                "application/json": {"example": {"detail": "There was an error parsing the body"}}
            },
        },
        401: {
            "model": Error,
            "description": "Missing or invalid bearer token",
            "content": {"application/json": {"example": {"detail": "invalid bearer token"}}},
        },
        404: {
            "model": Error,
            "description": "No pet has this id",
            "content": {"application/json": {"example": {"detail": "pet 42 not found"}}},
        },
    }
)
# kata: end


def declared(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of an operation: those of ``codes`` that are declared above."""
    return {code: ERROR_RESPONSES[code] for code in codes if code in ERROR_RESPONSES}


bearer = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="opaque",
    description="The staff token, sent as `Authorization: Bearer <token>`.",
    auto_error=False,
)


async def require_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Let the request through only with the staff token."""
    # kata: begin raise 401 with WWW-Authenticate: Bearer unless the credentials carry API_TOKEN (secrets.compare_digest)
    # compare bytes: compare_digest raises TypeError on a str with non-ASCII characters
    given = credentials.credentials.encode() if credentials else b""
    if not secrets.compare_digest(given, API_TOKEN.encode()):
        raise HTTPException(
            401, "invalid bearer token", headers={"WWW-Authenticate": 'Bearer realm="pets"'}
        )
    # kata: end


#: The dependencies of the operations that change data; the security requirement comes from here.
PROTECTED: list[DependsParam] = []
# kata: begin protect the write operations: append Security(require_token)
PROTECTED.append(Security(require_token))
# kata: end


def get_store(request: Request) -> PetStore:
    store: PetStore = request.app.state.pets
    return store


Store = Annotated[PetStore, Depends(get_store)]
router = APIRouter()


@router.get("/health", tags=["meta"], summary="Health check")
async def health() -> dict[str, str]:
    """Answers `{"status": "ok"}` while the service can take requests."""
    # kata: begin answer {"status": "ok"}
    return {"status": "ok"}
    # kata: end


@router.get("/pets", tags=["pets"], summary="List pets")
async def list_pets(
    store: Store,
    species: Species | None = None,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many")] = 20,
) -> list[Pet]:
    """Pets in the order they arrived, optionally only one species."""
    # kata: begin return up to limit pets, of the given species if any
    return store.list(species, limit)
    # kata: end


@router.get("/pets/{pet_id}", tags=["pets"], summary="Get a pet", responses=declared(404))
async def get_pet(pet_id: int, store: Store) -> Pet:
    """One pet by id."""
    # kata: begin return the pet, or raise 404 {"detail": "pet <id> not found"}
    pet = store.get(pet_id)
    if pet is None:
        raise HTTPException(404, f"pet {pet_id} not found")
    return pet
    # kata: end


@router.post(
    "/pets",
    tags=["pets"],
    summary="Add a pet",
    status_code=201,
    responses=declared(400, 401),
    dependencies=PROTECTED,
)
async def create_pet(data: PetIn, store: Store) -> Pet:
    """Store a new pet; the server assigns its id. Needs the staff token."""
    # kata: begin store the pet and return it (201)
    return store.add(data)
    # kata: end


@router.delete(
    "/pets/{pet_id}",
    tags=["pets"],
    summary="Remove a pet",
    status_code=204,
    responses=declared(401, 404),
    dependencies=PROTECTED,
)
async def delete_pet(pet_id: int, store: Store) -> Response:
    """Remove a pet for good. Needs the staff token."""
    # kata: begin remove the pet and answer 204, or raise 404 {"detail": "pet <id> not found"}
    if not store.remove(pet_id):
        raise HTTPException(404, f"pet {pet_id} not found")
    return Response(status_code=204)
    # kata: end


def create_app() -> FastAPI:
    """A fresh app with an empty store; docs at /docs and /redoc, the document at /openapi.json."""
    app = FastAPI(**APP_INFO)
    app.state.pets = PetStore()
    app.include_router(router)
    fastapi_errors.install(app)
    return app
