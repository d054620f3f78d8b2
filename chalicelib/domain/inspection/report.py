"""What an inspection found."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Inspection:
    """Problems (each a sentence; any one rejects the file), warnings, and what was extracted."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    metadata: bytes | None = None
    metadata_version: str | None = None
    requires_python: str | None = None

    def problem(self, text: str) -> None:
        self.problems.append(text)

    @property
    def ok(self) -> bool:
        return not self.problems


class Abort(Exception):
    """Stop inspecting: what follows cannot be trusted or would cost too much."""
