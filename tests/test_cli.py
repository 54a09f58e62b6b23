"""The katas CLI on a throwaway checkout: output, errors, start's safety, run and check."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from katas.cli import app

from .conftest import GOOD_TEST, KATA_TOML, FakeRepo

runner = CliRunner()


def katas(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_list_json_describes_each_kata(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    code, output = katas("list", "--json")
    assert code == 0
    assert json.loads(output) == [
        {
            "name": "double", "stage": "stage1_core", "title": "Double it",
            "covers": ["s1-decorators"], "level": "junior", "services": [], "points": 10,
        }
    ]  # fmt: skip


def test_unknown_kata_suggests_the_closest_name(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    code, output = katas("show", "dubble")
    assert code == 2
    assert "unknown kata or stage 'dubble'; did you mean 'double'?" in output


def test_a_stage_without_katas_is_named_with_the_stages_that_have_some(
    fake_repo: FakeRepo,
) -> None:
    fake_repo.add_kata()
    code, output = katas("start", "stage4")
    assert code == 2
    assert "stage4_architecture has no katas yet; stages with katas: stage1" in output
    code, output = katas("check", "stage9")
    assert code == 2
    assert "did you mean 'stage1'?" in output


def test_stage_where_one_kata_is_expected(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    code, output = katas("hint", "stage1")
    assert code == 2 and "'stage1' is a stage" in output


def test_hints_one_at_a_time(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    assert katas("hint", "double") == (0, "hint 1/2: multiply by two\n")
    assert katas("hint", "double", "2") == (0, "hint 2/2: return 2 * n\n")
    code, output = katas("hint", "double", "3")
    assert code == 2 and "double has hints 1 to 2" in output


def test_catalog_errors_exit_2_with_one_line_each(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata(toml=KATA_TOML.replace("s1-decorators", "s9-nothing"))
    code, output = katas("list")
    assert code == 2
    [line] = output.strip().splitlines()
    assert line.startswith("error: ") and "unknown syllabus id 's9-nothing'" in line


def test_outside_a_checkout(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # the checkout katas was installed from is not used instead
    code, output = katas("list")
    assert code == 2 and "not inside a backend-katas checkout; cd into your clone" in output


def test_hint_run_and_solution_default_to_the_current_kata(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    assert katas("hint") == (0, "hint 1/2: multiply by two\n")
    assert katas("hint", "2") == (0, "hint 2/2: return 2 * n\n")
    fake_repo.commit_all()
    code, output = katas("solution")
    assert code == 0 and "return 2 * n" in output
    assert katas("run")[0] == 0


def test_names_and_stages_are_case_insensitive(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    assert katas("show", "Double")[0] == 0
    code, output = katas("list", "--stage", "Stage1")
    assert code == 0 and "double" in output


def test_version_and_plain_help() -> None:
    code, output = katas("--version")
    assert code == 0 and output.startswith("katas (backend-katas) ")
    code, output = katas("hint", "--help")
    assert code == 0 and "<bool>" not in output


@pytest.mark.parametrize("command", ["grade", "check", "run", "list", "release", "grade-forks"])
def test_help_names_values_without_type_labels(command: str) -> None:
    code, output = katas(command, "--help")
    assert code == 0
    assert not re.search(r" <(str|int|float|bool|path|list\[str\])>", output), output
    if command == "grade":
        assert "--tests-from REF" in output and "KATA|STAGE..." in output


def test_piped_output_follows_columns(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from katas.cli import piped_width

    monkeypatch.setenv("COLUMNS", "72")
    assert piped_width() == 72  # CliRunner's stdout is not a terminal
    monkeypatch.delenv("COLUMNS")

    def no_terminal(fd: int) -> None:
        raise OSError("not a terminal")

    monkeypatch.setattr("os.get_terminal_size", no_terminal)
    assert piped_width() == 100, "no terminal anywhere: 100 columns, not 160"


def test_start_needs_a_target(fake_repo: FakeRepo) -> None:
    code, output = katas("start")
    assert code == 2 and "name a kata or a stage" in output


def test_start_stubs_then_run_fails_then_passes_again(fake_repo: FakeRepo) -> None:
    folder = fake_repo.add_kata()
    fake_repo.commit_all()
    assert katas("run", "double")[0] == 0, "the reference solution passes as shipped"
    code, output = katas("start", "double")
    assert code == 0 and "stubbed double" in output
    stubbed = (folder / "solution.py").read_text()
    assert "raise NotImplementedError('return twice n')" in stubbed
    assert katas("run", "double")[0] == 1, "the stub fails its tests"
    (folder / "solution.py").write_text("def double(n: int) -> int:\n    return n + n\n")
    assert katas("run", "double")[0] == 0, "the learner's own solution passes"


def test_start_refuses_a_dirty_tree_and_force_keeps_a_backup(fake_repo: FakeRepo) -> None:
    folder = fake_repo.add_kata()
    fake_repo.commit_all()
    work = "def double(n: int) -> int:\n    # kata: begin return twice n\n    return n * 2  # mine\n    # kata: end\n"
    (folder / "solution.py").write_text(work)
    code, output = katas("start", "double")
    assert code == 2 and "uncommitted changes in stage1_core/double/solution.py" in output
    assert (folder / "solution.py").read_text() == work, "nothing was touched"
    code, output = katas("start", "double", "--force")
    assert code == 0 and "backed up 1 file(s)" in output
    [backup] = (fake_repo.root / ".katas" / "backups").glob("*/stage1_core/double/solution.py")
    assert backup.read_text() == work, "the learner's work survives in the backup"


def test_check_proves_a_good_kata_and_flags_a_test_that_passes_on_the_stub(
    fake_repo: FakeRepo,
) -> None:
    fake_repo.add_kata()
    weak = (
        "from .solution import double\n\n\ndef test_weak() -> None:\n    assert callable(double)\n"
    )
    fake_repo.add_kata("weak", test=weak)
    code, output = katas("check")
    assert code == 1
    assert "1 of 2 katas proven both ways" in output
    assert (
        "weak: stub: stage1_core/weak/test_solution.py::test_weak passed on the stub; it must fail"
        in output
    )
    assert katas("check", "double")[0] == 0


def test_check_flags_a_failing_solution(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata(solution=GOOD.replace("2 * n", "3 * n"))
    code, output = katas("check", "stage1")
    assert (
        code == 1 and "solution: stage1_core/double/test_solution.py::test_double failed" in output
    )


GOOD = "def double(n: int) -> int:\n    # kata: begin return twice n\n    return 2 * n\n    # kata: end\n"


def test_check_reports_tests_skipped_here_as_not_proven(fake_repo: FakeRepo) -> None:
    skipping = GOOD_TEST + (
        "\n\nimport pytest\n\n\n@pytest.mark.skip(reason='needs a real server')\n"
        "def test_on_a_server() -> None:\n    assert double(1) == 2\n"
    )
    fake_repo.add_kata(test=skipping)
    code, output = katas("check")
    assert code == 0, output
    assert "double: not proven here: needs a real server" in output
    assert "1 skipped" in output


def test_start_outside_git_backs_up_every_file_it_replaces(fake_repo: FakeRepo) -> None:
    folder = fake_repo.add_kata()  # no git repository: a downloaded archive, say
    original = (folder / "solution.py").read_text()
    code, output = katas("start", "double")
    assert code == 0 and "backed up 1 file(s)" in output
    [saved] = (fake_repo.root / ".katas" / "backups").glob("*/stage1_core/double/solution.py")
    assert saved.read_text() == original


def test_list_counts_the_syllabus_ids_covered(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    code, output = katas("list")
    assert code == 0 and "1 katas; 1 of 54 syllabus ids covered" in output


def test_doctor_names_what_is_missing_and_the_fix(fake_repo: FakeRepo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake_repo.add_kata(toml=KATA_TOML.replace("services = []", 'services = ["redis"]'))
    pyproject = fake_repo.root / "pyproject.toml"
    text = pyproject.read_text().replace(
        "stage1 = [", 'stage1 = [\n    "no-such-package-xyz>=1",', 1
    )
    pyproject.write_text(text)
    monkeypatch.setenv("KATAS_REDIS_URL", "redis://127.0.0.1:1/0")
    code, output = katas("doctor")
    assert code == 0
    assert "group stage1" in output and "no-such-package-xyz" in output
    assert "pip install -e . --group stage1" in output
    assert "does not answer" in output and "needs attention:" in output
    assert "redis" in output.rsplit("needs attention:", 1)[1]


def test_doctor_says_an_image_must_be_pulled_and_names_a_missing_program(
    fake_repo: FakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_repo.add_kata(toml=KATA_TOML.replace("services = []", 'services = ["rabbitmq", "nginx"]'))
    monkeypatch.delenv("KATAS_AMQP_URL", raising=False)
    monkeypatch.setattr("katas.services.docker_available", lambda: True)
    monkeypatch.setattr("katas.doctor._image_here", lambda image: False)
    monkeypatch.setattr("katas.doctor.program_path", lambda name: None)
    code, output = katas("doctor")
    assert code == 0
    assert "rabbitmq: container rabbitmq:3.13: not here yet, pulled on first use" in output
    assert "docker pull rabbitmq:3.13 (needs a registry)" in output
    assert "nginx: not installed" in output and "sudo apt-get install nginx" in output
    assert "needs attention: nginx" in output
