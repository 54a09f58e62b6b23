"""Task 4: the image is built and pushed only after lint and tests pass on main."""

from __future__ import annotations

import re

import pytest

from .conftest import assert_pinned, job, permissions, pull_request, push, runs_on, uses


@pytest.mark.task(4)
def test_the_image_waits_for_lint_and_tests() -> None:
    needs = job("image").get("needs")
    needs = [needs] if isinstance(needs, str) else list(needs or [])
    assert {"lint", "test"} <= set(needs), f"needs: {needs}; a failing test must stop the push"


@pytest.mark.task(4)
def test_only_pushes_to_main_build_and_push_an_image() -> None:
    image = job("image")
    assert runs_on(image, push("main"))
    # A pull request from a fork must never reach the registry.
    assert not runs_on(image, pull_request()), "not for pull requests"
    assert not runs_on(image, push("feature")), "not for other branches"


@pytest.mark.task(4)
def test_the_job_may_write_packages_and_nothing_else() -> None:
    assert permissions(job("image")) == {"contents": "read", "packages": "write"}


@pytest.mark.task(4)
def test_the_image_is_pushed_to_ghcr_with_the_job_token() -> None:
    image = job("image")
    assert_pinned(image)
    login = uses(image, "docker/login-action").get("with") or {}
    assert login.get("registry") == "ghcr.io"
    # The job's own short-lived token, not a personal access token kept as a secret.
    password = re.sub(r"\s", "", str(login.get("password", "")))
    assert password in ("${{secrets.GITHUB_TOKEN}}", "${{github.token}}"), password
    build = uses(image, "docker/build-push-action")
    given = build.get("with") or {}
    assert given.get("push") is True and given.get("context") == "service"
    assert "${{ github.sha }}" in str(given.get("tags", "")), (
        "tag with the commit it was built from"
    )


@pytest.mark.task(4)
def test_the_job_hands_the_pushed_digest_to_later_jobs() -> None:
    image = job("image")
    build_id = uses(image, "docker/build-push-action").get("id")
    assert build_id, "give the build step an id, so its outputs can be named"
    outputs = " ".join(str(v) for v in (image.get("outputs") or {}).values())
    # A digest names exactly the bytes that were tested; a tag can be moved.
    assert re.search(rf"steps\.{re.escape(str(build_id))}\.outputs\.digest", outputs), outputs
