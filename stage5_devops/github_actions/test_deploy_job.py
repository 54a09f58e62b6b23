"""Task 5: the deploy job: the production environment, AWS through OIDC, nothing long-lived; and
the whole workflow checked by actionlint (with shellcheck) and pinned by SHA."""

from __future__ import annotations

import re

import pytest

from .conftest import (
    BROKEN,
    SHA_PIN,
    UNTRUSTED,
    WORKFLOW,
    assert_pinned,
    job,
    lint,
    load,
    permissions,
    pull_request,
    push,
    runs_on,
    steps,
    uses,
    workflow,
)

JOBS = ("lint", "test", "image", "deploy")


def id_token(of: dict[str, object]) -> object:
    granted = permissions(of)
    return granted.get("id-token") if isinstance(granted, dict) else granted


@pytest.mark.task(5)
def test_deploy_waits_for_the_image_and_runs_only_for_main() -> None:
    deploy = job("deploy")
    needs = deploy.get("needs")
    assert "image" in ([needs] if isinstance(needs, str) else list(needs or []))
    assert runs_on(deploy, push("main"))
    assert not runs_on(deploy, pull_request()) and not runs_on(deploy, push("feature"))


@pytest.mark.task(5)
def test_deploy_goes_through_the_production_environment() -> None:
    environment = job("deploy").get("environment")
    name = environment.get("name") if isinstance(environment, dict) else environment
    # Its protection rules (reviewers, wait timer, branches) and its secrets apply to this job.
    assert name == "production"


@pytest.mark.task(5)
def test_only_the_deploy_job_may_ask_for_an_oidc_token() -> None:
    assert permissions(job("deploy")) == {"contents": "read", "id-token": "write"}
    assert id_token(workflow()) is None, "not at the top: every job would get it"
    for name in JOBS[:-1]:
        assert id_token(job(name)) is None, f"the {name} job must not get an OIDC token"


@pytest.mark.task(5)
def test_aws_credentials_come_from_oidc_not_from_stored_keys() -> None:
    deploy = job("deploy")
    given = uses(deploy, "aws-actions/configure-aws-credentials").get("with") or {}
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+", str(given.get("role-to-assume")))
    assert given.get("aws-region"), "the region the role is used in"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(given), "no stored keys"
    # The check is real: the broken example's long-lived keys are found.
    assert "secrets.AWS_SECRET_ACCESS_KEY" in BROKEN.read_text()
    assert not re.search(r"secrets\.AWS_", WORKFLOW.read_text()), "no AWS secret anywhere"


@pytest.mark.task(5)
def test_the_image_reaches_the_deploy_script_through_env() -> None:
    deploy = job("deploy")
    scripted = [s for s in steps(deploy) if "run" in s]
    assert scripted, "a step that rolls the new image out"
    for step in scripted:
        assert "${{" not in str(step["run"]), "expressions reach the script through env:"
    values = " ".join(str(v) for s in scripted for v in (s.get("env") or {}).values())
    assert re.search(r"needs\.image\.outputs\.\w+", values), "the image job's output, via env:"


@pytest.mark.task(5)
def test_every_action_in_the_workflow_is_pinned_by_sha() -> None:
    # The check is real: a tag such as @v4 can be moved to other code by whoever controls it.
    assert not SHA_PIN.match("actions/checkout@v4")
    for name in JOBS:
        assert_pinned(job(name))


@pytest.mark.task(5)
def test_actionlint_with_shellcheck_finds_nothing(request: pytest.FixtureRequest) -> None:
    # First, that it is a real check: the broken example's script and expression errors are found.
    found = {(e["kind"], e["line"]) for e in lint(request, BROKEN)}
    text = BROKEN.read_text().splitlines()
    line = {
        what: n
        for n, t in enumerate(text, 1)
        for what in ("title", "pyton", "$HOME")
        if what in t and "run:" in t
    }
    assert ("expression", line["title"]) in found, "the untrusted title in a script"
    assert ("expression", line["pyton"]) in found, "the undefined matrix key"
    assert ("shellcheck", line["$HOME"]) in found, "shellcheck's SC2086, through actionlint"
    assert not any(UNTRUSTED.search(str(s.get("run", ""))) for n in JOBS for s in steps(job(n)))

    assert set(load(WORKFLOW).get("jobs") or {}) >= set(JOBS), "all four jobs, then lint them"
    findings = [f"{e['line']}: {e['message']} [{e['kind']}]" for e in lint(request, WORKFLOW)]
    assert findings == [], "\n".join(findings)
