"""The ``katas`` command: list, show, hint, run, start, check and bench the exercises."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from katas import bench as bench_mod
from katas import catalog
from katas.catalog import CatalogError, Kata
from katas.markers import MarkerError, stub_file

app = typer.Typer(
    help="Backend katas: read an exercise, stub it, solve it, prove it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (CI logs, grep) is not cut at 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load() -> tuple[Path, list[Kata]]:
    try:
        root = catalog.find_root()
        return root, catalog.load(root)
    except CatalogError as exc:
        for problem in exc.problems:
            err.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc


def stage_of(selector: str) -> str | None:
    """'stage1', 'stage1_core' and 'stage1_core/' all name the first stage."""
    selector = selector.rstrip("/")
    return next((s for s in catalog.STAGES if selector in (s, s.split("_")[0])), None)


def select(katas: list[Kata], selectors: list[str]) -> list[Kata]:
    """Katas named by kata names or stages, in catalog order; unknown names fail with a suggestion."""
    if not selectors:
        return katas
    names = {k.name for k in katas}
    chosen: set[str] = set()
    for selector in selectors:
        if stage := stage_of(selector):
            chosen |= {k.name for k in katas if k.stage == stage}
        elif (name := Path(selector.rstrip("/")).name) in names:
            chosen.add(name)
        else:
            choices = sorted(names) + [s.split("_")[0] for s in catalog.STAGES]
            close = difflib.get_close_matches(selector, choices, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else "; see 'katas list'"
            fail(f"unknown kata or stage '{selector}'{hint}")
    return [k for k in katas if k.name in chosen]


def one(name: str) -> tuple[Path, Kata]:
    root, katas = load()
    if stage_of(name):
        fail(f"'{name}' is a stage; this command takes one kata (see 'katas list --stage {name}')")
    return root, select(katas, [name])[0]


@app.command("list")
def list_(
    stage: Annotated[str | None, typer.Option(help="only this stage, e.g. stage1")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the katas in learning order."""
    _, katas = load()
    if stage:
        katas = select(katas, [stage])
    if as_json:
        out.print_json(json.dumps([k.summary() for k in katas], ensure_ascii=False))
        return
    with_services = any(k.services for k in katas)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("#", "kata", "level", "pts"):
        table.add_column(column, no_wrap=True)
    table.add_column("covers")
    if with_services:
        table.add_column("services")
    table.add_column("title")
    for number, kata in enumerate(katas, 1):
        if number > 1 and kata.stage != katas[number - 2].stage:
            table.add_section()
        services = [" ".join(kata.services) or "-"] if with_services else []
        table.add_row(
            str(number), kata.name, kata.level, str(kata.points), " ".join(kata.covers),
            *services, kata.title,
        )  # fmt: skip
    out.print(table)


@app.command()
def show(name: str) -> None:
    """Show a kata's README and facts."""
    root, kata = one(name)
    out.print(Markdown(kata.readme.read_text(encoding="utf-8")))
    facts = [
        f"folder: {kata.path.relative_to(root)}",
        f"covers: {', '.join(kata.covers)}",
        f"level: {kata.level}, points: {kata.points}",
        f"services: {', '.join(kata.services) or 'none'}",
        f"hints: {len(kata.hints)} (katas hint {kata.name} 1)",
    ]
    out.print("\n".join(facts), highlight=False)


@app.command()
def hint(name: str, number: Annotated[int, typer.Argument(help="which hint, from 1")] = 1) -> None:
    """Reveal one hint at a time."""
    _, kata = one(name)
    if not kata.hints:
        fail(f"{kata.name} has no hints; read {kata.readme}")
    if not 1 <= number <= len(kata.hints):
        fail(f"{kata.name} has hints 1 to {len(kata.hints)}; ask for one of those")
    out.print(f"hint {number}/{len(kata.hints)}: {kata.hints[number - 1]}", highlight=False)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(ctx: typer.Context, name: str) -> None:
    """Run one kata's tests (extra arguments go to pytest); the exit code is pytest's."""
    root, kata = one(name)
    command = [sys.executable, "-m", "pytest", str(kata.path.relative_to(root)), *ctx.args]
    raise typer.Exit(subprocess.run(command, cwd=root).returncode)


def dirty_files(root: Path, paths: list[Path]) -> list[str]:
    """Files under ``paths`` with changes git has not committed (empty outside a git checkout)."""
    if not paths or shutil.which("git") is None or not (root / ".git").exists():
        return []
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--", *(str(p.relative_to(root)) for p in paths)],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    return [line[3:] for line in proc.stdout.splitlines()]


@app.command()
def start(
    selectors: Annotated[list[str] | None, typer.Argument(help="kata names or stages")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every kata")] = False,
    force: Annotated[
        bool, typer.Option(help="stub even uncommitted files (backed up first)")
    ] = False,
) -> None:
    """Turn katas into exercises: each solution region becomes a TODO."""
    root, katas = load()
    if not selectors and not all_:
        fail("name a kata or a stage (katas start decorators | stage1), or pass --all")
    chosen = select(katas, selectors or [])
    files = [f for k in chosen for f in k.solution_files]
    dirty = dirty_files(root, files)
    if dirty and not force:
        fail(
            f"uncommitted changes in {', '.join(dirty)}; commit them first "
            "(or pass --force to stub anyway, keeping a backup under .katas/backups/)"
        )
    if dirty:
        backup = root / ".katas" / "backups" / datetime.now().strftime("%Y%m%d-%H%M%S")
        for rel in dirty:
            target = backup / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, target)
        out.print(f"backed up {len(dirty)} file(s) to {backup.relative_to(root)}")
    try:
        changed = [f for f in files if stub_file(f)]
    except MarkerError as exc:
        fail(str(exc))
    for kata in chosen:
        out.print(f"stubbed {kata.name}: {kata.readme.relative_to(root)}")
    out.print(f"{len(changed)} file(s) changed; run 'katas run <name>' to see the tests fail")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def check(
    ctx: typer.Context,
    selectors: Annotated[list[str] | None, typer.Argument(help="kata names or stages")] = None,
) -> None:
    """Prove katas in a temporary copy: each solution passes and each test fails on its stub."""
    from katas.check import check_katas

    root, katas = load()
    chosen = select(katas, selectors or [])
    results = check_katas(root, chosen, *ctx.args)
    table = Table("kata", "solution", "stub", "verdict")
    for r in results:
        table.add_row(
            r.kata.name,
            f"{r.solution.count('passed')}/{len(r.solution.outcomes)} pass",
            f"{r.stub.count('failed') + r.stub.count('error')}/{len(r.stub.outcomes)} fail",
            "[green]ok[/]" if r.ok else "[red]DEFECT[/]",
        )
    out.print(table)
    for r in results:
        for problem in r.problems:
            err.print(f"[red]{r.kata.name}:[/] {problem}", highlight=False, soft_wrap=True)
    bad = [r for r in results if not r.ok]
    out.print(f"{len(results) - len(bad)} of {len(results)} katas proven both ways")
    if bad:
        raise typer.Exit(1)


@app.command()
def bench(
    selectors: Annotated[list[str] | None, typer.Argument(help="kata names or stages")] = None,
) -> None:
    """Measure the katas' benchmarks and write bench-results/<selection>.md."""
    root, katas = load()
    chosen = select(katas, selectors or [])
    title = "-".join(selectors) if selectors else "all"
    results = bench_mod.run(chosen)
    if not results:
        fail(f"no bench.py in the selected katas ({', '.join(k.name for k in chosen)})")
    path = bench_mod.write(root, title, results)
    out.print(Markdown(path.read_text(encoding="utf-8")))
    out.print(f"written to {path.relative_to(root)}")
