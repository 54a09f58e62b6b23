"""The kata's own checks of a Dockerfile, beyond what hadolint knows.

hadolint checks shell and Dockerfile style; it cannot know that gunicorn binds 127.0.0.1 unless
told otherwise, that ``uvicorn.workers`` is deprecated, or that a requirements file is a lock.
Each check here finds one flaw of the article's Dockerfile (``Dockerfile.article``); the tests
run every check on it, to prove the check is real, and on your ``Dockerfile``, which must pass.

Checks read the Dockerfile with dockerfile-parse and the files next to it (the lock, the
ignore file). The gunicorn checks ask gunicorn itself: ``gunicorn --print-config`` with the CMD's
own arguments, run in the Dockerfile's folder, prints every setting as gunicorn resolves it.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from dockerfile_parse import DockerfileParser

STOP_GRACE_S = 10  # docker stop's default: SIGKILL this long after SIGTERM
MIN_PYTHON = (3, 12)  # 3.9 ended in October 2025 and 3.10 in October 2026
WORKER_CLASS = "uvicorn_worker.UvicornWorker"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^]]*\])?==[^\s;=*]+(\s*;.*)?$")


class Instruction(NamedTuple):
    name: str  # FROM, RUN, COPY, ...
    value: str  # the rest of the line, continuation lines joined


@dataclass(frozen=True)
class Dockerfile:
    path: Path
    instructions: tuple[Instruction, ...]

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        parser = DockerfileParser(fileobj=io.StringIO(path.read_text()))
        found = (Instruction(i["instruction"], i["value"]) for i in parser.structure)
        return cls(path, tuple(i for i in found if i.name != "COMMENT"))

    @property
    def global_args(self) -> dict[str, str]:
        """The ARGs before the first FROM, with their defaults: what a FROM line may use."""
        args: dict[str, str] = {}
        for instruction in self.instructions:
            if instruction.name == "FROM":
                break
            if instruction.name == "ARG":
                name, _, default = instruction.value.partition("=")
                args[name.strip()] = default.strip()
        return args

    @property
    def stages(self) -> list[list[Instruction]]:
        """The instructions of each stage, its FROM first."""
        found: list[list[Instruction]] = []
        for instruction in self.instructions:
            if instruction.name == "FROM":
                found.append([])
            if found:
                found[-1].append(instruction)
        return found

    @property
    def final(self) -> list[Instruction]:
        """The stage that becomes the image (empty when there is no FROM at all)."""
        return self.stages[-1] if self.stages else []

    def base_images(self) -> list[str]:
        """What each FROM starts from, build arguments at their defaults, stage names left out."""
        names: set[str] = set()
        images = []
        for stage in self.stages:
            words = stage[0].value.split()
            image = re.sub(
                r"\$\{?(\w+)\}?", lambda m: self.global_args.get(m.group(1), ""), words[0]
            )
            if image not in names:
                images.append(image)
            if len(words) == 3 and words[1].upper() == "AS":
                names.add(words[2])
        return images

    def cmd(self) -> list[str] | None:
        """The image's CMD as an argv list; None without one, or in shell form."""
        cmds = of(self.final, "CMD")
        if not cmds:
            return None
        try:
            argv = json.loads(cmds[-1])
        except json.JSONDecodeError:
            return None
        return [str(word) for word in argv] if isinstance(argv, list) else None

    def ignore_file(self) -> Path | None:
        """Its own ignore file (<name>.dockerignore), else the context's .dockerignore."""
        for candidate in (f"{self.path.name}.dockerignore", ".dockerignore"):
            if (self.path.parent / candidate).is_file():
                return self.path.parent / candidate
        return None


def of(stage: list[Instruction], name: str) -> list[str]:
    return [i.value for i in stage if i.name == name]


def rules(ignore_file: Path) -> list[str]:
    """The patterns of an ignore file, comments and blank lines left out."""
    lines = (line.strip() for line in ignore_file.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def install_runs(dockerfile: Dockerfile) -> list[tuple[int, int]]:
    """(stage, position) of each RUN that installs Python packages."""
    return [
        (s, n)
        for s, stage in enumerate(dockerfile.stages)
        for n, instruction in enumerate(stage)
        if instruction.name == "RUN" and re.search(r"\bpip3?\s+(install|sync)\b", instruction.value)
    ]


def read_lock(path: Path) -> list[tuple[str, list[str]]]:
    """Each requirement of a pip requirements file and its sha256 hashes (continuations joined)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    entries = []
    for line in text.splitlines():
        words = line.split("#")[0].split()
        if not words or words[0].startswith("-"):
            continue
        hashes = [w.removeprefix("--hash=sha256:") for w in words if w.startswith("--hash=")]
        valid = [h for h in hashes if re.fullmatch(r"[0-9a-f]{64}", h)]
        requirement = " ".join(w for w in words if not w.startswith("--"))
        entries.append((requirement, valid if len(valid) == len(hashes) else []))
    return entries


# --- gunicorn, asked about the CMD ------------------------------------------------------------


def gunicorn_settings(dockerfile: Dockerfile, **env: str) -> dict[str, str] | str:
    """Every setting gunicorn resolves from the CMD (``--print-config``) with only ``env`` set
    (not this shell's PORT or WEB_CONCURRENCY), or why there are none."""
    argv = dockerfile.cmd()
    if not argv or Path(argv[0]).name != "gunicorn":
        return "the CMD does not run gunicorn in exec form"
    return _print_config(str(dockerfile.path.parent), tuple(argv[1:]), tuple(sorted(env.items())))


@functools.lru_cache(maxsize=32)
def _print_config(
    folder: str, args: tuple[str, ...], env: tuple[tuple[str, str], ...]
) -> dict[str, str] | str:
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", *args],
        cwd=folder,
        env={"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent", **dict(env)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        return f"gunicorn refuses the CMD's arguments:\n{done.stdout}{done.stderr}"
    settings = {}
    for line in done.stdout.splitlines():
        name, equals, value = line.partition("=")
        if equals:
            settings[name.strip()] = value.strip()
    return settings


# --- the checks: each returns what is wrong, or None ----------------------------------------


def unlocked(dockerfile: Dockerfile) -> str | None:
    runs = install_runs(dockerfile)
    if not runs:
        return "no RUN installs the dependencies"
    s, n = runs[0]
    run = dockerfile.stages[s][n].value
    if "--require-hashes" not in run:
        return f"RUN {run}: without --require-hashes pip installs whatever it resolves"
    named = re.search(r"(?:-r|--requirement)[=\s]+(\S+)", run)
    if not named:
        return f"RUN {run}: install from the lock file (-r)"
    lock = dockerfile.path.parent / Path(named.group(1)).name
    if not lock.is_file():
        return f"the lock {lock.name} is not next to the Dockerfile"
    entries = read_lock(lock)
    if not entries:
        return f"{lock.name} pins nothing"
    loose = [requirement for requirement, hashes in entries if not PINNED.match(requirement)]
    unhashed = [requirement for requirement, hashes in entries if not hashes]
    if loose or unhashed:
        return f"{lock.name}: not pinned with ==: {loose}; without a hash: {unhashed}"
    return None


def binds_loopback(dockerfile: Dockerfile) -> str | None:
    settings = gunicorn_settings(dockerfile)
    if isinstance(settings, str):
        return settings
    bind = settings.get("bind", "")
    if not re.fullmatch(r"\['(0\.0\.0\.0|\[::\]):8000'\]", bind):
        return f"bind = {bind}: in a container, 127.0.0.1 is unreachable from outside it"
    return None


def slow_graceful_stop(dockerfile: Dockerfile) -> str | None:
    settings = gunicorn_settings(dockerfile)
    if isinstance(settings, str):
        return settings
    graceful = float(settings.get("graceful_timeout", "30"))
    if not 3 <= graceful <= STOP_GRACE_S - 2:
        return (
            f"graceful_timeout = {settings.get('graceful_timeout')}: docker stop kills after "
            f"{STOP_GRACE_S} s: drain for 3 s at least, and be done 2 s before the kill"
        )
    return None


def writes_to_the_root_filesystem(dockerfile: Dockerfile) -> str | None:
    settings = gunicorn_settings(dockerfile)
    if isinstance(settings, str):
        return settings
    problems = []
    if settings.get("worker_tmp_dir") != "/dev/shm":
        problems.append(f"worker_tmp_dir = {settings.get('worker_tmp_dir')} (heartbeats)")
    if settings.get("control_socket_disable") != "True":
        problems.append(f"control_socket = {settings.get('control_socket')} (under $HOME)")
    if settings.get("accesslog") != "-":
        problems.append(f"accesslog = {settings.get('accesslog')} (not on stdout)")
    return "; ".join(problems) or None


def no_ignore_file(dockerfile: Dockerfile) -> str | None:
    ignore = dockerfile.ignore_file()
    if ignore is None:
        return "no .dockerignore: the whole folder (.git, .venv, .env) is the build context"
    return None if rules(ignore) else f"{ignore.name} has no rules"


def end_of_life_python(dockerfile: Dockerfile) -> str | None:
    images = dockerfile.base_images()
    versions = [re.match(r"(?:.*/)?python:(\d+)\.(\d+)", image) for image in images]
    if not images or not all(versions):
        return f"base images {images}: name a python:3.X image"
    old = [
        i
        for i, v in zip(images, versions, strict=True)
        if v and tuple(map(int, v.groups())) < MIN_PYTHON
    ]
    return (
        f"{old}: Python below {MIN_PYTHON[0]}.{MIN_PYTHON[1]} is at or near its end of life"
        if old
        else None
    )


def unpinned_base(dockerfile: Dockerfile) -> str | None:
    if "BASE_IMAGE" not in dockerfile.global_args:
        return "no ARG BASE_IMAGE before the first FROM: the base cannot be swapped for a mirror"
    froms = [stage[0].value for stage in dockerfile.stages]
    if not froms or any(not re.match(r"\$\{?BASE_IMAGE\}?(\s|$)", value) for value in froms):
        return f"FROM {froms}: every stage starts from ${{BASE_IMAGE}}"
    default = dockerfile.global_args["BASE_IMAGE"]
    return None if DIGEST.search(default) else f"BASE_IMAGE={default}: a tag moves; pin @sha256:"


def single_stage(dockerfile: Dockerfile) -> str | None:
    runs = install_runs(dockerfile)
    if len(dockerfile.stages) < 2 or not runs:
        return "one stage: what builds the dependencies ships with them"
    if any(s == len(dockerfile.stages) - 1 for s, _ in runs):
        return "the last stage installs packages: install them in the build stage"
    if not any(c.startswith("--from=") for c in of(dockerfile.final, "COPY")):
        return "the last stage takes nothing from the build stage (COPY --from=...)"
    return None


def code_before_dependencies(dockerfile: Dockerfile) -> str | None:
    runs = install_runs(dockerfile)
    if not runs:
        return "no RUN installs the dependencies"
    s, n = runs[0]
    early = [c for c in of(dockerfile.stages[s][:n], "COPY") + of(dockerfile.stages[s][:n], "ADD")]
    late = [c for c in early if not re.fullmatch(r"(--\S+\s+)*requirements[\w.-]*\s+\S+", c)]
    if late:
        return f"COPY {late} before the install: every change to it reinstalls every package"
    return None


def no_app_code(dockerfile: Dockerfile) -> str | None:
    copies = [c for c in of(dockerfile.final, "COPY") if not c.startswith("--from=")]
    sources = [word for c in copies for word in c.split()[:-1] if not word.startswith("--")]
    if not {"app.py", "."} & set(sources):
        return "no COPY brings app.py into the image: gunicorn cannot import app:app"
    return None


def runs_as_root(dockerfile: Dockerfile) -> str | None:
    users = of(dockerfile.final, "USER")
    if not users:
        return "no USER in the last stage: the process runs as root"
    user = users[-1].partition(":")[0]
    return f"USER {users[-1]}: still root" if user in ("0", "root") else None


def no_healthcheck(dockerfile: Dockerfile) -> str | None:
    checks = of(dockerfile.final, "HEALTHCHECK")
    if not checks or checks[-1].strip().upper() == "NONE":
        return "no HEALTHCHECK: docker and compose see a hung server as running"
    if "/healthz" not in checks[-1]:
        return f"HEALTHCHECK {checks[-1]}: ask the app's /healthz"
    return None


def shell_form(dockerfile: Dockerfile) -> str | None:
    if dockerfile.cmd() is None:
        return "no exec-form CMD: in shell form /bin/sh is PID 1 and SIGTERM never reaches gunicorn"
    if of(dockerfile.final, "ENTRYPOINT"):
        return "an ENTRYPOINT in front of the CMD: it is PID 1, not gunicorn"
    return None


def option_and_value_in_one_word(dockerfile: Dockerfile) -> str | None:
    argv = dockerfile.cmd()
    if argv is None:
        return "no exec-form CMD"
    glued = [word for word in argv if word.startswith("-") and re.search(r"\s", word)]
    return f"{glued}: exec form passes each string as one argv word" if glued else None


def deprecated_worker(dockerfile: Dockerfile) -> str | None:
    settings = gunicorn_settings(dockerfile)
    if isinstance(settings, str):
        return settings
    worker = settings.get("worker_class")
    if worker != WORKER_CLASS:
        return f"worker_class = {worker}: uvicorn.workers is deprecated, use {WORKER_CLASS}"
    return None


@dataclass(frozen=True)
class Check:
    task: int  # the README task that fixes it
    flaw: str
    find: Callable[[Dockerfile], str | None]


CHECKS = {
    "unlocked": Check(1, "no lock: unpinned, transitive versions drift", unlocked),
    "binds-loopback": Check(2, "gunicorn listens on 127.0.0.1", binds_loopback),
    "slow-graceful-stop": Check(2, "PID 1 is killed mid-drain", slow_graceful_stop),
    "root-fs-writes": Check(2, "gunicorn writes to the root fs", writes_to_the_root_filesystem),
    "no-ignore-file": Check(3, "no .dockerignore", no_ignore_file),
    "end-of-life-python": Check(4, "Python 3.9 is past its end of life", end_of_life_python),
    "unpinned-base": Check(4, "a base tag that moves", unpinned_base),
    "single-stage": Check(4, "one stage", single_stage),
    "code-before-dependencies": Check(
        4, "code copied before the install", code_before_dependencies
    ),
    "no-app-code": Check(5, "the app is never copied", no_app_code),
    "runs-as-root": Check(5, "runs as root", runs_as_root),
    "no-healthcheck": Check(5, "no HEALTHCHECK", no_healthcheck),
    "shell-form": Check(5, "shell-form CMD: sh is PID 1", shell_form),
    "option-and-value-in-one-word": Check(
        5, "-k and its value in one argv element", option_and_value_in_one_word
    ),
    "deprecated-worker": Check(5, "the deprecated uvicorn.workers", deprecated_worker),
}


def problems(path: Path) -> dict[str, str]:
    """Every check's finding on the Dockerfile at ``path``; empty when it passes them all."""
    dockerfile = Dockerfile.read(path)
    found = {name: check.find(dockerfile) for name, check in CHECKS.items()}
    return {name: problem for name, problem in found.items() if problem}


if __name__ == "__main__":
    for target in sys.argv[1:] or ["Dockerfile.article", "Dockerfile"]:
        print(f"{target}:")
        for name, problem in problems(Path(target)).items():
            print(f"  {name}: {problem}")
