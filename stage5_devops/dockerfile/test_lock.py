"""Task 1, statically: requirements.txt is a lock of requirements.in.

``test_image.py`` proves, in the built image, that the lock is exactly what got installed and
that nothing it needs is missing.
"""

from __future__ import annotations

import re

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import KATA
from .dockerfile_checks import read_lock


def requirements(name: str) -> list[Requirement]:
    return [Requirement(requirement) for requirement, _ in read_lock(KATA / name)]


def lock() -> dict[str, str]:
    """Package name -> its pinned version."""
    pins: dict[str, str] = {}
    for requirement in requirements("requirements.txt"):
        specifiers = list(requirement.specifier)
        assert [s.operator for s in specifiers] == ["=="], f"{requirement}: pin it with =="
        assert not re.search(r"[*]", specifiers[0].version), f"{requirement}: one exact version"
        pins[canonicalize_name(requirement.name)] = specifiers[0].version
    return pins


@pytest.mark.task(1)
def test_every_package_is_pinned_to_one_version() -> None:
    pins = lock()
    assert len(pins) == len(requirements("requirements.txt")), "each package once"
    # The direct ones, and what they pull in: a lock is transitive.
    for name in ("fastapi", "gunicorn", "uvicorn-worker", "uvicorn", "starlette", "pydantic"):
        assert name in pins, f"{name} is missing from the lock"


@pytest.mark.task(1)
def test_every_package_carries_the_sha256_of_its_files() -> None:
    entries = read_lock(KATA / "requirements.txt")
    assert entries, "the lock is empty"
    for requirement, hashes in entries:
        assert hashes, f"{requirement}: --hash=sha256:<64 hex digits>, one per file"
    wheels_and_sdist = {len(hashes) for _, hashes in entries}
    assert max(wheels_and_sdist) > 2, "pydantic-core has a wheel per platform: all of them"


@pytest.mark.task(1)
def test_the_lock_satisfies_requirements_in() -> None:
    pins = lock()
    for requirement in requirements("requirements.in"):
        name = canonicalize_name(requirement.name)
        assert name in pins and requirement.specifier.contains(pins[name]), requirement
