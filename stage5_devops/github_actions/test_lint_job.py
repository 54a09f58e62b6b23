"""Task 2: the lint job, and a pull request title check that no title can take over."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import (
    BROKEN,
    KATA,
    UNTRUSTED,
    Mapping,
    assert_pinned,
    env_of,
    job,
    load,
    pull_request,
    push,
    render,
    run_script,
    runs_on,
    scripts,
    steps,
    uses,
    working_directory,
)

GOOD_TITLES = ["fix(api): refuse blank notes", "feat: search notes by word", "ci: pin actions"]
BAD_TITLES = ["Update stuff", "fix:no space", "fixes: a typo", "", "FIX(api): shouting"]
# Each runs `touch pwned` if the title becomes part of the script's text.
PAYLOADS = [
    "fix: a $(touch pwned) b",
    "fix: a `touch pwned` b",
    'fix: a"; touch pwned; echo "b',
]


def title_check() -> Mapping:
    """The lint job's step that reads the pull request title."""
    found = [
        s
        for s in steps(job("lint"))
        if "pull_request.title" in str(s.get("env", "")) and "run" in s
    ]
    assert len(found) == 1, "one step that gets the title through `env:` and checks it in `run:`"
    return found[0]


def check_title(title: str, tmp_path: Path) -> int:
    """Run the title check as the runner would for a pull request with this title."""
    step, context = title_check(), pull_request(title)
    env = {name: render(value, context) for name, value in env_of(job("lint"), step).items()}
    script = render(str(step["run"]), context)
    return run_script(script, tmp_path, env).returncode


@pytest.mark.task(2)
def test_the_title_check_accepts_conventional_titles_and_refuses_the_rest(tmp_path: Path) -> None:
    assert [check_title(t, tmp_path) for t in GOOD_TITLES] == [0] * len(GOOD_TITLES)
    refused = {t: check_title(t, tmp_path) for t in BAD_TITLES}
    assert all(code != 0 for code in refused.values()), f"these must fail the job: {refused}"


@pytest.mark.task(2)
def test_the_title_check_runs_only_for_pull_requests() -> None:
    step = title_check()
    assert runs_on(step, pull_request()) and not runs_on(step, push("main"))


@pytest.mark.task(2)
def test_a_hostile_title_runs_code_in_the_naive_step_but_not_in_yours(tmp_path: Path) -> None:
    naive = next(s for s in scripts(load(BROKEN)) if "pull_request.title" in s)
    for payload in PAYLOADS:
        attacked = tmp_path / "naive"
        attacked.mkdir(exist_ok=True)
        run_script(render(naive, pull_request(payload)), attacked, {})
        assert (attacked / "pwned").exists(), f"the attack works on the naive step: {payload!r}"
        (attacked / "pwned").unlink()

        check_title(payload, tmp_path)
        assert not (tmp_path / "pwned").exists(), f"{payload!r} ran code in your title check"


@pytest.mark.task(2)
def test_no_script_has_untrusted_input_pasted_into_it() -> None:
    # The check is real: the naive example is caught.
    assert any(UNTRUSTED.search(s) for s in scripts(load(BROKEN)))
    for step in steps(job("lint")):
        assert not UNTRUSTED.search(str(step.get("run", ""))), "pass untrusted input via env:"


@pytest.mark.task(2)
def test_the_lint_job_installs_from_the_lock_file_and_runs_ruff_here() -> None:
    lint = job("lint")
    assert_pinned(lint)
    setup = uses(lint, "actions/setup-python")
    assert (setup.get("with") or {}).get("cache") == "pip", "cache pip's downloads"
    runs = [s for s in steps(lint) if "run" in s]
    assert any("requirements.txt" in str(s["run"]) for s in runs), "install the locked versions"
    ruff = [s for s in runs if "ruff" in str(s["run"])]
    assert any("format --check" in str(s["run"]) for s in ruff), "check the formatting too"
    for step in ruff:
        done = run_script(str(step["run"]), working_directory(lint, step), {})
        assert done.returncode == 0, f"{step['run']!r} fails here:\n{done.stdout}{done.stderr}"
    assert working_directory(lint, ruff[0]) == KATA / "service", "ruff runs in the service"
