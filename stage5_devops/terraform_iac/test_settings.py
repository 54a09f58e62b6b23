"""Task 2: versions pinned, the S3 backend configured but left partial, tags from the provider."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import (
    SAMPLE_INPUTS,
    Terraform,
    as_var_flags,
    expression,
    inputs_only,
    module,
    one,
)

PROVIDERS = {"aws": "hashicorp/aws", "archive": "hashicorp/archive"}


def settings() -> dict[str, object]:
    found = module().terraform
    assert len(found) == 1, "exactly one terraform block"
    return found[0]


@pytest.mark.task(2)
def test_terraform_itself_is_pinned_to_a_range() -> None:
    constraint = str(settings().get("required_version", ""))
    lower = re.search(r">=\s*1\.(\d+)", constraint)
    assert lower and int(lower.group(1)) >= 10, "a lower bound of 1.10 at least (use_lockfile)"
    assert re.search(r"<\s*2\.0", constraint), "an upper bound: a 2.0 may change the language"


@pytest.mark.task(2)
def test_every_provider_has_a_source_and_a_pessimistic_version() -> None:
    required = one(settings(), "required_providers")
    assert {name: body.get("source") for name, body in required.items()} == PROVIDERS
    for name, body in required.items():
        version = str(body.get("version", ""))
        assert re.fullmatch(r"~>\s*\d+\.\d+", version), (
            f'{name}: version = "~> MAJOR.MINOR" (new minors, never a new major), not {version!r}'
        )


@pytest.mark.task(2)
def test_the_state_backend_is_s3_encrypted_locked_and_partial() -> None:
    backend = one(settings(), "backend")
    assert list(backend) == ["s3"], "the S3 backend"
    s3 = backend["s3"]
    assert s3.get("encrypt") is True, "encrypt = true: state holds the token in clear"
    assert s3.get("use_lockfile") is True or s3.get("dynamodb_table"), "a lock"
    hard_coded = {"bucket", "key", "region", "profile", "access_key", "secret_key", "role_arn"}
    assert not hard_coded & set(s3), "bucket, key and region come from -backend-config"


@pytest.mark.task(2)
def test_the_provider_reads_its_region_and_no_credentials() -> None:
    providers = module().providers
    assert set(providers) >= {"aws"}
    aws = providers["aws"]
    assert expression(aws.get("region")) == "var.region"
    credentials = {"access_key", "secret_key", "token", "profile", "shared_credentials_files"}
    assert not credentials & set(aws), "credentials come from the environment, never the code"
    tags = expression(one(aws, "default_tags").get("tags"))
    assert tags.startswith("local.") or "var.tags" in tags, "default_tags from the module's tags"


@pytest.mark.task(2)
def test_terraform_computes_the_name_and_tags_a_caller_cannot_override(
    terraform: Terraform, tmp_path: Path
) -> None:
    folder = inputs_only(tmp_path)
    caller_tags = '{Owner = "team-notes", Environment = "spoofed", ManagedBy = "hand"}'
    flags = as_var_flags({**SAMPLE_INPUTS, "environment": "staging", "tags": caller_tags})
    applied = terraform(folder, "apply", "-auto-approve", "-input=false", *flags)
    assert applied.returncode == 0, applied.output
    shown = terraform(folder, "output", "-json")
    assert shown.returncode == 0, shown.output
    outputs = {name: value["value"] for name, value in json.loads(shown.output).items()}
    assert outputs.get("name") == "notes-staging", "local.name is project-environment"
    assert outputs.get("tags") == {
        "Owner": "team-notes",
        "Project": "notes",
        "Environment": "staging",
        "ManagedBy": "terraform",
    }
    aws = module().providers["aws"]
    assert expression(one(aws, "default_tags").get("tags")) == "local.tags"
