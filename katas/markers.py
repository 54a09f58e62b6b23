"""Solution regions and stubs.

A learner's part of a file is fenced by two comment lines, in the file's own comment syntax:

    # kata: begin <one-line task>
    ...reference solution...
    # kata: end

Stubbing replaces each region (fences included) with a TODO line carrying the task. In Python,
a region inside a function body also gets ``raise NotImplementedError(<task>)``, so the module
still imports and every call into the unfinished code fails loudly; a region at module or class
level (a Protocol, a TypedDict, a class attribute) gets ``...`` instead, since a ``raise`` there
would break the import. Config files (YAML, TOML, Dockerfile, HCL, ...) keep just the TODO line.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace
from pathlib import Path

TODO_TAG = "TODO(kata):"

# Comment prefix by suffix or by exact file name; None means the file has no solution regions.
_PREFIX_BY_SUFFIX = {
    ".py": "#",
    ".pyx": "#",
    ".pxd": "#",
    ".pyi": "#",
    ".toml": "#",
    ".yaml": "#",
    ".yml": "#",
    ".cfg": "#",
    ".ini": "#",
    ".conf": "#",
    ".vcl": "#",
    ".tf": "#",
    ".hcl": "#",
    ".sh": "#",
    ".env": "#",
    ".txt": "#",
    ".sql": "--",
    ".lua": "--",
    ".js": "//",
    ".ts": "//",
    ".sol": "//",
    ".proto": "//",
    ".go": "//",
}
_PREFIX_BY_NAME = {
    "Dockerfile": "#",
    "Containerfile": "#",
    ".dockerignore": "#",
    "Makefile": "#",
    "nginx.conf": "#",
}


class MarkerError(ValueError):
    """A malformed solution region; the message is one line starting with ``file:line``."""


@dataclass(frozen=True)
class Region:
    path: Path
    begin: int  # 1-based line of the begin fence
    end: int  # 1-based line of the end fence
    task: str
    indent: str
    in_function: bool = False


def comment_prefix(path: Path) -> str | None:
    if path.name in _PREFIX_BY_NAME or path.name.startswith("Dockerfile"):
        return "#"
    return _PREFIX_BY_SUFFIX.get(path.suffix)


def _fence_patterns(prefix: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    p = re.escape(prefix)
    begin = re.compile(rf"^(?P<indent>[ \t]*){p}\s*kata:\s*begin\b(?P<task>.*)$")
    end = re.compile(rf"^[ \t]*{p}\s*kata:\s*end\s*$")
    return begin, end


def find_regions(path: Path, text: str | None = None) -> list[Region]:
    """Return the solution regions of ``path``; raise MarkerError on any malformed fence."""
    prefix = comment_prefix(path)
    if prefix is None:
        return []
    if text is None:
        text = path.read_text(encoding="utf-8")
    begin_re, end_re = _fence_patterns(prefix)
    regions: list[Region] = []
    open_at: tuple[int, str, str] | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if m := begin_re.match(line):
            if open_at is not None:
                raise MarkerError(
                    f"{path}:{lineno}: nested 'kata: begin' (the region opened at line "
                    f"{open_at[0]} is not closed); add '{prefix} kata: end' before this line"
                )
            task = m.group("task").strip()
            if not task:
                raise MarkerError(
                    f"{path}:{lineno}: 'kata: begin' without a task; write "
                    f"'{prefix} kata: begin <what the learner must do>'"
                )
            open_at = (lineno, task, m.group("indent"))
        elif end_re.match(line):
            if open_at is None:
                raise MarkerError(
                    f"{path}:{lineno}: 'kata: end' without a matching 'kata: begin'; "
                    "remove it or open the region above"
                )
            regions.append(Region(path, open_at[0], lineno, open_at[1], open_at[2]))
            open_at = None
    if open_at is not None:
        raise MarkerError(
            f"{path}:{open_at[0]}: 'kata: begin' is never closed; add '{prefix} kata: end' "
            "after the solution"
        )
    if path.suffix == ".py" and regions:
        regions = _locate_python_regions(path, text, regions)
    return regions


def _locate_python_regions(path: Path, text: str, regions: list[Region]) -> list[Region]:
    """Mark which regions sit in a function body, where the stub may raise."""
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise MarkerError(f"{path}:{exc.lineno}: not valid Python: {exc.msg}") from exc
    functions = [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    statement_lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    located = []
    for region in regions:
        inner = [line for line in statement_lines if region.begin < line < region.end]
        in_function = any(
            fn.lineno < region.begin
            and len(region.indent) > fn.col_offset
            and all(line <= (fn.end_lineno or fn.lineno) for line in inner)
            for fn in functions
        )
        located.append(replace(region, in_function=in_function))
    return located


def stub_text(path: Path, text: str) -> str:
    """Return ``text`` with every solution region replaced by its stub."""
    regions = find_regions(path, text)
    if not regions:
        return text
    prefix = comment_prefix(path)
    lines = text.splitlines(keepends=True)
    for region in reversed(regions):
        replacement = [f"{region.indent}{prefix} {TODO_TAG} {region.task}\n"]
        if region.in_function or path.suffix == ".pyx":
            replacement.append(f"{region.indent}raise NotImplementedError({region.task!r})\n")
        elif path.suffix == ".py":
            replacement.append(f"{region.indent}...\n")
        lines[region.begin - 1 : region.end] = replacement
    return "".join(lines)


def stub_file(path: Path) -> bool:
    """Stub ``path`` in place; return whether it changed (a kind of file with no regions, such
    as bytecode a test run left behind, is not read)."""
    if comment_prefix(path) is None:
        return False
    text = path.read_text(encoding="utf-8")
    stubbed = stub_text(path, text)
    if stubbed == text:
        return False
    path.write_text(stubbed, encoding="utf-8")
    return True
