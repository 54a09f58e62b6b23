"""A student edition: the repository at one commit, every kata an exercise, no answers anywhere.

``katas release OUT`` writes a new git repository holding a single commit: every file tracked at
the chosen ref (read from git, so uncommitted and untracked files never leak), with each file's
solution regions replaced by their stubs, exactly as ``katas start --all`` would. Since the
learner's history starts at that commit, no reference solution can be recovered from it. Push it
as a GitHub Classroom template repository.

What differs from the source:

- Every file with solution regions is written as its stub. Fences that sit inside a Python string
  (the examples in the harness's docstrings and tests) are not regions and are left alone.
- Test files named ``test_heldback_*.py`` are held back: a teacher keeps hidden tests in the
  source, and they come back at grading time (``katas grade --tests-from <source ref>`` restores
  every test file the ref has).
- Symlinks and submodules at the ref are not followed; they are skipped and reported.
- ``katas-release.toml`` at the root records the source commit; it is what makes a checkout a
  release (``is_release``): there, every kata counts as started, ``katas start`` has nothing to do,
  ``katas solution`` refuses and ``katas reset`` restores the stubs of the release's first commit.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tokenize
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from katas import gitops
from katas.catalog import STAGES
from katas.markers import TODO_TAG, MarkerError, Region, comment_prefix, find_regions, stub_text

MARKER = "katas-release.toml"
HELD_BACK = "test_heldback_*.py"
KIND = "student edition"
# The release commit's identity: neutral, and set on the command so no git identity is needed.
AUTHOR = ("backend-katas release", "release@backend-katas.invalid")
# Environment that would point git at another repository or override the identity above.
_GIT_ENV = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_PREFIX",
    "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE",
)  # fmt: skip
_BLOB_MODES = {"100644": 0o644, "100755": 0o755}


class ReleaseError(RuntimeError):
    """A release cannot be made (or used) as asked; the message is one line saying why."""


@dataclass(frozen=True)
class ReleaseResult:
    out: Path
    source: str  # the full commit id the release was made from
    commit: str  # the release's one commit
    files: tuple[str, ...]  # every file written, the marker file included
    stubbed: tuple[str, ...]  # files whose solution regions became stubs
    held_back: tuple[str, ...]  # test_heldback_*.py files left out
    skipped: tuple[str, ...]  # symlinks and submodules, not followed


def is_release(root: Path) -> bool:
    """Whether ``root`` is a student edition (its marker file is at the root)."""
    return (root / MARKER).is_file()


def release_katas(root: Path) -> list[str]:
    """In a release, the kata names of every stage manifest (all exercises); [] elsewhere."""
    if not is_release(root):
        return []
    names: list[str] = []
    for stage in STAGES:
        manifest = root / stage / "stage.toml"
        try:
            listed = tomllib.loads(manifest.read_text(encoding="utf-8")).get("katas", [])
        except (OSError, ValueError):  # missing or broken: the catalog reports it
            continue
        names += [name for name in listed if isinstance(name, str)]
    return names


def _example_only(path: str, text: str, regions: list[Region]) -> bool:
    """Whether every fence of a Python file sits inside a string (documentation, not a region).

    A file mixing real regions with fences in strings cannot be stubbed safely: ReleaseError.
    """
    if PurePosixPath(path).suffix != ".py":
        return False
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    comments = {tok.start[0] for tok in tokens if tok.type == tokenize.COMMENT}
    fences = [line for region in regions for line in (region.begin, region.end)]
    in_strings = [line for line in fences if line not in comments]
    if in_strings and len(in_strings) < len(fences):
        raise ReleaseError(
            f"{path}:{in_strings[0]}: a 'kata:' fence inside a string in a file with solution "
            "regions; move the example out of the file before releasing"
        )
    return bool(in_strings)


_AUTHORS_ONLY = re.compile(r"^\[\[?mutate(\.[\w.]+)?\]\]?\s*$")
_TABLE = re.compile(r"^\[")


def _without_mutate_tables(data: bytes) -> bytes:
    """A kata.toml without its ``[mutate]`` tables: an equivalent mutant names a solution line,
    and mutation testing is for the source, not the student edition."""
    kept, skipping = [], False
    for line in data.decode("utf-8").splitlines(keepends=True):
        if _TABLE.match(line):
            skipping = bool(_AUTHORS_ONLY.match(line.strip()))
        if not skipping:
            kept.append(line)
    return "".join(kept).rstrip("\n").encode("utf-8") + b"\n"


def _stubbed(path: str, data: bytes) -> bytes | None:
    """The stub of a file with solution regions, or None when it has none."""
    if comment_prefix(Path(path)) is None or b"kata:" not in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if find_regions(Path(path), data.decode("utf-8", errors="replace")):
            raise ReleaseError(f"{path}: has solution regions but is not UTF-8") from None
        return None
    try:
        regions = find_regions(Path(path), text)
        if not regions or _example_only(path, text, regions):
            return None
        return stub_text(Path(path), text).encode("utf-8")
    except (MarkerError, SyntaxError, tokenize.TokenError) as exc:
        raise ReleaseError(str(exc).splitlines()[0]) from exc


def _git(root: Path, *args: str) -> bytes:
    """Git's output in the source repository; ReleaseError with git's first line on failure."""
    try:
        return gitops._git_bytes(root, *args)
    except gitops.GitError as exc:
        raise ReleaseError(str(exc)) from exc


def _tree(root: Path, commit: str) -> list[tuple[str, str, str]]:
    """(mode, object id, path) of every entry at ``commit``, paths relative to ``root``."""
    listed = _git(root, "ls-tree", "-r", "-z", commit).decode()
    entries = []
    for entry in filter(None, listed.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, _kind, oid = meta.split()
        entries.append((mode, oid, path))
    return entries


def _blobs(root: Path, oids: list[str]) -> dict[str, bytes]:
    """The contents of ``oids``, in one ``git cat-file --batch``."""
    if not oids:
        return {}
    proc = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=root,
        input="".join(f"{oid}\n" for oid in oids).encode(),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ReleaseError(f"git cat-file --batch: {proc.stderr.decode(errors='replace').strip()}")
    contents: dict[str, bytes] = {}
    stream = io.BytesIO(proc.stdout)
    for oid in oids:
        header = stream.readline().decode().split()
        if len(header) != 3 or header[1] != "blob":
            raise ReleaseError(f"git cat-file --batch: cannot read {oid} ({' '.join(header)})")
        contents[oid] = stream.read(int(header[2]))
        stream.read(1)  # the newline after each object
    return contents


def _git_out(out: Path, *args: str) -> str:
    env = {key: value for key, value in os.environ.items() if key not in _GIT_ENV}
    proc = subprocess.run(
        ["git", "-c", "core.autocrlf=false", "-c", "commit.gpgsign=false", *args],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise ReleaseError(f"git {args[0]} in {out}: {said[0] if said else 'failed'}")
    return proc.stdout


def release(root: Path, ref: str, out: Path) -> ReleaseResult:
    """Write the student edition of ``ref`` in ``root`` as a new one-commit repository at ``out``."""
    out = out.absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out}: already exists and is not an empty folder; choose a new one")
    if not gitops.is_repo(root):
        raise ReleaseError(f"{root}: not a git checkout; a release is made from committed files")
    try:
        source = gitops.resolve(root, ref)
    except gitops.GitError as exc:
        raise ReleaseError(f"{ref}: not a commit in {root} ({exc})") from exc

    files: dict[str, tuple[bytes, int]] = {}
    stubbed, held_back, skipped = [], [], []
    entries = _tree(root, source)
    contents = _blobs(root, [oid for mode, oid, _ in entries if mode in _BLOB_MODES])
    for mode, oid, path in entries:
        if mode not in _BLOB_MODES:  # 120000 a symlink, 160000 a submodule
            skipped.append(path)
        elif fnmatchcase(PurePosixPath(path).name, HELD_BACK):
            held_back.append(path)
        elif path != MARKER:  # a release of a release gets a fresh marker
            data = contents[oid]
            if (stub := _stubbed(path, data)) is not None:
                stubbed.append(path)
                data = stub
            elif PurePosixPath(path).name == "kata.toml" and b"mutate" in data:
                data = _without_mutate_tables(data)
            files[path] = (data, _BLOB_MODES[mode])
    marker = (
        "# A student edition of backend-katas: every kata is an exercise, with no reference\n"
        "# solutions in this repository or its history. Made by 'katas release'.\n"
        f'source = "{source}"\nkind = "{KIND}"\n'
    )
    files[MARKER] = (marker.encode(), 0o644)

    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, (data, permissions) in files.items():
            target = out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            target.chmod(permissions)
        _git_out(out, "init", "-q", "-b", "main")
        _git_out(out, "add", "--all", "--force")
        name, email = AUTHOR
        _git_out(
            out, "-c", f"user.name={name}", "-c", f"user.email={email}",
            "commit", "-q", "--no-verify", "-m", f"Student edition of {source[:12]}",
        )  # fmt: skip
        commit = _git_out(out, "rev-parse", "HEAD").strip()
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for child in out.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        raise
    return ReleaseResult(
        out=out,
        source=source,
        commit=commit,
        files=tuple(sorted(files)),
        stubbed=tuple(stubbed),
        held_back=tuple(held_back),
        skipped=tuple(skipped),
    )


def _release_commit(root: Path) -> str:
    """The commit that first added the marker file: the release as it was handed out."""
    added = _git(root, "log", "--diff-filter=A", "--format=%H", "--", MARKER).decode().split()
    if not added:
        raise ReleaseError(f"{MARKER} is not committed; cannot tell what the release handed out")
    return added[-1]


def release_stubs(root: Path, folder: Path) -> list[tuple[Path, str]]:
    """(file, stub text) for each exercise file under ``folder`` in the release's first commit."""
    if not gitops.is_repo(root):
        raise ReleaseError("resetting needs the release's git history; clone it, not an archive")
    first = _release_commit(root)
    rel = folder.relative_to(root).as_posix()
    listed = _git(root, "ls-tree", "-r", "-z", "--name-only", first, "--", rel)
    found = []
    for path in sorted(filter(None, listed.decode().split("\0"))):
        prefix = comment_prefix(Path(path))
        if prefix is None or PurePosixPath(path).name.startswith("test_"):
            continue
        try:
            text = gitops.show(root, first, path)
        except (gitops.GitError, UnicodeDecodeError):
            continue
        todo = re.compile(rf"^[ \t]*{re.escape(prefix)} {re.escape(TODO_TAG)}", re.M)
        if todo.search(text):
            found.append((root / path, text))
    if not found:
        raise ReleaseError(
            f"{rel} has no exercise files in the release's first commit {first[:12]}"
        )
    return found
