"""The pet store's data, shared by the FastAPI and the Flask app: Pydantic models and storage."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The one token this demo accepts; a real API verifies a JWT or looks the token up.
API_TOKEN = "s3cret-demo-token"

Species = Literal["cat", "dog", "parrot"]


class Error(BaseModel):
    """Every 4xx body of both apps' own errors: one human-readable sentence."""

    detail: str = Field(description="What went wrong, for a human to read")


class PetIn(BaseModel):
    """What a client sends to add a pet."""

    name: str = Field(min_length=1, max_length=50, description="The pet's name")
    species: Species
    age: int = Field(ge=0, le=50, description="Age in whole years")

    # kata: begin forbid unknown fields and add json_schema_extra examples (two pets the API accepts)
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Rex", "species": "dog", "age": 3},
                {"name": "Polly", "species": "parrot", "age": 12},
            ]
        },
    )
    # kata: end

    # kata: begin reject JSON booleans for age: the schema says integer, but Python's bool is an int
    @field_validator("age", mode="before")
    @classmethod
    def age_is_not_a_boolean(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("age must be a number of years, not true/false")
        return value

    # kata: end


class Pet(BaseModel):
    """A stored pet: what the API answers."""

    id: int = Field(description="Assigned by the server")
    name: str
    species: Species
    age: int


class PetStore:
    """In-memory storage, fresh per app."""

    def __init__(self) -> None:
        self._pets: dict[int, Pet] = {}
        self._next_id = 1

    def add(self, data: PetIn) -> Pet:
        pet = Pet(id=self._next_id, **data.model_dump())
        self._pets[pet.id] = pet
        self._next_id += 1
        return pet

    def get(self, pet_id: int) -> Pet | None:
        return self._pets.get(pet_id)

    def remove(self, pet_id: int) -> bool:
        return self._pets.pop(pet_id, None) is not None

    def list(self, species: Species | None, limit: int) -> list[Pet]:
        pets = [p for p in self._pets.values() if species is None or p.species == species]
        return pets[:limit]
