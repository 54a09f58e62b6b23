"""A learner's progress: which katas are started and passed, which hints were shown, and which
had their reference solution applied (those do not count as done).

Kept in ``.katas/state.json`` (git-ignored): plain JSON a learner can read, delete or edit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from katas.catalog import Kata
from katas.release import release_katas


@dataclass
class State:
    started: dict[str, str] = field(default_factory=dict)  # kata -> when it was stubbed
    passed: dict[str, str] = field(default_factory=dict)  # kata -> when its tests last passed
    hints_shown: dict[str, int] = field(default_factory=dict)  # kata -> how many hints revealed
    # kata -> when `katas solution --apply` put its reference solution back: not done until
    # it is started or reset again
    solution_applied: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def path(root: Path) -> Path:
        return root / ".katas" / "state.json"

    @classmethod
    def load(cls, root: Path) -> State:
        path = cls.path(root)
        if not path.is_file():
            return cls().with_release(root)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            keys = ("started", "passed", "hints_shown", "solution_applied")
            state = cls(**{key: dict(data.get(key, {})) for key in keys})
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"{path}: unreadable progress file ({exc}); delete it to start afresh"
            ) from exc
        return state.with_release(root)

    def with_release(self, root: Path) -> State:
        """In a student edition every kata is an exercise from the start: count it as started."""
        for name in release_katas(root):
            if name not in self.started:
                self.started[name] = _now()
        return self

    def save(self, root: Path) -> None:
        path = self.path(root)
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def mark_started(self, name: str) -> None:
        self.started[name] = _now()
        self.passed.pop(name, None)
        self.solution_applied.pop(name, None)

    def mark_solution_applied(self, name: str) -> None:
        """The reference solution is back in place: not an exercise, and not done, any more."""
        self.solution_applied[name] = _now()
        self.started.pop(name, None)
        self.passed.pop(name, None)

    def mark_passed(self, name: str) -> None:
        self.passed[name] = _now()

    def is_done(self, name: str) -> bool:
        return name in self.passed and name not in self.solution_applied

    def next_pending(self, katas: list[Kata]) -> Kata | None:
        """The first kata in learning order not yet passed."""
        return next((k for k in katas if not self.is_done(k.name)), None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)
