"""The catalog: every stage manifest and ``kata.toml``, loaded and validated.

Layout: each stage folder has a ``stage.toml`` whose ``katas`` list gives the learning order;
each kata is a package ``<stage>/<slug>/`` with ``README.md``, ``kata.toml``, its solution and
``test_*.py``. Every problem is reported as one line that names the file and the fix.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from katas.daemons import PROGRAMS
from katas.markers import MarkerError, find_regions
from katas.services import SPECS

STAGES = (
    "stage1_core",
    "stage2_web",
    "stage3_data",
    "stage4_architecture",
    "stage5_devops",
    "stage6_frontier",
    "capstones",
)
LEVELS = ("junior", "mid", "senior")
# What a kata may list in 'services': what a provider serves, plus PostGIS, which the pytest
# plugin's postgis_url fixture provides on top of PostgreSQL, and the programs a kata starts.
KNOWN_SERVICES = (*SPECS, "postgis", *PROGRAMS)
_REQUIRED = {"title": str, "covers": list, "level": str, "services": list, "points": int}
_OPTIONAL = {"hints": list, "django_apps": list, "sandbox": dict, "mutate": dict}


class CatalogError(Exception):
    """One or more catalog problems; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Bullet:
    id: str
    stage: str
    zh: str
    en: str


@dataclass(frozen=True)
class Hint:
    task: int  # the README task it helps with, from 1
    text: str


def readme_tasks(readme_text: str) -> list[str]:
    """The numbered items of a README's '## Tasks' section, each on one line."""
    section = re.search(r"^## Tasks\s*$(.*?)(?=^## |\Z)", readme_text, re.M | re.S)
    if not section:
        return []
    items = re.findall(r"^\d+\.\s+(.*?)(?=^\d+\.\s|^\s*$|\Z)", section.group(1), re.M | re.S)
    return [" ".join(item.split()) for item in items]


@dataclass(frozen=True)
class EquivalentMutant:
    """A mutant of the solution that no test can kill because it behaves the same (kata.toml)."""

    file: str  # relative to the kata folder
    line: str  # the mutated source line, stripped
    operator: str  # cosmic-ray's operator name, e.g. "core/NumberReplacer"
    reason: str  # why it cannot change behaviour
    mutant: str | None = None  # the line as mutated, stripped: one of several such; None: any


@dataclass(frozen=True)
class Kata:
    name: str
    stage: str
    path: Path
    title: str
    covers: tuple[str, ...]
    level: str
    services: tuple[str, ...]
    points: int
    hints: tuple[Hint, ...]
    django_apps: tuple[str, ...] = ()
    sandbox_allow: tuple[str, ...] = ()  # what the grading sandbox lets this kata's solution do
    sandbox_network: bool = False  # graded with the host's network although it lists no service
    equivalent_mutants: tuple[EquivalentMutant, ...] = ()  # excluded from its mutation score

    @property
    def tasks(self) -> list[str]:
        """The README's numbered tasks; tests name theirs with ``@pytest.mark.task(n)``."""
        return readme_tasks(self.readme.read_text(encoding="utf-8"))

    @property
    def readme(self) -> Path:
        return self.path / "README.md"

    @property
    def solution_files(self) -> list[Path]:
        """Files of this kata that hold solution regions (tests never do)."""
        return [
            f
            for f in sorted(self.path.rglob("*"))
            if f.is_file() and not f.name.startswith("test_") and "__pycache__" not in f.parts
            and find_regions(f)
        ]  # fmt: skip

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stage": self.stage,
            "title": self.title,
            "covers": list(self.covers),
            "level": self.level,
            "services": list(self.services),
            "points": self.points,
        }


@cache
def syllabus() -> dict[str, Bullet]:
    """The article's bullets by id, from the project's own copy (``katas/syllabus.toml``)."""
    text = resources.files("katas").joinpath("syllabus.toml").read_text(encoding="utf-8")
    return {b["id"]: Bullet(**b) for b in tomllib.loads(text)["bullet"]}


def find_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder above ``start`` holding katas/ and stage folders."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "katas" / "catalog.py").is_file() and (folder / "pyproject.toml").is_file():
            return folder
    raise CatalogError([f"{here}: not inside a backend-katas checkout; cd into your clone first"])


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: malformed TOML ({exc}); fix the syntax")
    except OSError as exc:
        problems.append(f"{path}: cannot be read ({exc.strerror})")
    return None


def _load_kata(root: Path, stage: str, slug: str, problems: list[str]) -> Kata | None:
    folder = root / stage / slug
    manifest = root / stage / "stage.toml"
    if not folder.is_dir():
        problems.append(
            f"{manifest}: lists '{slug}' but {folder} does not exist; remove it or add it"
        )
        return None
    toml_path = folder / "kata.toml"
    if not toml_path.is_file():
        problems.append(f"{toml_path}: missing; every kata needs a kata.toml (see README.md)")
        return None
    data = _read_toml(toml_path, problems)
    if data is None:
        return None
    before = len(problems)
    for key, kind in (_REQUIRED | _OPTIONAL).items():
        if key not in data and key in _REQUIRED:
            problems.append(f"{toml_path}: missing '{key}' ({kind.__name__}); add it")
        elif key in data and not isinstance(data[key], kind):
            problems.append(f"{toml_path}: '{key}' must be a {kind.__name__}")
    for key in sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL)):
        problems.append(
            f"{toml_path}: unknown key '{key}'; allowed: {', '.join(_REQUIRED | _OPTIONAL)}"
        )
    if len(problems) > before:
        return None
    known = syllabus()
    for bullet in data["covers"]:
        if bullet not in known:
            problems.append(
                f"{toml_path}: unknown syllabus id '{bullet}'; use an id from katas/syllabus.toml"
            )
    if not data["covers"]:
        problems.append(f"{toml_path}: 'covers' is empty; list the syllabus ids this kata teaches")
    if data["level"] not in LEVELS:
        problems.append(f"{toml_path}: level '{data['level']}' is not one of {', '.join(LEVELS)}")
    for service in data["services"]:
        if service not in KNOWN_SERVICES:
            problems.append(
                f"{toml_path}: unknown service '{service}'; known: {', '.join(KNOWN_SERVICES)}"
            )
    if data["points"] <= 0:
        problems.append(f"{toml_path}: 'points' must be positive")
    if not (folder / "README.md").is_file():
        problems.append(f"{folder / 'README.md'}: missing; every kata teaches from its README")
    if not any(folder.glob("test_*.py")):
        problems.append(f"{folder}: no test_*.py; a kata needs tests that tell right from wrong")
    if not (folder / "__init__.py").is_file():
        problems.append(f"{folder / '__init__.py'}: missing; each kata is a package")
    hints = _hints(toml_path, data.get("hints", []), problems)
    allow = _sandbox_allow(toml_path, data.get("sandbox", {}), problems)
    network = data.get("sandbox", {}).get("network", False) is True
    equivalent = _equivalent_mutants(toml_path, data.get("mutate", {}), problems)
    if len(problems) > before:
        return None
    return Kata(
        name=slug,
        stage=stage,
        path=folder,
        title=data["title"],
        covers=tuple(data["covers"]),
        level=data["level"],
        services=tuple(data["services"]),
        points=data["points"],
        hints=hints,
        django_apps=tuple(str(a) for a in data.get("django_apps", [])),
        sandbox_allow=allow,
        sandbox_network=network,
        equivalent_mutants=equivalent,
    )


def _hints(toml_path: Path, raw: list[Any], problems: list[str]) -> tuple[Hint, ...]:
    """``[[hints]]`` tables of ``task`` (a README task number) and ``text``."""
    hints = []
    for number, entry in enumerate(raw, 1):
        if isinstance(entry, str):  # a hint not yet keyed to a task: shown with task 0
            hints.append(Hint(0, entry))
        elif (
            isinstance(entry, dict)
            and set(entry) == {"task", "text"}
            and isinstance(entry["task"], int)
            and entry["task"] >= 1
            and isinstance(entry["text"], str)
        ):
            hints.append(Hint(entry["task"], entry["text"]))
        else:
            problems.append(
                f"{toml_path}: hint {number} must be a [[hints]] table with task = <README task "
                'number> and text = "..."'
            )
    return tuple(hints)


def _sandbox_allow(toml_path: Path, raw: dict[str, Any], problems: list[str]) -> tuple[str, ...]:
    """``[sandbox] allow = [...]``: names the grading sandbox permits this kata's solution;
    ``network = true``: the kata needs the network (a tool fetched from PyPI) while graded."""
    allow = raw.get("allow", [])
    if (
        set(raw) - {"allow", "network"}
        or not isinstance(allow, list)
        or not all(isinstance(a, str) for a in allow)
        or not isinstance(raw.get("network", False), bool)
    ):
        problems.append(
            f'{toml_path}: [sandbox] takes only allow = ["name", ...] and network = true|false'
        )
        return ()
    return tuple(allow)


def _equivalent_mutants(
    toml_path: Path, raw: dict[str, Any], problems: list[str]
) -> tuple[EquivalentMutant, ...]:
    """``[[mutate.equivalent]]`` tables: file, line, operator, the reason it is equivalent, and
    optionally the mutant (the line as mutated), to single out one of several on a line."""
    entries = raw.get("equivalent", [])
    fields = {"file", "line", "operator", "reason"}
    if set(raw) - {"equivalent"} or not isinstance(entries, list):
        problems.append(f"{toml_path}: [mutate] takes only [[mutate.equivalent]] tables")
        return ()
    found = []
    for number, entry in enumerate(entries, 1):
        if (
            isinstance(entry, dict)
            and fields <= set(entry) <= fields | {"mutant"}
            and all(isinstance(v, str) and v.strip() for v in entry.values())
        ):
            text = {k: entry[k].strip() for k in fields}
            mutant = entry.get("mutant")
            found.append(EquivalentMutant(**text, mutant=mutant.strip() if mutant else None))
        else:
            problems.append(
                f"{toml_path}: [[mutate.equivalent]] {number} needs file, line, operator and a "
                "reason (and may name the mutant line), each a non-empty string"
            )
    return tuple(found)


def load(root: Path | None = None, *, check_markers: bool = True) -> list[Kata]:
    """Every kata in learning order; raise CatalogError listing every problem found."""
    root = root or find_root()
    problems: list[str] = []
    katas: list[Kata] = []
    seen: dict[str, Path] = {}
    for stage in STAGES:
        manifest = root / stage / "stage.toml"
        if not manifest.is_file():
            if (root / stage).is_dir() and any((root / stage).glob("*/kata.toml")):
                problems.append(f"{manifest}: missing; list the stage's katas in order there")
            continue
        data = _read_toml(manifest, problems)
        if data is None:
            continue
        slugs = data.get("katas")
        if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs):
            problems.append(f"{manifest}: 'katas' must be a list of folder names, in order")
            continue
        for slug in slugs:
            if slug in seen:
                problems.append(
                    f"{manifest}: duplicate kata name '{slug}' (also in {seen[slug]}); rename one"
                )
                continue
            seen[slug] = manifest
            kata = _load_kata(root, stage, slug, problems)
            if kata is not None:
                katas.append(kata)
        for toml_path in sorted((root / stage).glob("*/kata.toml")):
            if toml_path.parent.name not in slugs:
                problems.append(
                    f"{toml_path}: not listed in {manifest}; add '{toml_path.parent.name}' to 'katas'"
                )
    if check_markers:
        for kata in katas:
            for path in sorted(kata.path.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    try:
                        find_regions(path)
                    except MarkerError as exc:
                        problems.append(str(exc))
    if problems:
        raise CatalogError(problems)
    return katas


def coverage(katas: list[Kata]) -> dict[str, list[str]]:
    """Syllabus id -> names of the katas covering it (empty list: not covered yet)."""
    covered: dict[str, list[str]] = {bullet: [] for bullet in syllabus()}
    for kata in katas:
        for bullet in kata.covers:
            covered[bullet].append(kata.name)
    return covered
