"""Which katas a command line names: kata names and stages, resolved against the catalog.

Every problem is a ``SelectionError`` whose message is one line that says what to type instead;
the CLI prints it, and code that selects katas outside the CLI (grading) can catch it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

from katas.catalog import STAGES, Kata


class SelectionError(ValueError):
    """A selector names no kata (or a stage with none); the message is one line with the fix."""


def stage_of(selector: str) -> str | None:
    """'stage1', 'stage1_core' and 'stage1_core/' all name the first stage."""
    selector = selector.rstrip("/").lower()
    return next((s for s in STAGES if selector in (s, s.split("_")[0])), None)


def select(katas: list[Kata], selectors: Sequence[str]) -> list[Kata]:
    """Katas named by kata names or stages, in catalog order; no selectors mean every kata.

    An unknown name raises SelectionError with the closest kata or stage; a stage without katas
    raises it with the stages that have some.
    """
    if not selectors:
        return katas
    names = {k.name for k in katas}
    # Suggest only stages that hold katas: a learner cannot run the ones still to come.
    present = [s.split("_")[0] for s in STAGES if any(k.stage == s for k in katas)]
    chosen: set[str] = set()
    for selector in selectors:
        if stage := stage_of(selector):
            in_stage = {k.name for k in katas if k.stage == stage}
            if not in_stage:
                raise SelectionError(
                    f"{stage} has no katas yet; stages with katas: {', '.join(present)}"
                )
            chosen |= in_stage
        elif (name := Path(selector.rstrip("/")).name.lower()) in names:
            chosen.add(name)
        else:
            choices = sorted(names) + present
            close = difflib.get_close_matches(selector, choices, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else "; see 'katas list'"
            raise SelectionError(f"unknown kata or stage '{selector}'{hint}")
    return [k for k in katas if k.name in chosen]


def select_one(katas: list[Kata], name: str) -> Kata:
    """The one kata ``name`` names; a stage raises SelectionError, as commands take one kata."""
    if stage_of(name):
        raise SelectionError(
            f"'{name}' is a stage; this command takes one kata (see 'katas list --stage {name}')"
        )
    return select(katas, [name])[0]
