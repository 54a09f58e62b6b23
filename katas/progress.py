"""A learner's progress: which katas are started and passed, and which hints were shown.

Kept in ``.katas/state.json`` (git-ignored): plain JSON a learner can read, delete or edit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from katas.catalog import Kata


@dataclass
class State:
    started: dict[str, str] = field(default_factory=dict)  # kata -> when it was stubbed
    passed: dict[str, str] = field(default_factory=dict)  # kata -> when its tests last passed
    hints_shown: dict[str, int] = field(default_factory=dict)  # kata -> how many hints revealed

    @staticmethod
    def path(root: Path) -> Path:
        return root / ".katas" / "state.json"

    @classmethod
    def load(cls, root: Path) -> State:
        path = cls.path(root)
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                **{key: dict(data.get(key, {})) for key in ("started", "passed", "hints_shown")}
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"{path}: unreadable progress file ({exc}); delete it to start afresh"
            ) from exc

    def save(self, root: Path) -> None:
        path = self.path(root)
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def mark_started(self, name: str) -> None:
        self.started[name] = _now()
        self.passed.pop(name, None)

    def mark_passed(self, name: str) -> None:
        self.passed[name] = _now()

    def is_done(self, name: str) -> bool:
        return name in self.passed

    def next_pending(self, katas: list[Kata]) -> Kata | None:
        """The first kata in learning order not yet passed."""
        return next((k for k in katas if not self.is_done(k.name)), None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)
