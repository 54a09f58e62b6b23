"""Guarding the learner's work: never overwrite an uncommitted file without a copy of it.

Commands that rewrite kata files (``start``, ``reset``, ``solution --apply``) ask ``guard`` first.
In a git checkout it refuses when the files have uncommitted changes, unless forced, and then
copies the changed files to ``.katas/backups/<time>-<label>/`` before they are overwritten.
Outside a git checkout nothing tells saved work from unsaved, so every file is copied.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from katas import gitops


class DirtyWorkspace(RuntimeError):
    """Files to overwrite have uncommitted changes; the message is one line with the way out."""

    def __init__(self, message: str, files: list[str]) -> None:
        super().__init__(message)
        self.files = files


@dataclass(frozen=True)
class Backup:
    folder: Path  # .katas/backups/<time>-<label>/ under the repository root
    files: tuple[str, ...]  # repository-relative paths that were to be copied there


def backup(root: Path, rel_paths: list[str], label: str) -> Path:
    """Copy the files at ``rel_paths`` (under ``root``) to a fresh backup folder; return it."""
    folder = root / ".katas" / "backups" / f"{datetime.now():%Y%m%d-%H%M%S}-{label}"
    for rel in rel_paths:
        if (root / rel).is_file():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, folder / rel)
    return folder


def guard(root: Path, files: list[Path], force: bool, label: str, action: str) -> Backup | None:
    """Make ``files`` safe to overwrite: the backup taken, or None where none was needed.

    Raises DirtyWorkspace when some have uncommitted changes and ``force`` is off; ``action``
    names what the command would do ("stub", "reset") in the message.
    """
    if not gitops.is_repo(root):
        present = [str(f.relative_to(root)) for f in files if f.is_file()]
        return Backup(backup(root, present, label), tuple(present))
    dirty = gitops.dirty_files(root, files)
    if dirty and not force:
        raise DirtyWorkspace(
            f"uncommitted changes in {', '.join(dirty)}; commit them first, or pass --force to "
            f"{action} anyway (your files are backed up to .katas/backups/ first)",
            dirty,
        )
    if dirty:
        return Backup(backup(root, dirty, label), tuple(dirty))
    return None
