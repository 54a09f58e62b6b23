"""Selecting katas by name or stage: each problem is a SelectionError with one line and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from katas.catalog import Kata
from katas.selection import SelectionError, select, select_one, stage_of


def kata(name: str, stage: str = "stage1_core") -> Kata:
    return Kata(
        name=name, stage=stage, path=Path(stage) / name, title=name, covers=("s1-decorators",),
        level="junior", services=(), points=10, hints=(),
    )  # fmt: skip


KATAS = [kata("decorators"), kata("descriptors"), kata("flask_api", "stage2_web")]


def names(chosen: list[Kata]) -> list[str]:
    return [k.name for k in chosen]


def test_stage_of_takes_the_short_name_the_folder_and_a_trailing_slash() -> None:
    assert stage_of("stage1") == stage_of("stage1_core") == stage_of("stage1_core/")
    assert stage_of("stage1") == "stage1_core"
    assert stage_of("decorators") is None
    assert stage_of("stage9") is None


def test_no_selector_is_every_kata_and_the_order_is_the_catalogs() -> None:
    assert select(KATAS, []) == KATAS
    assert names(select(KATAS, ["flask_api", "decorators"])) == ["decorators", "flask_api"]
    assert names(select(KATAS, ["stage1", "descriptors"])) == ["decorators", "descriptors"]
    assert names(select(KATAS, ["stage1_core/descriptors/"])) == ["descriptors"]


def test_an_unknown_name_suggests_the_closest_kata_or_stage() -> None:
    with pytest.raises(SelectionError) as info:
        select(KATAS, ["decoraters"])
    assert str(info.value) == "unknown kata or stage 'decoraters'; did you mean 'decorators'?"
    with pytest.raises(SelectionError, match="did you mean 'stage2'"):
        select(KATAS, ["stage9"])
    with pytest.raises(SelectionError) as info:
        select(KATAS, ["zzz"])
    assert str(info.value) == "unknown kata or stage 'zzz'; see 'katas list'"


def test_a_stage_without_katas_names_the_stages_that_have_some() -> None:
    with pytest.raises(SelectionError) as info:
        select(KATAS, ["stage4"])
    assert str(info.value) == (
        "stage4_architecture has no katas yet; stages with katas: stage1, stage2"
    )


def test_select_one_refuses_a_stage() -> None:
    assert select_one(KATAS, "flask_api").name == "flask_api"
    with pytest.raises(SelectionError) as info:
        select_one(KATAS, "stage1")
    assert str(info.value) == (
        "'stage1' is a stage; this command takes one kata (see 'katas list --stage stage1')"
    )


def test_selection_errors_are_value_errors_of_one_line() -> None:
    for bad in (["decoraters"], ["stage4"], ["zzz"]):
        with pytest.raises(ValueError) as info:
            select(KATAS, bad)
        assert isinstance(info.value, SelectionError) and "\n" not in str(info.value)
