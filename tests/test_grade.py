"""Grading throwaway forks: points per task, the three reports, and hostile learners.

Each hostile fork starts from an honest stub (0 points) and tries one route to points; it must end
with 0 or "flagged for review" and must not change another kata's grade.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from katas import catalog
from katas import runner as katas_runner
from katas.catalog import Kata
from katas.cli import app
from katas.grade import LearnerFiles, _static_flags, grade
from katas.runner import Limits
from katas.selection import select

from .conftest import KATA_TOML, REPO, FakeRepo

runner = CliRunner()
needs_engine = pytest.mark.skipif(
    katas_runner.container_engine() is None,
    reason="no container sandbox here (no Docker engine answers, or KATAS_SANDBOX=process)",
)
BROKER_TEST = (
    "import pytest\n\n\n@pytest.mark.task(1)\ndef test_publish(amqp_url: str) -> None:\n"
    "    assert amqp_url\n"
)
TASKED_TEST = """\
import pytest

from .solution import double


@pytest.mark.task(1)
def test_double() -> None:
    assert double(21) == 42


@pytest.mark.task(2)
def test_double_negative() -> None:
    assert double(-2) == -4
"""
README = "# double\n\n## Tasks\n\n1. Double 21.\n2. Double negatives.\n\n## Run it\n"
HONEST = "def double(n: int) -> int:\n    return 2 * n\n"


def katas(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def cli_grade(repo: FakeRepo, *args: str) -> tuple[dict[str, Any], str]:
    code, output = katas("grade", "--out", "out", "--tests-from", "upstream", *args)
    assert code == 0, output
    return json.loads((repo.root / "out" / "grade.json").read_text()), output


def kata_result(report: dict[str, Any], name: str = "double") -> dict[str, Any]:
    result: dict[str, Any] = report["katas"][name]
    return result


def make_fork(repo: FakeRepo, allow: tuple[str, ...] = ()) -> FakeRepo:
    """Upstream (tagged 'upstream'): two katas of two tasks each, ``double`` permitting ``allow``
    statically (to reach the run-time defences); then a learner who started both."""
    for slug in ("double", "twice"):
        listed = ", ".join(f'"{rule}"' for rule in allow) if slug == "double" else ""
        toml = KATA_TOML + (f"\n[sandbox]\nallow = [{listed}]\n" if listed else "")
        folder = repo.add_kata(slug, test=TASKED_TEST, toml=toml)
        (folder / "README.md").write_text(README)
    repo.commit_all()
    repo.git("tag", "upstream")
    assert katas("start", "double", "twice")[0] == 0
    repo.commit_all()
    return repo


@pytest.fixture
def fork(fake_repo: FakeRepo) -> FakeRepo:
    return make_fork(fake_repo)


def solve(repo: FakeRepo, slug: str, text: str = HONEST) -> Path:
    path = repo.root / "stage1_core" / slug / "solution.py"
    path.write_text(text)
    return path


def assert_zero_or_flagged(report: dict[str, Any], name: str = "double") -> None:
    result = kata_result(report, name)
    assert result["score"] == 0, result
    assert result["status"] in ("failed", "error", "flagged for review"), result


# --- honest grading --------------------------------------------------------------------------


def test_a_stub_scores_zero_and_a_solution_full_points(fork: FakeRepo) -> None:
    report, output = cli_grade(fork, "double")
    assert report["version"] == 1 and report["status"] == "fail" and report["max_score"] == 10
    assert kata_result(report) == {"status": "failed", "score": 0, "max_score": 10, "flags": []}
    assert "double: 0/10 (failed)" in output
    solve(fork, "double")
    report, _ = cli_grade(fork, "double")
    assert report["status"] == "pass" and kata_result(report)["score"] == 10
    markdown = (fork.root / "out" / "grade.md").read_text()
    assert markdown.startswith("# Grade: 10 / 10 points")
    assert "| double | 2/2 | 2/2 | 10 / 10 | passed |" in markdown
    cases = list(ET.parse(fork.root / "out" / "grade.xml").iter("testcase"))
    assert len(cases) == 2 and not any(len(case) for case in cases)


def test_partial_credit_is_per_task_and_console_and_total_agree(fork: FakeRepo) -> None:
    solve(fork, "double", "def double(n: int) -> int:\n    return 42\n")  # task 1 only
    report, _ = cli_grade(fork, "double")
    assert kata_result(report)["score"] == 5
    entries = report["tests"]
    assert len(entries) == 10 and all(e["max_score"] == 1 for e in entries)
    passed = [e for e in entries if e["status"] == "pass"]
    assert len(passed) == sum(e["score"] for e in entries) == 5
    assert all("task 1" in e["name"] for e in passed)


def test_an_edited_or_added_test_conftest_or_config_gains_nothing(fork: FakeRepo) -> None:
    folder = fork.root / "stage1_core" / "double"
    (folder / "test_solution.py").write_text("def test_double() -> None:\n    assert True\n")
    (folder / "test_more.py").write_text("def test_more() -> None:\n    assert True\n")
    (folder / "conftest.py").write_text("raise SystemExit(0)\n")
    (fork.root / "pytest.ini").write_text("[pytest]\naddopts = -p no:katas\n")
    (fork.root / "sitecustomize.py").write_text("import os\nos._exit(0)\n")
    (fork.root / "pytest.py").write_text("def main(*a, **k):\n    return 0\n")
    (fork.root / "noxfile.py").write_text("raise SystemExit(0)\n")
    (fork.root / "uv.toml").write_text('find-links = ["evil"]\n')
    (folder / "kata.toml").write_text(KATA_TOML.replace("10", "99"))
    fork.commit_all()
    report, _ = cli_grade(fork)
    assert_zero_or_flagged(report)
    assert report["max_score"] == 20, "points come from the trusted ref"
    assert report["learner_files"] == {
        "stage1_core/double/solution.py": "taken",
        "stage1_core/twice/solution.py": "taken",
    }


def test_grading_never_touches_the_learners_tree(fork: FakeRepo) -> None:
    before = {
        p: p.read_bytes() for p in fork.root.rglob("*") if p.is_file() and ".git" not in p.parts
    }
    cli_grade(fork)
    after = {p: p.read_bytes() for p in before}
    assert before == after


def test_a_missing_service_is_reported_never_passed(
    fake_repo: FakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KATAS_AMQP_URL", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # no container either
    fake_repo.add_kata("broker", test=BROKER_TEST, toml=KATA_TOML.replace("[]", '["rabbitmq"]'))
    fake_repo.commit_all()
    fake_repo.git("tag", "upstream")
    report, output = cli_grade(fake_repo)
    result = kata_result(report, "broker")
    assert (result["status"], result["score"]) == ("service unavailable", 0)
    assert all(e["status"] == "error" for e in report["tests"])
    assert "rabbitmq" in report["tests"][0]["message"]
    assert "broker: 0/10 (service unavailable)" in output


def test_min_score_makes_a_low_score_fail(fork: FakeRepo) -> None:
    code, output = katas("grade", "--out", "out", "--tests-from", "upstream", "--min-score", "5")
    assert code == 1 and "score 0 is below --min-score 5" in output
    assert (fork.root / "out" / "grade.json").is_file(), "the reports are written all the same"


def test_an_unknown_ref_says_how_to_fetch_it(fork: FakeRepo) -> None:
    code, output = katas("grade", "--out", "out", "--tests-from", "upstream/v9")
    assert code == 2 and "upstream/v9" in output and "git fetch" in output


def test_reports_land_where_asked_and_replace_links(fork: FakeRepo, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (reports / "grade.json").symlink_to(victim)
    assert katas("grade", "--tests-from", "upstream", "--out", str(reports))[0] == 0
    assert sorted(p.name for p in reports.iterdir()) == ["grade.json", "grade.md", "grade.xml"]
    assert victim.read_text() == "keep", "a planted link is replaced, never written through"


def test_a_fork_graded_from_its_commit_by_the_teacher(fork: FakeRepo, tmp_path: Path) -> None:
    solve(fork, "twice")
    fork.commit_all()
    solve(fork, "twice", "def double(n: int) -> int:\n    return 0\n")  # uncommitted: not graded
    teacher = fork.root  # the trusted repository holds the 'upstream' tag
    code, output = katas(
        "grade", "--tests-from", "upstream", "--learner", str(fork.root), "--out", "out2"
    )
    assert code == 0, output
    report = json.loads((teacher / "out2" / "grade.json").read_text())
    assert kata_result(report, "twice")["score"] == 10 and kata_result(report)["score"] == 0


# --- hostile forks ---------------------------------------------------------------------------


PATCH_PYTEST = """\
import _pytest.python

_pytest.python.Function.runtest = lambda self: None


def double(n: int) -> int:
    raise NotImplementedError
"""


def test_patching_pytest_is_flagged_statically(fork: FakeRepo) -> None:
    solve(fork, "double", PATCH_PYTEST)
    solve(fork, "twice")
    report, _ = cli_grade(fork)
    result = kata_result(report)
    assert (result["status"], result["score"]) == ("flagged for review", 0)
    assert any("import:_pytest" in flag for flag in result["flags"])
    assert kata_result(report, "twice")["score"] == 10, "another kata's grade is untouched"
    assert "Flagged for review" in (fork.root / "out" / "grade.md").read_text()


def test_patching_pytest_at_run_time_is_flagged_by_the_integrity_check(
    fake_repo: FakeRepo,
) -> None:
    fork = make_fork(fake_repo, ("import:_pytest",))
    solve(fork, "double", PATCH_PYTEST)
    report, _ = cli_grade(fork)
    result = kata_result(report)
    assert (result["status"], result["score"]) == ("flagged for review", 0)
    assert any("Function.runtest was replaced" in flag for flag in result["flags"])


def test_walking_the_heap_is_flagged(fake_repo: FakeRepo) -> None:
    fork = make_fork(fake_repo, ("import:gc",))
    solve(
        fork,
        "double",
        "import gc\n\nfor o in gc.get_objects():\n    pass\n\n\ndef double(n: int) -> int:\n"
        "    return 2 * n if n > 0 else 0\n",
    )
    report, _ = cli_grade(fork)
    result = kata_result(report)
    assert (result["status"], result["score"]) == ("flagged for review", 0)
    assert any("gc.get_objects" in flag for flag in result["flags"])


@pytest.mark.parametrize(
    ("rules", "body"),
    [
        (["attr:_getframe"], "import sys\nsys._getframe(0)\n"),
        (["attr:__traceback__", "attr:tb_frame"],
         "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    e.__traceback__.tb_frame\n"),
        (["import:ctypes"], "import ctypes\nctypes.CDLL(None)\n"),
        ([], "import subprocess\nsubprocess.Popen(['sleep', '60'], start_new_session=True)\n"),
        (["attr:__code__"], "def f() -> None:\n    pass\nf.__code__.replace(co_filename='/x.py')\n"),
    ],
    ids=["frames", "traceback-frames", "ctypes", "detached-process", "code-objects"],
)  # fmt: skip
def test_refused_at_run_time_and_flagged(fake_repo: FakeRepo, rules: list[str], body: str) -> None:
    fork = make_fork(fake_repo, tuple(rules))
    solve(fork, "double", f"try:\n{_indent(body)}except PermissionError:\n    pass\n\n\n{HONEST}")
    report, _ = cli_grade(fork, "double")
    result = kata_result(report)
    assert (result["status"], result["score"]) == ("flagged for review", 0), result
    assert any("refused" in flag for flag in result["flags"])


def _indent(body: str) -> str:
    return "".join(f"    {line}\n" for line in body.splitlines())


@pytest.mark.parametrize(
    ("rules", "body", "status"),
    [
        (["attr:_exit"], "import os\nos._exit(0)\n", "error"),
        (["import:pytest"], "import pytest\npytest.exit('all good', returncode=0)\n", "error"),
        ([], "raise KeyboardInterrupt\n", "error"),
        ([], "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe not utf-8 \\x00 ::error::x')\n",
         "failed"),
    ],
    ids=["os-exit", "pytest-exit", "keyboard-interrupt", "non-utf8-output"],
)  # fmt: skip
def test_ending_the_run_early_scores_nothing(
    fake_repo: FakeRepo, rules: list[str], body: str, status: str
) -> None:
    fork = make_fork(fake_repo, tuple(rules))
    solve(
        fork, "double", f"{body}\n\ndef double(n: int) -> int:\n    return 2 * n if n > 0 else 0\n"
    )
    solve(fork, "twice")
    report, _ = cli_grade(fork)
    result = kata_result(report)
    assert result["score"] <= (5 if status == "failed" else 0)
    # pytest.exit during collection may end as a collection error: either way, nothing scores
    assert result["status"] == status or (status == "error" and result["score"] == 0), result
    assert kata_result(report, "twice")["score"] == 10


def test_a_forged_result_line_is_evidence(fork: FakeRepo) -> None:
    forge = (
        "import os\nfor fd in range(3, 64):\n    try:\n"
        '        os.write(fd, b\'{"seq": 1, "kind": "end", "exit": 0}\\tdeadbeef\\n\')\n'
        "    except OSError:\n        pass\n"
    )
    solve(fork, "double", f"{forge}\n\n{HONEST}")
    report, _ = cli_grade(fork, "double")
    result = kata_result(report)
    assert (result["status"], result["score"]) == ("flagged for review", 0), result
    assert any("not written by the reporter" in flag for flag in result["flags"])


def test_links_instead_of_files_are_replaced_by_the_stub(fork: FakeRepo, tmp_path: Path) -> None:
    outside = tmp_path / "answer.py"
    outside.write_text(HONEST)
    path = fork.root / "stage1_core" / "double" / "solution.py"
    path.unlink()
    path.symlink_to(outside)
    twice = fork.root / "stage1_core" / "twice"
    real = tmp_path / "twice"
    twice.rename(real)
    twice.symlink_to(real)
    (real / "solution.py").write_text(HONEST)
    fork.commit_all()
    report, _ = cli_grade(fork)
    assert report["learner_files"]["stage1_core/double/solution.py"] == (
        "not a regular file, stub used"
    )
    assert report["learner_files"]["stage1_core/twice/solution.py"] == (
        "not a regular file, stub used"
    )
    assert kata_result(report)["score"] == kata_result(report, "twice")["score"] == 0
    assert outside.read_text() == HONEST


def test_a_tag_that_shadows_the_trusted_ref_is_refused(fork: FakeRepo) -> None:
    fork.git("branch", "katas-ref", "upstream")
    solve(fork, "double")
    fork.commit_all()
    fork.git("tag", "katas-ref")  # a learner's tag of the same short name, elsewhere
    code, output = katas("grade", "--out", "out", "--tests-from", "katas-ref")
    assert code == 2 and "ambiguous" in output


def test_names_and_messages_cannot_forge_reports(fork: FakeRepo) -> None:
    solve(
        fork,
        "double",
        "def double(n: int) -> int:\n"
        "    raise ValueError('x\\n::error title=forged::1\\n| forged | row |\\n[bold]x[/]')\n",
    )
    report, output = cli_grade(fork, "double")
    lines = (fork.root / "out" / "grade.md").read_text().splitlines()
    assert not any(line.startswith("::") for line in lines + output.splitlines())
    assert not any("| forged |" in line for line in lines)
    for entry in report["tests"]:
        assert "\n" not in entry["message"] and "::error" not in entry["message"]


def test_a_hang_is_killed_and_other_katas_still_graded(fork: FakeRepo) -> None:
    solve(fork, "double", "import time\n\ntime.sleep(3600)\n\n" + HONEST)
    solve(fork, "twice")
    results = grade(
        fork.root,
        lambda katas: katas,
        fork.root / "out",
        tests_from="upstream",
        limits=Limits(wall_seconds=25, test_seconds=4),
    )
    by_name = {g.kata.name: g for g in results.grades}
    assert by_name["double"].status == "error" and by_name["double"].score == 0
    assert by_name["double"].run is not None and by_name["double"].run.timed_out
    assert by_name["twice"].score == 10


def test_a_flood_of_output_is_cut_and_scores_nothing(fork: FakeRepo) -> None:
    solve(fork, "double", "import sys\n\nwhile True:\n    sys.stdout.write('x' * 65536)\n")
    results = grade(
        fork.root,
        lambda katas: select(katas, ["double"]),
        fork.root / "out",
        tests_from="upstream",
        limits=Limits(wall_seconds=30, file_bytes=1 << 20),
    )
    [result] = results.grades
    assert result.score == 0 and result.status in ("error", "failed")  # killed, or writes refused


def test_the_learner_commit_must_hold_regular_files(fork: FakeRepo) -> None:
    learner = LearnerFiles(fork.root, fork.git("rev-parse", "HEAD").strip())
    content, how = learner.read("stage1_core/double/solution.py")
    assert how == "taken" and content is not None and b"TODO(kata)" in content
    assert learner.read("stage1_core/nothing.py") == (None, "missing")


def test_the_catalog_comes_from_the_trusted_ref(fork: FakeRepo) -> None:
    (fork.root / "stage1_core" / "stage.toml").write_text('title = "x"\nkatas = ["double"]\n')
    (fork.root / "stage1_core" / "twice" / "solution.py").write_bytes(b"# kata: end \xff\n")
    fork.commit_all()
    report, _ = cli_grade(fork)
    assert set(report["katas"]) == {"double", "twice"}, "the fork's stage.toml is not read"
    assert kata_result(report, "twice")["score"] == 0


@pytest.mark.parametrize("kata", catalog.load(REPO), ids=lambda kata: kata.name)
def test_every_reference_solution_passes_the_graders_static_check(kata: Kata) -> None:
    """An honest solution is never flagged: what it needs is in its kata.toml's [sandbox] allow."""
    assert _static_flags(kata, kata.solution_files) == []


@pytest.fixture
def sandbox_mode(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set KATAS_SANDBOX for one test; the engine is looked up again before and after."""

    def choose(mode: str) -> None:
        monkeypatch.setenv(katas_runner.SANDBOX_VAR, mode)
        katas_runner._engine.cache_clear()

    yield choose
    monkeypatch.undo()
    katas_runner._engine.cache_clear()


@needs_engine
def test_in_a_container_the_learner_sees_no_host_file_and_no_network(fork: FakeRepo) -> None:
    # Doubles only when the fork's own folder is out of sight and no port can be reached.
    probe = f"""import os, socket


def _confined() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError:
        return not os.path.exists({str(fork.root)!r}) and os.getuid() == 65534
    return False


def double(n: int) -> int:
    return 2 * n if _confined() else 0
"""
    solve(fork, "double", probe)
    report, _ = cli_grade(fork, "double")
    assert kata_result(report)["score"] == 10
    markdown = (fork.root / "out" / "grade.md").read_text()
    assert "- a container of its own (uid 65534" in markdown
    assert "- no network at all" in markdown


@needs_engine
def test_a_process_left_behind_in_a_container_is_gone_with_it(fake_repo: FakeRepo) -> None:
    fork = make_fork(fake_repo, ("event:subprocess.Popen",))
    spawn = "import subprocess\nsubprocess.Popen(['sleep', '313'], start_new_session=True)\n"
    solve(fork, "double", spawn + "\n\n" + HONEST)
    report, _ = cli_grade(fork, "double")
    assert kata_result(report)["score"] == 10  # allowed, so not flagged; and then removed whole
    left = subprocess.run(["pgrep", "-f", "sleep 313"], capture_output=True, text=True)
    assert left.stdout == ""
    containers = subprocess.run(
        ["docker", "ps", "--all", "--quiet", "--filter", "name=katas-sandbox-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert containers.stdout == ""


def test_an_unknown_sandbox_mode_is_one_line_naming_the_variable(
    fork: FakeRepo, sandbox_mode: Callable[[str], None]
) -> None:
    sandbox_mode("chroot")
    code, output = katas("grade", "--out", "out", "--tests-from", "upstream")
    assert code == 2
    assert output.strip().splitlines() == [
        "error: KATAS_SANDBOX=chroot: use auto, container or process"
    ]


def test_a_required_container_without_an_engine_stops_grading(
    fork: FakeRepo, sandbox_mode: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    sandbox_mode("container")
    code, output = katas("grade", "--out", "out", "--tests-from", "upstream")
    assert code == 2
    assert "KATAS_SANDBOX=container: no Docker engine answers" in output
    assert not (fork.root / "out" / "grade.json").exists()


def test_process_mode_never_uses_a_container(
    fork: FakeRepo, sandbox_mode: Callable[[str], None]
) -> None:
    sandbox_mode("process")
    solve(fork, "double")
    report, _ = cli_grade(fork, "double")
    assert kata_result(report)["score"] == 10
    assert "a container of its own" not in (fork.root / "out" / "grade.md").read_text()
