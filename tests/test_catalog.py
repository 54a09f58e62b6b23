"""Catalog validation: every broken manifest fails with one line naming the file and the fix."""

from __future__ import annotations

import pytest

from katas import catalog
from katas.catalog import CatalogError
from katas.daemons import PROGRAMS
from katas.services import SPECS

from .conftest import KATA_TOML, FakeRepo


def problems(repo: FakeRepo) -> list[str]:
    with pytest.raises(CatalogError) as info:
        catalog.load(repo.root)
    assert all("\n" not in line for line in info.value.problems), "one line per problem"
    return info.value.problems


def test_a_valid_kata_loads(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    [kata] = catalog.load(fake_repo.root)
    assert (kata.name, kata.stage, kata.covers, kata.points) == (
        "double", "stage1_core", ("s1-decorators",), 10,
    )  # fmt: skip
    assert [f.name for f in kata.solution_files] == ["solution.py"]


def test_unknown_syllabus_id(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata(toml=KATA_TOML.replace("s1-decorators", "s1-decoraters"))
    [line] = problems(fake_repo)
    assert "kata.toml" in line and "unknown syllabus id 's1-decoraters'" in line
    assert "katas/syllabus.toml" in line, "the fix says where the valid ids are"


def test_missing_readme(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata(readme=False)
    [line] = problems(fake_repo)
    assert line.startswith(str(fake_repo.root / "stage1_core" / "double" / "README.md"))


def test_missing_tests(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata(test=None)
    [line] = problems(fake_repo)
    assert "no test_*.py" in line and "double" in line


def test_duplicate_slug_across_stages(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    web = fake_repo.root / "stage2_web"
    (web / "double").mkdir(parents=True)
    (web / "stage.toml").write_text('title = "web"\nkatas = ["double"]\n')
    lines = problems(fake_repo)
    assert any("duplicate kata name 'double'" in line and "rename one" in line for line in lines)


def test_malformed_toml(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata(toml='title = "unterminated\n')
    [line] = problems(fake_repo)
    assert "kata.toml: malformed TOML" in line and "fix the syntax" in line


def test_missing_and_mistyped_keys(fake_repo: FakeRepo) -> None:
    toml = KATA_TOML.replace("points = 10\n", "").replace('level = "junior"', "level = 3")
    fake_repo.add_kata(toml=toml + "colour = 'red'\n")
    lines = problems(fake_repo)
    assert any("missing 'points'" in line for line in lines)
    assert any("'level' must be a str" in line for line in lines)
    assert any("unknown key 'colour'" in line for line in lines)


def test_bad_level_service_and_points(fake_repo: FakeRepo) -> None:
    toml = (
        KATA_TOML.replace('"junior"', '"guru"')
        .replace("services = []", 'services = ["oracle"]')
        .replace("points = 10", "points = 0")
    )
    fake_repo.add_kata(toml=toml)
    text = "\n".join(problems(fake_repo))
    assert "level 'guru' is not one of junior, mid, senior" in text
    assert "unknown service 'oracle'" in text
    assert "'points' must be positive" in text


def test_a_kata_may_list_only_services_something_provides(fake_repo: FakeRepo) -> None:
    assert set(catalog.KNOWN_SERVICES) == {*SPECS, "postgis", *PROGRAMS}
    fake_repo.add_kata(toml=KATA_TOML.replace("services = []", 'services = ["kafka"]'))
    fake_repo.add_kata("geo", toml=KATA_TOML.replace("[]", '["postgres", "postgis"]'))
    [line] = problems(fake_repo)
    assert "stage1_core/double/kata.toml: unknown service 'kafka'" in line
    assert "known: postgres, redis, rabbitmq, mongodb, elasticsearch, postgis" in line


def test_kata_folder_not_in_manifest(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    fake_repo.slugs.clear()
    fake_repo.write_manifest()
    [line] = problems(fake_repo)
    assert "not listed in" in line and "add 'double' to 'katas'" in line


def test_manifest_lists_missing_folder(fake_repo: FakeRepo) -> None:
    fake_repo.slugs.append("ghost")
    fake_repo.write_manifest()
    [line] = problems(fake_repo)
    assert "lists 'ghost' but" in line and "does not exist" in line


def test_marker_errors_surface_with_file_and_line(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata(solution="def f() -> None:\n    # kata: begin do it\n    pass\n")
    [line] = problems(fake_repo)
    assert line.startswith(f"{fake_repo.root / 'stage1_core' / 'double' / 'solution.py'}:2:")
    assert "never closed" in line


def test_coverage_maps_every_syllabus_id(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata()
    covered = catalog.coverage(catalog.load(fake_repo.root))
    assert covered["s1-decorators"] == ["double"]
    assert covered["s1-asyncio"] == []
    assert len(covered) == len(catalog.syllabus()) == 54


def test_the_sandbox_table_takes_allow_and_network(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata(toml=KATA_TOML + '\n[sandbox]\nallow = ["import:gc"]\nnetwork = true\n')
    [kata] = catalog.load(fake_repo.root)
    assert (kata.sandbox_allow, kata.sandbox_network) == (("import:gc",), True)
    folder = fake_repo.root / "stage1_core" / "double"
    (folder / "kata.toml").write_text(KATA_TOML + '\n[sandbox]\nnetwork = "yes"\n')
    assert any("network = true|false" in line for line in problems(fake_repo))
