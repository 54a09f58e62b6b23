"""The kit is the kata code's whole view of the harness: no kata file imports anything else."""

from __future__ import annotations

import ast
from pathlib import Path

import katas.kit

from .conftest import REPO

ALLOWED = "katas.kit"


def imported(node: ast.AST) -> list[str]:
    """The modules ``node`` imports: an import statement, or import_module("...")."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module == "katas":  # from katas import kit, bench: each name is a module
            return [f"katas.{alias.name}" for alias in node.names]
        return [node.module]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
        in ("import_module", "__import__")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def harness_imports(path: Path, root: Path = REPO) -> list[str]:
    """``file:line module`` for each import of a ``katas`` module other than the kit."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        for module in imported(node):
            if (module == "katas" or module.startswith("katas.")) and module != ALLOWED:
                found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)} {module}")
    return found


def test_kata_code_imports_only_the_kit() -> None:
    files = sorted(f for f in REPO.glob("stage*/**/*.py") if ".venv" not in f.parts)
    assert files, "the stage folders hold Python files"
    offenders = [line for path in files for line in harness_imports(path)]
    assert offenders == [], f"kata code imports only {ALLOWED}: {offenders}"


def test_the_check_sees_every_form_of_import(tmp_path: Path) -> None:
    source = tmp_path / "bench.py"
    source.write_text(
        "import katas.kit\nfrom katas.kit import Ratio\nfrom katas import kit\n"
        "import katas.bench\nfrom katas.services import Endpoint\nfrom katas import bench\n"
        "import importlib\nimportlib.import_module('katas.grade')\nfrom . import solution\n"
    )
    assert harness_imports(source, tmp_path) == [
        "bench.py:4 katas.bench",
        "bench.py:5 katas.services",
        "bench.py:6 katas.bench",
        "bench.py:8 katas.grade",
    ]


def test_the_kit_exports_what_kata_code_uses() -> None:
    assert set(katas.kit.__all__) >= {
        "Ratio", "best_time", "postgres_database", "service", "plan_nodes", "Endpoint",
        "BASE_SETTINGS", "CONTRIB_APPS", "database_from_url",
    }  # fmt: skip
    for name in katas.kit.__all__:
        assert hasattr(katas.kit, name), f"katas.kit.__all__ lists {name}, which it lacks"
    assert "katas.kit" in (katas.kit.__doc__ or "") and "imports only" in (katas.kit.__doc__ or "")


def test_plan_nodes_walks_the_plan_depth_first() -> None:
    plan = {"Node Type": "Sort", "Plans": [{"Node Type": "Index Scan"}, {"Node Type": "Hash"}]}
    assert [n["Node Type"] for n in katas.kit.plan_nodes(plan)] == ["Sort", "Index Scan", "Hash"]


def test_ratio_reads_above_one_when_the_candidate_wins() -> None:
    faster = katas.kit.Ratio("sum", "loop", "builtin", 2.0, 0.5, "s")
    more = katas.kit.Ratio("serve", "wsgi", "asgi", 100.0, 400.0, "req/s")
    assert faster.ratio == 4.0 and more.ratio == 4.0
