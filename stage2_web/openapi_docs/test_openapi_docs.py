"""OpenAPI kata: the curated document (validated, then fact by fact), the docs pages, Flask's twin."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from katas.kit import MALFORMED_CHUNKED_BODIES, chunked_request, raw_http, serve_wsgi

from .fastapi_app import create_app
from .flask_app import create_flask_app
from .models import API_TOKEN, Error

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
JSON = "application/json"


class DigestSpy:
    """Stands in for secrets.compare_digest (and hmac's, the same function): records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, object]] = []
        self.real = hmac.compare_digest

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return self.real(a, b)


@pytest.fixture
def digest_spy(monkeypatch: pytest.MonkeyPatch) -> DigestSpy:
    spy = DigestSpy()
    monkeypatch.setattr(secrets, "compare_digest", spy)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    return spy


def compared_with_the_token(spy: DigestSpy, given: bytes) -> bool:
    """Whether ``given`` was compared with API_TOKEN, both as bytes, in constant time."""
    return any({a, b} == {given, API_TOKEN.encode()} for a, b in spy.calls)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def valid_document(client: httpx.AsyncClient) -> dict[str, Any]:
    """GET /openapi.json and validate it against the OpenAPI specification."""
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    validate(spec)  # raises OpenAPIValidationError naming the broken part
    return spec


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every operation of the document by 'METHOD /path'."""
    return {
        f"{method.upper()} {path}": operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


def error_ref(operation: dict[str, Any], status: str) -> str:
    declared = operation["responses"].get(status)
    assert declared is not None, f"{operation['operationId']} must declare its {status} response"
    ref: str = declared["content"][JSON]["schema"]["$ref"]
    return ref


@pytest.mark.task(3)
async def test_document_is_valid_and_describes_the_api(client: httpx.AsyncClient) -> None:
    spec = await valid_document(client)
    assert spec["openapi"].startswith("3.1"), "FastAPI emits OpenAPI 3.1"
    info = spec["info"]
    assert (info["title"], info["version"]) == ("Pet Store API", "1.0.0")
    assert info.get("description"), "the document opens with what the API is for"


@pytest.mark.task(3)
async def test_tags_are_declared_with_descriptions(client: httpx.AsyncClient) -> None:
    spec = await valid_document(client)
    tags = spec.get("tags", [])
    assert [t["name"] for t in tags] == ["pets", "meta"], "openapi_tags lists the tags, in order"
    assert all(t.get("description") for t in tags), "each tag has a description for the docs UI"
    used = {tag for op in operations(spec).values() for tag in op["tags"]}
    assert used == {"pets", "meta"}, "operations use only declared tags"


@pytest.mark.task(6)
async def test_security_scheme_is_declared_and_applied(client: httpx.AsyncClient) -> None:
    spec = await valid_document(client)
    schemes = spec.get("components", {}).get("securitySchemes", {})
    assert schemes == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "opaque",
            "description": "The staff token, sent as `Authorization: Bearer <token>`.",
        }
    }, "one HTTP bearer scheme, named bearerAuth"
    secured = {name for name, op in operations(spec).items() if "security" in op}
    assert secured == {"POST /pets", "DELETE /pets/{pet_id}"}, "exactly the writes are protected"
    for name in secured:
        assert operations(spec)[name]["security"] == [{"bearerAuth": []}]


@pytest.mark.task(5)
async def test_security_is_enforced(client: httpx.AsyncClient) -> None:
    pet = {"name": "Rex", "species": "dog", "age": 3}
    near_misses = (API_TOKEN[:-1], API_TOKEN + "x", API_TOKEN.upper(), f"{API_TOKEN} {API_TOKEN}")
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic eDp5"},
        {"Authorization": f"Basic {API_TOKEN}"},
        *({"Authorization": f"Bearer {token}"} for token in near_misses),
    ):
        response = await client.post("/pets", json=pet, headers=headers)
        assert response.status_code == 401, f"{headers or 'no token'}: 401 Unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer"), "401 names the scheme"
        assert response.json() == {"detail": "invalid bearer token"}, (
            f"{headers or 'no token'}: every 401 is the README's Error body"
        )
    assert (await client.get("/pets")).status_code == 200, "reading needs no token"
    created = await client.post("/pets", json=pet, headers=AUTH)
    assert created.status_code == 201, "the staff token opens the door"


@pytest.mark.task(5)
async def test_token_is_compared_in_constant_time(
    client: httpx.AsyncClient, digest_spy: DigestSpy
) -> None:
    pet = {"name": "Rex", "species": "dog", "age": 3}
    wrong = await client.post("/pets", json=pet, headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    assert compared_with_the_token(digest_spy, b"wrong"), (
        "== stops at the first differing byte and leaks how much of a guess was right: "
        "compare the token with secrets.compare_digest, as bytes"
    )
    digest_spy.calls.clear()
    right = await client.post("/pets", json=pet, headers=AUTH)
    assert right.status_code == 201
    assert compared_with_the_token(digest_spy, API_TOKEN.encode()), (
        "the right token goes through secrets.compare_digest too"
    )


@pytest.mark.task(4)
async def test_error_responses_are_declared(client: httpx.AsyncClient) -> None:
    spec = await valid_document(client)
    ops = operations(spec)
    expected = {
        "GET /pets/{pet_id}": ["404"],
        "POST /pets": ["400", "401"],
        "DELETE /pets/{pet_id}": ["401", "404"],
    }
    for name, statuses in expected.items():
        for status in statuses:
            declared = ops[name]["responses"].get(status, {})
            assert error_ref(ops[name], status) == "#/components/schemas/Error", (
                f"{name} {status}: the body's schema is the Error model"
            )
            assert declared.get("description", "").strip(), f"{name} {status}: say when it happens"
            Error.model_validate(declared["content"][JSON]["example"])  # examples must be true
    assert "Error" in spec["components"]["schemas"]


@pytest.mark.task(1)
async def test_examples_are_present_and_accepted(client: httpx.AsyncClient) -> None:
    spec = await valid_document(client)
    pet_in = spec["components"]["schemas"]["PetIn"]
    assert pet_in.get("additionalProperties") is False, "the schema says unknown fields are refused"
    examples = pet_in.get("examples", [])
    assert len(examples) >= 2, "the request model carries examples for the docs' Try it out"
    for example in examples:
        response = await client.post("/pets", json=example, headers=AUTH)
        assert response.status_code == 201, f"a documented example must be accepted: {example}"
        assert response.json() == {"id": response.json()["id"], **example}


@pytest.mark.task(7)
async def test_health_answers_ok(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}


@pytest.mark.task(9)
async def test_get_pet_answers_the_pet_or_404(client: httpx.AsyncClient) -> None:
    missing = await client.get("/pets/9")
    assert (missing.status_code, missing.json()) == (404, {"detail": "pet 9 not found"})
    pet = {"name": "Tom", "species": "cat", "age": 2}
    pet_id = (await client.post("/pets", json=pet, headers=AUTH)).json()["id"]
    found = await client.get(f"/pets/{pet_id}")
    assert (found.status_code, found.json()) == (200, {"id": pet_id, **pet})


@pytest.mark.task(2)
async def test_the_api_refuses_what_the_schema_refuses(client: httpx.AsyncClient) -> None:
    tom = {"name": "Tom", "species": "cat"}
    for bad, field in (({**tom, "age": True}, "age"), ({**tom, "age": False}, "age"), ({**tom, "age": 1, "owner": "x"}, "owner")):  # fmt: skip
        response = await client.post("/pets", json=bad, headers=AUTH)
        assert response.status_code == 422, f"the schema refuses {bad}, so must the API"
        assert [e["loc"] for e in response.json()["detail"]] == [["body", field]], (
            f"{bad}: the 422 names the field the schema refuses"
        )
    for pet in ({"name": "Tom", "species": "cat", "age": 2}, {"name": "Rex", "species": "dog", "age": 44.0}):  # fmt: skip
        assert (await client.post("/pets", json=pet, headers=AUTH)).status_code == 201, (
            "44.0 is an integer in JSON Schema"
        )
    for age in (0, 1):  # 0 == False and 1 == True in Python: only the bool type is refused
        pet = {"name": "Kit", "species": "cat", "age": age}
        created = await client.post("/pets", json=pet, headers=AUTH)
        assert (created.status_code, created.json()["age"]) == (201, age), (
            f"age {age} is a number of years: refuse booleans by their type, not their value"
        )


@pytest.mark.task(10)
async def test_create_pet_answers_201_with_the_stored_pet(client: httpx.AsyncClient) -> None:
    pet = {"name": "Tom", "species": "cat", "age": 2}
    created = await client.post("/pets", json=pet, headers=AUTH)
    assert (created.status_code, created.json()) == (201, {"id": 1, **pet})
    listed = await client.get("/pets")
    assert listed.json() == [{"id": 1, **pet}], "the pet is stored"


@pytest.mark.task(8)
async def test_list_pets_filters_by_species_and_limit(client: httpx.AsyncClient) -> None:
    for pet in ({"name": "Tom", "species": "cat", "age": 2}, {"name": "Rex", "species": "dog", "age": 44.0}):  # fmt: skip
        assert (await client.post("/pets", json=pet, headers=AUTH)).status_code == 201
    cats = await client.get("/pets", params={"species": "cat"})
    assert [p["name"] for p in cats.json()] == ["Tom"]
    first = await client.get("/pets", params={"limit": 1})
    assert [p["name"] for p in first.json()] == ["Tom"], "at most `limit` pets, in arrival order"
    dogs = await client.get("/pets", params={"species": "dog", "limit": 1})
    assert [p["name"] for p in dogs.json()] == ["Rex"], "filter first, then take `limit` of those"
    both = await client.get("/pets", params={"limit": 2})
    assert [p["name"] for p in both.json()] == ["Tom", "Rex"], "a limit of exactly the count"


@pytest.mark.task(11)
async def test_delete_pet_answers_204_then_404(client: httpx.AsyncClient) -> None:
    pet = {"name": "Tom", "species": "cat", "age": 2}
    assert (await client.post("/pets", json=pet, headers=AUTH)).status_code == 201
    gone = await client.delete("/pets/1", headers=AUTH)
    assert (gone.status_code, gone.content) == (204, b"")
    again = await client.delete("/pets/1", headers=AUTH)
    assert (again.status_code, again.json()) == (404, {"detail": "pet 1 not found"})


@pytest.mark.task(5)
async def test_odd_input_is_4xx_never_500(client: httpx.AsyncClient) -> None:
    pet = {"name": "Rex", "species": "dog", "age": 3}
    for token in (b"Bearer \xe9t\xe9", b"Bearer \xff"):  # header bytes arrive as latin-1 text
        response = await client.post("/pets", json=pet, headers={b"Authorization": token})
        assert (response.status_code, response.json()) == (
            401,
            {"detail": "invalid bearer token"},
        ), "compare_digest raises TypeError for a str with non-ASCII characters: compare bytes"
    # json.loads accepts NaN and lone surrogates; the 422 that echoes them must still be JSON
    odd = await client.post(
        "/pets",
        content=b'{"name": "\\ud800", "species": "cat", "age": NaN}',
        headers={**AUTH, "Content-Type": JSON},
    )
    assert odd.status_code == 422
    assert [(e["loc"], e["input"]) for e in odd.json()["detail"]] == [
        (["body", "name"], "\\ud800"),
        (["body", "age"], "nan"),
    ]


@pytest.mark.task(3)
async def test_docs_pages_are_served(client: httpx.AsyncClient) -> None:
    swagger = await client.get("/docs")
    assert swagger.status_code == 200
    assert swagger.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in swagger.text, "Swagger UI loads the document from /openapi.json"
    assert '"persistAuthorization": true' in swagger.text, (
        "keep the token typed into Authorize across page reloads"
    )
    redoc = await client.get("/redoc")
    assert redoc.status_code == 200
    assert redoc.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in redoc.text, "ReDoc renders the same document"


@pytest.mark.task(12)
def test_flask_document_is_valid_and_documented() -> None:
    client = create_flask_app().test_client()
    spec = client.get("/openapi.json").get_json()
    validate(spec)
    get_pet = spec["paths"]["/pets/{pet_id}"]["get"]
    create_pet = spec["paths"]["/pets"]["post"]
    assert get_pet["tags"] == create_pet["tags"] == ["pets"]
    assert "404" in get_pet["responses"], "GET one pet declares its 404"
    assert create_pet["security"] == [{"bearerAuth": []}], "the write is protected"
    assert "security" not in get_pet, "reading a pet needs no token"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    body = create_pet["requestBody"]["content"][JSON]["schema"]
    assert body == {"$ref": "#/components/schemas/PetIn"}, "the Pydantic model is the body schema"
    assert set(create_pet["responses"]) == {"201", "400", "401", "422"}, (
        "a body that is not JSON is a 400: declare it, and no status the route never answers"
    )
    assert set(get_pet["responses"]) == {"200", "404"}, "only what the route can answer"


@pytest.mark.task(12)
def test_flask_docs_page_is_served() -> None:
    client = create_flask_app().test_client()
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert docs.content_type.startswith("text/html")
    assert "/openapi.json" in docs.get_data(as_text=True), "the docs page loads the document"
    assert client.get("/pets/1").status_code == 404, "the documented routes exist"


@pytest.mark.task(12)
def test_flask_endpoints_answer_json() -> None:
    client = create_flask_app().test_client()
    pet = {"name": "Rex", "species": "dog", "age": 3}
    denied = client.post("/pets", json=pet)
    assert denied.status_code == 401
    assert denied.get_json()["message"] == "Unauthorized", "APIFlask's errors are JSON"
    for token in ("wrong", API_TOKEN[:-1], API_TOKEN + "x", API_TOKEN.upper()):
        wrong = client.post("/pets", json=pet, headers={"Authorization": f"Bearer {token}"})
        assert wrong.status_code == 401, f"only API_TOKEN itself opens the door, not {token!r}"
    created = client.post("/pets", json=pet, headers=AUTH)
    assert (created.status_code, created.get_json()) == (201, {"id": 1, **pet})
    assert client.get("/pets/1").get_json() == {"id": 1, **pet}
    missing = client.get("/pets/7")
    assert (missing.status_code, missing.get_json()["message"]) == (404, "pet 7 not found")
    invalid = client.post("/pets", json={**pet, "age": -1}, headers=AUTH)
    assert invalid.status_code == 422
    assert list(invalid.get_json()["detail"]["json"]) == ["age"], "422 names the bad field"


@pytest.mark.task(12)
def test_flask_odd_input_is_4xx_never_500() -> None:
    client = create_flask_app().test_client()
    pet = {"name": "Rex", "species": "dog", "age": 3}
    odd_token = client.post("/pets", json=pet, headers={"Authorization": "Bearer \xe9t\xe9"})
    assert (odd_token.status_code, odd_token.get_json()["message"]) == (401, "Unauthorized")
    deep = client.post("/pets", data="[" * 100_000, content_type=JSON, headers=AUTH)
    assert (deep.status_code, deep.get_json()["message"]) == (400, "Bad Request"), (
        "json.loads raises RecursionError, not ValueError, on deep nesting: a 400 all the same"
    )


@pytest.mark.task(12)
def test_flask_token_is_compared_in_constant_time(digest_spy: DigestSpy) -> None:
    client = create_flask_app().test_client()
    pet = {"name": "Rex", "species": "dog", "age": 3}
    wrong = client.post("/pets", json=pet, headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    assert compared_with_the_token(digest_spy, b"wrong"), (
        "compare the token with secrets.compare_digest, as bytes, as on the FastAPI side"
    )
    assert client.post("/pets", json=pet, headers=AUTH).status_code == 201
    assert compared_with_the_token(digest_spy, API_TOKEN.encode())


@pytest.mark.task(12)
def test_flask_body_the_server_cannot_decode_is_400_not_500() -> None:
    with serve_wsgi(create_flask_app()) as port:
        for problem, body in MALFORMED_CHUNKED_BODIES.items():
            request = chunked_request("POST", "/pets", body, JSON)
            request = request.replace(
                b"Host:", f"Authorization: Bearer {API_TOKEN}\r\nHost:".encode()
            )
            response = raw_http(port, request, half_close=True)
            assert response.status == 400, f"a {problem}: 400, not 500"
        intact = chunked_request("POST", "/pets", b"2\r\n{}\r\n0\r\n\r\n", JSON)
        intact = intact.replace(b"Host:", f"Authorization: Bearer {API_TOKEN}\r\nHost:".encode())
        response = raw_http(port, intact, half_close=True)
        assert response.status == 422, "a well-formed chunked body is read: {} lacks the fields"
