"""What an inspection found: refusals and warnings, each under a rule's code."""

from __future__ import annotations

from dataclasses import dataclass, field

from .rules import Severity, notice, rule


@dataclass
class Inspection:
    """Problems (any one rejects the file), warnings, and what was extracted."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    metadata: bytes | None = None
    metadata_version: str | None = None
    requires_python: str | None = None

    def note(self, code: str, text: str, *, refuse: bool | None = None) -> None:
        """Record a finding; the rule's severity decides, unless ``refuse`` overrides it
        (a setting that turns a refusal into a warning)."""
        if refuse is None:
            refuse = rule(code).severity is Severity.REFUSE
        (self.problems if refuse else self.warnings).append(notice(code, text))

    @property
    def ok(self) -> bool:
        return not self.problems


class Abort(Exception):
    """Stop inspecting: what follows cannot be trusted or would cost too much."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(notice(code, text))
        self.code = code
        self.text = text
