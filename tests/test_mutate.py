"""Mutation testing: mutants inside kata regions are run, survivors reported, equivalents excluded."""

from __future__ import annotations

import pytest

from katas import catalog
from katas.catalog import CatalogError
from katas.mutate import mutate, report

from .conftest import KATA_TOML, FakeRepo

pytestmark = pytest.mark.timeout(600)

# 2 * n checked at n = 2 only: 2 + n and 2 ** n give 4 too, so both survive.
WEAK_TEST = """\
import pytest

from .solution import double

pytestmark = pytest.mark.task(1)


def test_double() -> None:
    assert double(2) == 4
"""

SOLUTION_WITH_GIVEN_CODE = """\
def double(n: int) -> int:
    # kata: begin return twice n
    return 2 * n
    # kata: end


def given(n: int) -> bool:
    return n > 0
"""

EQUIVALENT = """
[[mutate.equivalent]]
file = "solution.py"
line = "return 2 * n"
operator = "core/ReplaceBinaryOperator_Mul_Pow"
reason = "marked here to prove the exclusion"

[[mutate.equivalent]]
file = "solution.py"
line = "return 2 * n"
operator = "core/NumberReplacer"
mutant = "return 3 * n"
reason = "one of the line's two number mutants, singled out by its text"

[[mutate.equivalent]]
file = "solution.py"
line = "return 3 * n"
operator = "core/NumberReplacer"
reason = "no such line any more"
"""


def test_survivors_are_reported_equivalents_excluded_and_given_code_left_alone(
    fake_repo: FakeRepo,
) -> None:
    fake_repo.add_kata(
        toml=KATA_TOML + EQUIVALENT, solution=SOLUTION_WITH_GIVEN_CODE, test=WEAK_TEST
    )
    [result] = mutate(fake_repo.root, catalog.load(fake_repo.root))

    assert not result.baseline_error
    assert {m.line for m in result.mutants} == {3}, "only the region's line is mutated"
    survivors = {m.operator for m in result.survivors}
    assert survivors == {"core/ReplaceBinaryOperator_Mul_Add"}
    equivalents = {(m.operator, m.mutant) for m in result.mutants if m.outcome == "equivalent"}
    assert equivalents == {
        ("core/ReplaceBinaryOperator_Mul_Pow", "return 2 ** n"),
        ("core/NumberReplacer", "return 3 * n"),
    }
    [other_number] = [m for m in result.mutants if m.operator == "core/NumberReplacer"
                      and m.outcome != "equivalent"]  # fmt: skip
    assert (other_number.mutant, other_number.outcome) == ("return 1 * n", "killed")
    killed = result.count("killed", "timeout")
    assert killed >= 8  # -, /, //, %, <<, >>, |, &, ^ and the replaced numbers
    assert result.score == killed / (killed + 1)
    assert [e.line for e in result.unused_equivalents] == ["return 3 * n"]

    text = report([result], 0.9)
    assert "| double |" in text and "core/ReplaceBinaryOperator_Mul_Add" in text
    assert "-    return 2 * n" in text and "+    return 2 + n" in text
    assert "no longer made" in text
    assert (fake_repo.root / "stage1_core/double/solution.py").read_text().count("2 * n") == 1


def test_a_failing_reference_is_reported_not_scored(fake_repo: FakeRepo) -> None:
    fake_repo.add_kata(
        solution="def double(n: int) -> int:\n    # kata: begin x\n    return n\n    # kata: end\n"
    )
    [result] = mutate(fake_repo.root, catalog.load(fake_repo.root))
    assert result.baseline_error.startswith("the reference solution fails its tests")
    assert result.mutants == [] and result.score is None


@pytest.mark.parametrize(
    "table",
    [
        '[[mutate.equivalent]]\nfile = "solution.py"\nline = "return 2 * n"\noperator = "x"\n',
        '[[mutate.equivalent]]\nfile = "s.py"\nline = "x"\noperator = "x"\nreason = ""\n',
        "[mutate]\nskip = true\n",
    ],
)
def test_an_equivalent_mutant_needs_every_field_and_a_reason(
    fake_repo: FakeRepo, table: str
) -> None:
    fake_repo.add_kata(toml=KATA_TOML + table)
    with pytest.raises(CatalogError) as raised:
        catalog.load(fake_repo.root)
    assert "mutate" in raised.value.problems[0] and "kata.toml" in raised.value.problems[0]
