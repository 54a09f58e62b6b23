"""Task 5, statically: hadolint, and the Dockerfile's shape read with dockerfile-parse.

These run anywhere; ``test_image.py`` builds and runs the image where a Docker engine answers.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import NamedTuple

import pytest
from dockerfile_parse import DockerfileParser

from .conftest import KATA, find_tool

DOCKERFILE = KATA / "Dockerfile"


class Instruction(NamedTuple):
    instruction: str  # FROM, RUN, COPY, ...
    value: str  # the rest of the instruction, continuation lines joined


def instructions() -> list[Instruction]:
    parsed = DockerfileParser(path=str(DOCKERFILE)).structure
    found = [Instruction(i["instruction"], i["value"]) for i in parsed]
    return [i for i in found if i.instruction != "COMMENT"]


def stages() -> list[list[Instruction]]:
    """The instructions of each stage, its FROM first."""
    found: list[list[Instruction]] = []
    for instruction in instructions():
        if instruction.instruction == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def of(stage: list[Instruction], name: str) -> list[str]:
    return [i.value for i in stage if i.instruction == name]


def index_of(stage: list[Instruction], name: str, pattern: str) -> int:
    for n, instruction in enumerate(stage):
        if instruction.instruction == name and re.search(pattern, instruction.value):
            return n
    pytest.fail(f"no {name} matching {pattern!r} in the stage {stage[0].value!r}")


@pytest.mark.task(5)
def test_hadolint_finds_nothing() -> None:
    done = subprocess.run(
        [find_tool("hadolint"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    # hadolint passes an empty stage too: the instructions it checked must be there.
    assert all(len(stage) > 1 for stage in stages()), "every stage needs its instructions"


@pytest.mark.task(5)
def test_the_base_image_is_a_build_argument_for_every_stage() -> None:
    first = instructions()[0]
    assert (first.instruction, first.value) == ("ARG", "BASE_IMAGE=python:3.12-slim")
    froms = [stage[0].value for stage in stages()]
    assert len(froms) >= 2, "a multi-stage build: one stage builds, the last one runs"
    assert of(stages()[0], "RUN") and of(stages()[-1], "CMD"), "a stage that builds, one that runs"
    for value in froms:
        assert re.match(r"^\$\{?BASE_IMAGE\}?\s", value + " "), f"FROM {value}: use the argument"


@pytest.mark.task(5)
def test_dependencies_install_before_the_code_arrives() -> None:
    build = stages()[0]
    requirements = index_of(build, "COPY", r"requirements\.txt")
    install = index_of(build, "RUN", r"pip install .*-r ")
    assert requirements < install, "copy requirements.txt first, then install from it"
    copies_before = of(build[:install], "COPY")
    assert all("requirements.txt" in c for c in copies_before), (
        "only requirements.txt may be copied before the install: any other file would make "
        "every code change reinstall every dependency"
    )
    assert "--no-cache-dir" in build[install].value, "no pip cache in the layer"


@pytest.mark.task(5)
def test_the_runtime_stage_takes_the_venv_and_installs_nothing() -> None:
    runtime = stages()[-1]
    assert any(c.startswith("--from=") and "/opt/venv" in c for c in of(runtime, "COPY"))
    assert not any("pip" in r for r in of(runtime, "RUN")), "install in the build stage only"
    assert re.search(r"\bPATH=/opt/venv/bin:\$PATH\b", " ".join(of(runtime, "ENV")))
    assert of(runtime, "EXPOSE") == ["8000"]


@pytest.mark.task(5)
def test_the_runtime_user_is_numeric_and_not_root() -> None:
    users = of(stages()[-1], "USER")
    assert users, "the last stage must set USER, or the container runs as root"
    uid, _, gid = users[-1].partition(":")
    # Kubernetes can check runAsNonRoot only against a numeric user.
    assert uid.isdigit() and int(uid) > 0, f"USER {users[-1]}: a numeric uid above 0"
    assert not gid or (gid.isdigit() and int(gid) > 0)
    code = stages()[-1][index_of(stages()[-1], "COPY", r"^\.\s")].value
    assert "--chown" not in code, "the code stays root's: the app must not be able to rewrite it"


@pytest.mark.task(5)
def test_cmd_is_exec_form_so_the_app_is_pid_1_and_gets_sigterm() -> None:
    cmds = of(stages()[-1], "CMD")
    assert cmds, "the last stage needs a CMD"
    try:
        argv = json.loads(cmds[-1])
    except json.JSONDecodeError:
        pytest.fail(f"CMD {cmds[-1]}: shell form runs /bin/sh as PID 1, which drops SIGTERM")
    assert argv[-2:] == ["-m", "docker_k8s.serve"] and argv[0].startswith("python")
    assert not of(stages()[-1], "ENTRYPOINT"), "no ENTRYPOINT wrapper in front of the app"


@pytest.mark.task(5)
def test_the_healthcheck_asks_the_liveness_endpoint() -> None:
    checks = of(stages()[-1], "HEALTHCHECK")
    assert len(checks) == 1
    options, _, command = checks[0].partition("CMD")
    assert "/healthz" in command and "PORT" in command
    for option in ("--interval=", "--timeout=", "--start-period="):
        assert option in options, f"HEALTHCHECK {option}..: the defaults (30s) are too slow"
