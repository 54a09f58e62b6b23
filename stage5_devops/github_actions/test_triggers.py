"""Task 1: when the workflow runs, what its token may do by default, and which runs it cancels."""

from __future__ import annotations

import pytest

from .conftest import evaluate, permissions, pull_request, push, render, workflow


@pytest.mark.task(1)
def test_it_runs_for_pushes_to_main_and_for_pull_requests() -> None:
    on = workflow().get("on")
    assert isinstance(on, dict), "`on:` as a mapping of events, each with its filters"
    assert (on.get("push") or {}).get("branches") == ["main"], (
        "push: only main is built and shipped"
    )
    assert "pull_request" in on
    # pull_request_target runs with a write token and secrets for code from any fork.
    assert "pull_request_target" not in on and "workflow_run" not in on


@pytest.mark.task(1)
def test_the_default_token_can_only_read_the_code() -> None:
    # Not write-all, not read-all, no id-token for every job: jobs ask for more themselves.
    assert permissions(workflow()) == {"contents": "read"}


@pytest.mark.task(1)
def test_each_branch_and_pull_request_has_its_own_concurrency_group() -> None:
    concurrency = workflow().get("concurrency")
    assert isinstance(concurrency, dict), "concurrency: a group and cancel-in-progress"
    group = str(concurrency.get("group", ""))
    runs = {
        "pr 7": render(group, pull_request(number=7)),
        "pr 8": render(group, pull_request(number=8)),
        "main": render(group, push("main")),
    }
    assert all(runs.values()), f"every run needs a group: {runs}"
    assert len(set(runs.values())) == 3, f"one pull request must not cancel another: {runs}"
    assert render(group, push("main")) == runs["main"], "two pushes to main share their group"


@pytest.mark.task(1)
def test_a_new_push_cancels_a_stale_pull_request_run_but_never_a_main_run() -> None:
    concurrency = workflow().get("concurrency") or {}
    assert "cancel-in-progress" in concurrency, "say whether a newer run cancels an older one"
    cancel = concurrency["cancel-in-progress"]
    assert evaluate(cancel, pull_request()) is True, "a stale pull request run is cancelled"
    # A main run may be half-way through a deploy: it finishes, the next one waits.
    assert evaluate(cancel, push("main")) is False, "a main run is never cancelled"
