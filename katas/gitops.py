"""The few git questions the harness asks: what is uncommitted, and what did a file say before."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from katas.markers import MarkerError, find_regions


class GitError(RuntimeError):
    """A git command failed; the message is git's own first line."""


def _git_bytes(root: Path, *args: str) -> bytes:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True)
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
        raise GitError(f"git {' '.join(args)}: {said[0] if said else 'failed'}")
    return proc.stdout


def _git(root: Path, *args: str) -> str:
    return _git_bytes(root, *args).decode()


def is_repo(root: Path) -> bool:
    return shutil.which("git") is not None and (root / ".git").exists()


def dirty_files(root: Path, paths: list[Path]) -> list[str]:
    """Files under ``paths`` (repo-relative) with uncommitted changes; [] outside a git checkout."""
    if not paths or not is_repo(root):
        return []
    listed = _git(root, "status", "--porcelain", "--", *(str(p.relative_to(root)) for p in paths))
    return [line[3:] for line in listed.splitlines()]


def show(root: Path, ref: str, path: str) -> str:
    """``path`` as it is at ``ref``."""
    return _git(root, "show", f"{ref}:{path}")


def show_bytes(root: Path, ref: str, path: str) -> bytes:
    return _git_bytes(root, "show", f"{ref}:{path}")


def files_at(root: Path, ref: str) -> list[str]:
    """Every file path at ``ref``."""
    return _git(root, "ls-tree", "-r", "--name-only", ref).splitlines()


def resolve(root: Path, ref: str) -> str:
    """The commit ``ref`` names; GitError with git's reason if it names none."""
    return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()


def tree_entry(root: Path, commit: str, path: str) -> tuple[str, int] | None:
    """(mode, size) of ``path`` at ``commit``; None when it is not there. Mode 100644 or 100755
    is a regular file, 120000 a link, 160000 a submodule."""
    listed = _git(root, "ls-tree", "-l", commit, "--", path).strip()
    if not listed:
        return None
    mode, _kind, _sha, size = listed.partition("\t")[0].split()
    return mode, int(size) if size.isdigit() else 0


def resolve_trusted(root: Path, ref: str) -> str:
    """The commit of a trusted ref: a full SHA, a full name (refs/tags/v1), or a short name that
    only one ref has. A tag that shadows a branch or remote of the same name is refused, so a
    learner's pushed tag cannot stand in for the teacher's ref."""
    if re.fullmatch(r"[0-9a-f]{40}", ref) or ref.startswith("refs/") or ref == "HEAD":
        return resolve(root, ref)
    candidates = {}
    for prefix in ("refs/", "refs/tags/", "refs/heads/", "refs/remotes/"):
        listed = _git(root, "for-each-ref", "--format=%(objectname)", f"{prefix}{ref}").split()
        if listed:
            candidates[f"{prefix}{ref}"] = resolve(root, f"{prefix}{ref}")
    if len(set(candidates.values())) > 1:
        raise GitError(
            f"'{ref}' is ambiguous ({', '.join(sorted(candidates))}); name the ref in full or "
            "give the commit SHA"
        )
    return resolve(root, ref)


def reference_text(root: Path, path: Path) -> str | None:
    """The newest committed version of ``path`` that still holds its solution regions."""
    if not is_repo(root):
        return None
    rel = str(path.relative_to(root))
    for commit in _git(root, "log", "--format=%H", "--", rel).split():
        try:
            text = show(root, commit, rel)
            if find_regions(path, text):
                return text
        except (GitError, MarkerError, UnicodeDecodeError):  # deleted, or broken, in that commit
            continue
    return None
