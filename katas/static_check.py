"""A static look at a learner's files before grading runs them: what no kata solution needs.

Each rule has an id (``import:gc``, ``name:eval``, ``attr:__globals__``, ``call:getattr``); a kata
whose honest solution needs one lists it in ``kata.toml`` under ``[sandbox] allow``. A finding
does not prove cheating: it makes the grade "flagged for review", with the line to look at.
"""

from __future__ import annotations

import ast
from pathlib import Path

# Modules that reach the judge (pytest, pluggy, the harness) or the interpreter's internals.
DENIED_IMPORTS = frozenset(
    {"_pytest", "pytest", "pluggy", "katas", "gc", "ctypes", "_ctypes", "builtins", "importlib",
     "atexit", "signal", "sitecustomize", "usercustomize", "code", "codeop", "runpy", "pty",
     "faulthandler", "_thread", "posix", "marshal", "pickletools"}
)  # fmt: skip
DENIED_NAMES = frozenset(
    {"eval", "exec", "compile", "__import__", "globals", "vars", "breakpoint", "exit", "quit",
     "__builtins__", "__loader__", "__spec__"}
)  # fmt: skip
# Attributes that lead from an object to frames, globals, code or the module table.
DENIED_ATTRIBUTES = frozenset(
    {"__globals__", "__builtins__", "__code__", "__closure__", "__subclasses__", "__traceback__",
     "__loader__", "__spec__", "f_back", "f_globals", "f_locals", "f_builtins", "f_code",
     "tb_frame", "tb_next", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame",
     "cell_contents", "modules", "_getframe", "currentframe", "getouterframes", "getinnerframes",
     "_exit", "forkpty", "killpg", "setsid", "setpgid", "dup2", "settrace", "setprofile",
     "addaudithook"}
)  # fmt: skip
# Builtins that reach attributes by a computed name; a literal name is checked like an attribute.
REFLECTIVE = frozenset({"getattr", "setattr", "delattr", "hasattr"})


def _finding(path: Path, node: ast.AST, rule: str, what: str) -> tuple[str, str]:
    return rule, f"{path}:{getattr(node, 'lineno', 0)}: {what} ({rule})"


def check_source(path: Path, text: str, allow: frozenset[str] = frozenset()) -> list[str]:
    """One line per finding in ``text`` (the file at ``path``) that ``allow`` does not permit."""
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:  # pytest reports it as a failure; nothing to run, nothing to flag
        del exc
        return []
    found: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for module in modules:
                top = module.partition(".")[0]
                if top in DENIED_IMPORTS:
                    found.append(_finding(path, node, f"import:{top}", f"imports {module}"))
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name in DENIED_ATTRIBUTES:
                        rule = f"attr:{alias.name}"
                        found.append(_finding(path, node, rule, f"imports {alias.name}"))
        elif isinstance(node, ast.Name) and node.id in DENIED_NAMES:
            found.append(_finding(path, node, f"name:{node.id}", f"uses {node.id}"))
        elif isinstance(node, ast.Attribute) and node.attr in DENIED_ATTRIBUTES:
            found.append(_finding(path, node, f"attr:{node.attr}", f"uses .{node.attr}"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in REFLECTIVE
            and len(node.args) >= 2
        ):
            name = node.args[1]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                rule = f"call:{node.func.id}"
                found.append(_finding(path, node, rule, f"{node.func.id} with a computed name"))
            elif name.value in DENIED_ATTRIBUTES:
                rule = f"attr:{name.value}"
                found.append(_finding(path, node, rule, f"{node.func.id}(..., {name.value!r})"))
    return [line for rule, line in found if rule not in allow]
