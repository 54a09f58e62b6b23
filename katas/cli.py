"""The ``katas`` command: list, show, hint, run, start, check and bench the exercises."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markdown import Markdown
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from katas import bench as bench_mod
from katas import catalog, gitops, workspace
from katas.catalog import CatalogError, Kata
from katas.grade import Grading, md, plain
from katas.markers import MarkerError, stub_file, stub_text
from katas.progress import State, bar
from katas.release import ReleaseError, is_release, release_stubs
from katas.selection import SelectionError, select, select_one
from katas.watch import watch_loop


class KatasGroup(typer.core.TyperGroup):
    """The one place where a bad selection or a dirty workspace becomes 'error: ...', exit 2."""

    def invoke(self, ctx: Any) -> Any:  # a click Context (newer typers bundle their own click)
        try:
            return super().invoke(ctx)
        except (SelectionError, workspace.DirtyWorkspace) as exc:
            fail(str(exc))


_TYPE_LABEL = re.compile(r" <[^<>]+>$")


class PlainCommand(typer.core.TyperCommand):
    """Help without typer's ``<list[str]>``-style label after an argument: its metavar says it."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {"Arguments": [], "Options": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                section = "Arguments" if param.param_type_name == "argument" else "Options"
                sections[section].append((_TYPE_LABEL.sub("", record[0]), record[1]))
        for title, records in sections.items():
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


app = typer.Typer(
    cls=KatasGroup,
    help="Backend katas: read an exercise, stub it, solve it, prove it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no <bool>/<str> type labels on every option
)


def piped_width() -> int | None:
    """Output piped to a pager or a file is as wide as the terminal still on stderr (or COLUMNS),
    else 100 columns: not cut at rich's 80, not 160 wide in ``katas list | less``."""
    if sys.stdout.isatty():
        return None
    if columns := os.environ.get("COLUMNS", "").strip():
        return int(columns) if columns.isdigit() else 100
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        return 100


out = Console(width=piped_width())
err = Console(stderr=True)


def show_version(value: bool) -> None:
    if value:
        out.print(f"katas (backend-katas) {importlib.metadata.version('backend-katas')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=show_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """Backend katas: read an exercise, stub it, solve it, prove it."""


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


def one(name: str | None) -> tuple[Path, Kata]:
    """The kata ``name`` names, or without a name the current one (as ``next`` and ``watch``)."""
    root, katas = load()
    if name is not None:
        return root, select_one(katas, name)
    current = load_state(root).next_pending(katas)
    if current is None:
        fail("every kata is done; name one (see 'katas list')")
    return root, current


CURRENT = "a kata (default: the current one, as 'katas next' shows)"
Selectors = Annotated[
    list[str] | None, typer.Argument(help="kata names or stages", metavar="KATA|STAGE...")
]


@app.command("list", cls=PlainCommand)
def list_(
    stage: Annotated[
        str | None, typer.Option(help="only this stage, e.g. stage1", metavar="STAGE")
    ] = None,
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
    if not stage:
        covered = catalog.coverage(katas)
        done = sum(1 for names in covered.values() if names)
        out.print(f"{len(katas)} katas; {done} of {len(covered)} syllabus ids covered")


@app.command(cls=PlainCommand)
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


@app.command(cls=PlainCommand)
def hint(
    name: Annotated[str | None, typer.Argument(help=CURRENT, metavar="KATA")] = None,
    number: Annotated[
        int | None, typer.Argument(help="which hint, from 1 (default: the next)", metavar="N")
    ] = None,
) -> None:
    """Reveal hints one at a time."""
    if name is not None and name.isdigit() and number is None:  # `katas hint 2`: the current kata
        number = int(name)
        name = None
    root, kata = one(name)
    if not kata.hints:
        fail(f"{kata.name} has no hints; read {kata.readme}")
    state = load_state(root)
    shown = state.hints_shown.get(kata.name, 0)
    if number is None:
        number = min(shown + 1, len(kata.hints))
    if not 1 <= number <= len(kata.hints):
        fail(f"{kata.name} has hints 1 to {len(kata.hints)}; ask for one of those")
    chosen = kata.hints[number - 1]
    about = f" (task {chosen.task})" if chosen.task else ""
    out.print(f"hint {number}/{len(kata.hints)}{about}: {chosen.text}", highlight=False)
    state.hints_shown[kata.name] = max(shown, number)
    state.save(root)


@app.command(
    cls=PlainCommand,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help=CURRENT, metavar="KATA")] = None,
) -> None:
    """Run one kata's tests (extra arguments go to pytest); the exit code is pytest's."""
    from katas.runner import run_pytest

    root, kata = one(name)
    run = run_pytest(root, [str(kata.path.relative_to(root))], *ctx.args, echo=True)
    state = load_state(root)
    if run.all_passed and kata.name in state.started:
        state.mark_passed(kata.name)
        state.save(root)
    elif run.returncode == 0 and (reasons := run.skip_reasons):
        err.print(
            f"{kata.name}: {len(reasons)} test(s) skipped, so it is not done yet: {reasons[0]}",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    raise typer.Exit(run.returncode)


def load_state(root: Path) -> State:
    try:
        return State.load(root)
    except ValueError as exc:
        fail(str(exc))


def guard(root: Path, files: list[Path], force: bool, label: str, action: str) -> None:
    """``workspace.guard``, saying where the backup went (DirtyWorkspace: see ``KatasGroup``)."""
    if saved := workspace.guard(root, files, force, label, action):
        out.print(
            f"backed up {len(saved.files)} file(s) to {saved.folder.relative_to(root)}",
            highlight=False,
        )


def exercise_files(root: Path, kata: Kata) -> list[tuple[Path, str]]:
    """(file, reference text) for each file of the kata with solution regions upstream."""
    found = []
    for path in sorted(kata.path.rglob("*")):
        if path.is_file() and not path.name.startswith("test_") and "__pycache__" not in path.parts:
            reference = gitops.reference_text(root, path)
            if reference is not None:
                found.append((path, reference))
    if not found:
        fail(
            f"no committed reference solution found for {kata.name} in this repository's history; "
            "clone the upstream repository with its history (not a shallow or squashed copy)"
        )
    return found


@app.command(cls=PlainCommand)
def start(
    selectors: Selectors = None,
    all_: Annotated[bool, typer.Option("--all", help="every kata")] = False,
    force: Annotated[
        bool, typer.Option(help="stub even uncommitted files (backed up first)")
    ] = False,
) -> None:
    """Turn katas into exercises: each solution region becomes a TODO."""
    root, katas = load()
    if is_release(root):
        select(katas, selectors or [])  # an unknown name is still an error
        out.print("this is a student edition: every kata is already an exercise; nothing changed")
        return
    if not selectors and not all_:
        fail("name a kata or a stage (katas start decorators | stage1), or pass --all")
    chosen = select(katas, selectors or [])
    files = [f for k in chosen for f in k.solution_files]
    guard(root, files, force, "start", "stub")
    try:
        changed = [f for f in files if stub_file(f)]
    except MarkerError as exc:
        fail(str(exc))
    state = load_state(root)
    for kata in chosen:
        if any(f.is_relative_to(kata.path) for f in changed):
            state.mark_started(kata.name)
            out.print(f"stubbed {kata.name}: read {kata.readme.relative_to(root)}", highlight=False)
        elif kata.name in state.started:
            out.print(f"{kata.name} is already an exercise", highlight=False)
    state.save(root)
    out.print(f"{len(changed)} file(s) changed; 'katas watch' runs the tests as you save")


@app.command(cls=PlainCommand)
def reset(
    name: str,
    force: Annotated[bool, typer.Option(help="discard uncommitted work (backed up first)")] = False,
) -> None:
    """Put a kata's stub back, from the reference solution in git history (in a student
    edition, from its first commit)."""
    root, kata = one(name)
    if is_release(root):
        try:
            pairs = release_stubs(root, kata.path)
        except ReleaseError as exc:
            fail(str(exc))
    else:
        pairs = [(path, stub_text(path, text)) for path, text in exercise_files(root, kata)]
    guard(root, [p for p, _ in pairs], force, f"reset-{kata.name}", "reset")
    for path, stub in pairs:
        path.write_text(stub, encoding="utf-8")
    state = load_state(root)
    state.mark_started(kata.name)
    state.save(root)
    out.print(f"reset {kata.name}: {len(pairs)} file(s) back to the stub", highlight=False)


@app.command(cls=PlainCommand)
def solution(
    name: Annotated[str | None, typer.Argument(help=CURRENT, metavar="KATA")] = None,
    apply: Annotated[bool, typer.Option(help="write the solution into the kata's files")] = False,
    force: Annotated[
        bool, typer.Option(help="overwrite uncommitted work (backed up first)")
    ] = False,
) -> None:
    """Show (or with --apply restore) a kata's reference solution from git history."""
    root, kata = one(name)
    if is_release(root):
        fail(
            "this is a student edition: it has no reference solutions "
            f"('katas reset {kata.name}' puts the stub back)"
        )
    pairs = exercise_files(root, kata)
    if not apply:
        for path, reference in pairs:
            out.rule(str(path.relative_to(root)))
            out.print(Syntax(reference, Syntax.guess_lexer(str(path), reference)))
        return
    guard(root, [p for p, _ in pairs], force, f"solution-{kata.name}", "restore the solution")
    for path, reference in pairs:
        path.write_text(reference, encoding="utf-8")
    state = load_state(root)
    state.mark_solution_applied(kata.name)
    state.save(root)
    out.print(
        f"restored the reference solution of {kata.name}; it no longer counts as done "
        f"('katas reset {kata.name}' makes it an exercise again)",
        highlight=False,
    )


@app.command("release", cls=PlainCommand)
def release_(
    out_dir: Annotated[
        Path, typer.Argument(help="a new folder for the student edition", metavar="DIR")
    ],
    ref: Annotated[str, typer.Option(help="the commit to release", metavar="REF")] = "HEAD",
) -> None:
    """Write a student edition: a new one-commit repository, every kata stubbed, no answers."""
    from katas.release import release as make_release

    try:
        root = catalog.find_root()
        made = make_release(root, ref, out_dir)
    except (CatalogError, ReleaseError) as exc:
        fail(str(exc))

    def say(line: str) -> None:
        out.print(line, highlight=False, soft_wrap=True)

    say(f"wrote {made.out}: the student edition of {ref} ({made.source[:12]}), one commit")
    say(f"{len(made.files)} files, {len(made.stubbed)} of them stubbed:")
    for path in made.stubbed:
        say(f"  stubbed: {path}")
    for path in made.held_back:
        say(f"  held back: {path}")
    for path in made.skipped:
        say(f"  skipped (a symlink or submodule, not followed): {path}")
    if dirty := gitops.dirty_files(root, [root]):
        say(f"{len(dirty)} uncommitted file(s) here are not in it: it holds {ref} as committed")
    say(
        "next: push it as a GitHub Classroom template repository: create an empty repository, "
        f"'cd {out_dir} && git remote add origin <its URL> && git push -u origin main', tick "
        "Settings > Template repository, and choose it as the assignment's starter code. "
        "Grade from this repository, whose tests (held-back ones included) are the reference."
    )


@app.command(cls=PlainCommand)
def progress() -> None:
    """Per stage: katas passed out of the total, and the next one to do."""
    root, katas = load()
    state = load_state(root)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("stage", "progress", "done"):
        table.add_column(column, no_wrap=True)
    for stage in catalog.STAGES:
        in_stage = [k for k in katas if k.stage == stage]
        if in_stage:
            done = sum(state.is_done(k.name) for k in in_stage)
            table.add_row(stage, bar(done, len(in_stage)), f"{done}/{len(in_stage)}")
    out.print(table)
    if revealed := [k.name for k in katas if k.name in state.solution_applied]:
        out.print(
            f"revealed: {len(revealed)} with the reference solution applied, not counted as done "
            f"({', '.join(revealed)}); 'katas reset NAME' turns one back into an exercise",
            highlight=False,
        )
    upcoming = state.next_pending(katas)
    if upcoming is None:
        out.print("every kata passes: well done")
    else:
        out.print(f"next: {upcoming.name} (katas next)", highlight=False)


@app.command("next", cls=PlainCommand)
def next_() -> None:
    """Show the next kata to do: its README and first task."""
    root, katas = load()
    state = load_state(root)
    upcoming = state.next_pending(katas)
    if upcoming is None:
        out.print("every kata passes: nothing left to do")
        return
    out.print(f"next: {upcoming.name} — {upcoming.title}", highlight=False)
    out.print(f"read: {upcoming.readme.relative_to(root)}", highlight=False)
    if tasks := upcoming.tasks:
        out.print(f"task 1: {tasks[0]}", highlight=False)
    if upcoming.name not in state.started:
        out.print(f"then: katas start {upcoming.name} && katas watch", highlight=False)


WATCHED = (".pyx", ".toml", ".yaml", ".yml", ".tf", ".sql", ".proto", ".sol", ".conf")


@app.command(cls=PlainCommand)
def watch(
    name: Annotated[
        str | None, typer.Argument(help="a kata (default: the next)", metavar="KATA")
    ] = None,
) -> None:
    """Re-run the current kata's tests on every save; move to the next kata when it passes."""
    import watchfiles

    from katas.services import kept_warm

    root, katas = load()
    state = load_state(root)
    current = select(katas, [name])[0] if name else state.next_pending(katas)
    if current is None:
        out.print("every kata passes: nothing to watch")
        return
    if current.name not in state.started:
        fail(
            f"{current.name} is not started (its reference solution is in place); "
            f"run 'katas start {current.name}' first"
        )
    folders = sorted({k.path.parent for k in katas})
    python_and_config = watchfiles.PythonFilter(extra_extensions=WATCHED)
    changes = (
        {Path(path) for _, path in batch}
        for batch in watchfiles.watch(*folders, watch_filter=python_and_config)
    )

    def show(line: str) -> None:
        style = {"✓": "bold green", "✗": "bold red", "…": "yellow", "→": "cyan"}.get(line[:1])
        out.print(Text(line, style=style or ""), soft_wrap=True)

    clear = out.clear if out.is_terminal else lambda: None
    # The stage's servers start once, not on every save: each run gets its own database anyway.
    needed = [s for k in katas if k.stage == current.stage for s in k.services]
    try:
        with kept_warm(needed) as warm:
            for endpoint in warm:
                out.print(f"kept warm for this watch: {endpoint.service} ({endpoint.provider})")
            watch_loop(root, katas, current, changes, show, clear=clear)
    except KeyboardInterrupt:
        out.print("stopped")


@app.command(
    cls=PlainCommand,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def check(
    ctx: typer.Context,
    selectors: Selectors = None,
) -> None:
    """Prove katas in a temporary copy: each solution passes and each test fails on its stub."""
    from katas.check import check_katas

    root, katas = load()
    chosen = select(katas, selectors or [])
    results = check_katas(root, chosen, *ctx.args)
    table = Table("kata", "solution", "stub", "not proven here", "verdict")
    for r in results:
        proven = len(r.solution.tests) - len(r.unproven)
        table.add_row(
            r.kata.name,
            f"{r.solution.count('passed')}/{proven} pass",
            f"{r.stub.count('failed') + r.stub.count('error')}/{proven} fail",
            f"{len(r.unproven)} skipped" if r.unproven else "-",
            "[green]ok[/]" if r.ok else "[red]DEFECT[/]",
        )
    out.print(table)
    for r in results:
        for problem in r.problems:
            err.print(f"[red]{r.kata.name}:[/] {problem}", highlight=False, soft_wrap=True)
        for reason in sorted(set(r.solution.skip_reasons)):
            out.print(f"{r.kata.name}: not proven here: {reason}", highlight=False, soft_wrap=True)
    bad = [r for r in results if not r.ok]
    out.print(f"{len(results) - len(bad)} of {len(results)} katas proven both ways")
    if bad:
        raise typer.Exit(1)


@app.command(cls=PlainCommand)
def doctor() -> None:
    """Say what this machine can run: Python, git, Docker, dependency groups and services."""
    from katas.doctor import diagnose

    root, katas = load()
    findings = diagnose(root, katas)
    for f in findings:
        mark = {True: "[green]✓[/]", False: "[red]✗[/]", None: "-"}[f.ok]
        out.print(mark, Text(f"{f.topic}: {f.detail}"), soft_wrap=True)
        if f.fix:
            out.print(Text(f"    fix: {f.fix}"), soft_wrap=True)
    bad = [f.topic for f in findings if f.ok is False]
    pulls = [f.topic for f in findings if f.ok is None and f.detail.startswith("container ")]
    if bad:
        out.print(f"needs attention: {', '.join(bad)}")
    elif pulls:
        out.print(
            f"everything here can run, once Docker can pull the images of: {', '.join(pulls)}"
        )
    else:
        out.print("everything here can run")


@app.command(cls=PlainCommand)
def mutate(
    selectors: Selectors = None,
    min_score: Annotated[
        float, typer.Option(help="fail below this score (0 to 1)", metavar="SCORE")
    ] = 0.9,
) -> None:
    """Mutation-test the katas' tests in a temporary copy; write mutate-results/<selection>.md."""
    try:
        from katas import mutate as mutate_mod
    except ImportError as exc:
        fail(f"mutation testing needs cosmic-ray ({exc}); run 'nox -s mutate' or install it")
    if not 0 <= min_score <= 1:
        fail(f"--min-score {min_score} is not between 0 and 1")
    root, katas = load()
    chosen = select(katas, selectors or [])
    with err.status("mutating") as status:
        results = mutate_mod.mutate(root, chosen, lambda text: status.update(text))
    text = mutate_mod.report(results, min_score)
    folder = root / "mutate-results"
    folder.mkdir(exist_ok=True)
    title = "-".join(s.strip("/").replace("/", "-") for s in selectors) if selectors else "all"
    path = folder / f"{title}.md"
    path.write_text(text, encoding="utf-8")
    table = text.split("\n\n")[2]  # the score table
    out.print(table, highlight=False, markup=False)
    out.print(f"survivors and their diffs: {path.relative_to(root)}")
    low = [r.kata.name for r in results if r.baseline_error or (r.score or 0) < min_score]
    if low:
        fail(f"below {min_score:.0%} (or not measured): {', '.join(low)}", code=1)


@app.command(cls=PlainCommand)
def bench(
    selectors: Selectors = None,
) -> None:
    """Measure the katas' benchmarks and write bench-results/<selection>.md."""
    root, katas = load()
    chosen = select(katas, selectors or [])
    title = "-".join(selectors) if selectors else "all"
    if not any((k.path / "bench.py").is_file() for k in chosen):
        fail(f"no bench.py in the selected katas ({', '.join(k.name for k in chosen)})")
    results = bench_mod.run(root, chosen)
    if not results:
        fail("the benchmarks measured nothing; each says above what it was missing")
    path = bench_mod.write(root, title, results)
    out.print(Markdown(path.read_text(encoding="utf-8")))
    out.print(f"written to {path.relative_to(root)}")


@app.command(cls=PlainCommand)
def grade(
    selectors: Selectors = None,
    tests_from: Annotated[
        str,
        typer.Option(help="the trusted ref whose tests, harness and points grade", metavar="REF"),
    ] = "HEAD",
    learner: Annotated[
        Path | None,
        typer.Option(help="the learner's repository (default: this work tree)", metavar="PATH"),
    ] = None,
    learner_commit: Annotated[
        str, typer.Option(help="the learner's commit to grade, with --learner", metavar="REV")
    ] = "HEAD",
    out_dir: Annotated[
        Path, typer.Option("--out", help="folder for the reports", metavar="DIR")
    ] = Path("."),
    min_score: Annotated[
        float | None, typer.Option(help="exit 1 below these points", metavar="POINTS")
    ] = None,
) -> None:
    """Grade katas in a sandbox: grade.json (Classroom schema), grade.md, grade.xml."""
    root = catalog.find_root()
    grading = _grade_one(root, selectors or [], tests_from, learner, learner_commit, out_dir)
    if min_score is not None and grading.total < min_score:
        err.print(f"score {grading.total} is below --min-score {min_score:g}")
        raise typer.Exit(1)


def _grade_one(
    root: Path,
    selectors: list[str],
    tests_from: str,
    learner: Path | None,
    learner_commit: str,
    out_dir: Path,
) -> Grading:
    from katas.grade import GradeError, LearnerFiles
    from katas.grade import grade as run_grade
    from katas.runner import SandboxUnavailable

    source = None
    try:
        if learner is not None:
            commit = gitops.resolve(learner.resolve(), learner_commit)
            source = LearnerFiles(learner.resolve(), commit)
        grading = run_grade(
            root,
            lambda katas: select(katas, selectors),
            out_dir.resolve(),
            tests_from=tests_from,
            learner=source,
        )
    except gitops.GitError as exc:
        fail(f"{exc}; fetch the trusted ref first (git fetch upstream --tags) or name it in full")
    except (CatalogError, GradeError) as exc:
        fail(f"{exc} (the trusted ref {tests_from} must hold a valid catalog)")
    except SandboxUnavailable as exc:
        fail(str(exc))
    for g in grading.grades:
        out.print(f"{g.kata.name}: {g.score}/{g.kata.points} ({g.status})", markup=False)
    for path, how in sorted(grading.learner_files.items()):
        if how != "taken":
            out.print(f"learner file {plain(path)}: {how}", markup=False)
    out.print(
        f"total: {grading.total}/{grading.maximum} points; reports: grade.json grade.md "
        f"grade.xml in {out_dir}",
        markup=False,
    )
    return grading


@app.command("grade-forks", cls=PlainCommand)
def grade_forks(
    roster: Annotated[
        Path, typer.Argument(help="one fork a line: owner/name, git URL or path", metavar="ROSTER")
    ],
    selectors: Selectors = None,
    tests_from: Annotated[
        str, typer.Option(help="the trusted ref of this repository", metavar="REF")
    ] = "HEAD",
    out_dir: Annotated[
        Path, typer.Option("--out", help="one folder per fork here", metavar="DIR")
    ] = Path("grades"),
) -> None:
    """Grade every fork of a roster against this repository's trusted ref."""
    import tempfile

    root = catalog.find_root()
    try:
        forks = [
            line.strip()
            for line in roster.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{roster}: cannot be read ({exc}); one fork a line: owner/name, git URL or path")
    summary = ["| fork | points | status |", "|---|---:|---|"]
    for fork in forks:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", fork.removesuffix(".git")).strip("_.")[-80:]
        url = fork
        if re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", fork) and not Path(fork).exists():
            url = f"https://github.com/{fork}.git"
        with tempfile.TemporaryDirectory(prefix="katas-fork-") as tmp:
            clone = subprocess.run(
                ["git", "clone", "--quiet", "--no-checkout", "--", url, tmp],
                capture_output=True, text=True,
            )  # fmt: skip
            if clone.returncode != 0:
                summary.append(f"| {md(fork)} | 0 | clone failed: {md(clone.stderr)} |")
                continue
            grading = _grade_one(
                root, selectors or [], tests_from, Path(tmp), "HEAD", out_dir / name
            )
        flagged = sum(1 for g in grading.grades if g.flags)
        status = f"{flagged} kata(s) flagged for review" if flagged else "graded"
        summary.append(f"| {md(fork)} | {grading.total}/{grading.maximum} | {status} |")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.md").write_text("\n".join(summary) + "\n", encoding="utf-8")
    out.print(f"{len(forks)} fork(s) graded; summary in {out_dir / 'summary.md'}", markup=False)
